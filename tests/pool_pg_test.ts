/**
 * The pool against a live PostgreSQL, through each adapter (node-postgres
 * and postgres.js): every scenario goes through a `QueuePool`, the way an
 * application uses it, and checks the effect on the server (statements it
 * logged, backends it lists, locks it holds).
 */

import assert from "node:assert/strict";
import { needs } from "../src/_test_permissions.ts";
import type { PoolProxiedConnection } from "../src/connection.ts";
import type { Dialect } from "../src/dialect.ts";
import { QueuePool } from "../src/queue_pool.ts";
import { PG_DIALECT, type PgClient, pgCreator } from "../src/pg.ts";
import {
  POSTGRES_DIALECT,
  postgresCreator,
  type PostgresReservedSql,
} from "../src/postgres.ts";
import {
  PG_CLUSTER_NEEDS,
  type PgCluster,
  startPgCluster,
} from "./_pg_cluster.ts";
import { loggedStatements, waitFor } from "./_pg_test_helpers.ts";
import { rejection } from "../src/_test_helpers.ts";

type Row = Record<string, unknown>;

/** What the scenarios need to know about one adapter. */
interface Adapter<C> {
  readonly name: string;
  readonly dialect: Dialect<C>;
  /** A creator for the pool; `application` names its backends on the server. */
  creator(url: string, application: string): () => Promise<C>;
  /** Runs one statement (with `$n` parameters) and gives its rows. */
  query(connection: C, text: string, params?: unknown[]): Promise<Row[]>;
  /** The dialect's `isDisconnect`. */
  isDisconnect(error: unknown, connection: C | null): boolean;
  /**
   * Sends one statement at once, without waiting for it (postgres.js runs a
   * query only when it is awaited or executed).
   */
  send(connection: C, text: string): Promise<unknown>;
  /**
   * Resolves once the driver has noticed that the server closed the
   * session. Call it before killing the backend.
   */
  noticedClose(connection: C): Promise<void>;
}

const PG_ADAPTER: Adapter<PgClient> = {
  name: "node-postgres",
  dialect: PG_DIALECT,
  creator: (url, application) =>
    pgCreator({
      connectionString: url,
      connectionTimeoutMillis: 10_000,
      application_name: application,
    }),
  async query(client, text, params) {
    return (await client.query<Row>(text, params)).rows;
  },
  isDisconnect: (error, client) => PG_DIALECT.isDisconnect(error, client),
  send: (client, text) => client.query(text),
  noticedClose: (client) =>
    new Promise((resolve) => client.once("end", () => resolve())),
};

const POSTGRES_ADAPTER: Adapter<PostgresReservedSql> = {
  name: "postgres.js",
  dialect: POSTGRES_DIALECT,
  creator: (url, application) =>
    postgresCreator(url, {
      "connect_timeout": 10,
      connection: { "application_name": application },
      onnotice: () => {},
    }),
  async query(sql, text, params) {
    return [...await sql.unsafe<Row[]>(text, params as never[] | undefined)];
  },
  isDisconnect: (error, sql) => POSTGRES_DIALECT.isDisconnect(error, sql),
  send: (sql, text) => sql.unsafe(text).execute(),
  // A reserved connection has no close event: poll what the dialect knows.
  noticedClose: (sql) =>
    waitFor(
      () => POSTGRES_DIALECT.isDisconnect(new Error("probe"), sql),
      "postgres.js to notice the closed session",
    ),
};

const ADAPTERS: readonly Adapter<unknown>[] = [
  PG_ADAPTER as Adapter<unknown>,
  POSTGRES_ADAPTER as Adapter<unknown>,
];

/**
 * A separate connection (node-postgres, outside any pool under test) for
 * looking at the server and killing backends. `reconnect()` after a server
 * restart.
 */
class Admin {
  readonly #connect: () => Promise<PgClient>;
  #client: PgClient | null = null;

  constructor(url: string) {
    this.#connect = pgCreator({
      connectionString: url,
      connectionTimeoutMillis: 10_000,
      application_name: "pool_pg_test_admin",
    });
  }

  async query(text: string, params?: unknown[]): Promise<Row[]> {
    this.#client ??= await this.#connect();
    return (await this.#client.query<Row>(text, params)).rows;
  }

  async reconnect(): Promise<void> {
    await this.close();
    this.#client = await this.#connect();
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = null;
    if (client !== null) await PG_DIALECT.terminate(client);
  }

  /** Kills a backend and waits until the server no longer lists it. */
  async kill(pid: number): Promise<void> {
    const [row] = await this.query(
      "SELECT pg_terminate_backend($1) AS killed",
      [pid],
    );
    assert.equal(row?.killed, true, `backend ${pid} should exist`);
    await waitFor(
      async () => !(await this.backends(null)).includes(pid),
      `backend ${pid} to exit`,
    );
  }

  /** Backend pids of `application` (`null`: every client backend). */
  async backends(application: string | null): Promise<number[]> {
    const rows = await this.query(
      `SELECT pid FROM pg_stat_activity
       WHERE backend_type = 'client backend'
         AND ($1::text IS NULL OR application_name = $1)
       ORDER BY pid`,
      [application],
    );
    return rows.map((row) => Number(row.pid));
  }

  /** The `pg_stat_activity.state` of a backend (`idle`, `idle in transaction`…). */
  async state(pid: number): Promise<string | undefined> {
    const [row] = await this.query(
      "SELECT state FROM pg_stat_activity WHERE pid = $1",
      [pid],
    );
    return row?.state as string | undefined;
  }
}

function countOf(statements: readonly string[], statement: string): number {
  return statements.filter((s) => s.trim().toUpperCase() === statement).length;
}

async function pidOf<C>(
  adapter: Adapter<C>,
  conn: PoolProxiedConnection<C>,
): Promise<number> {
  const [row] = await adapter.query(
    conn.driverConnection!,
    "SELECT pg_backend_pid() AS pid",
  );
  return Number(row!.pid);
}

/** The pool's connections: idle plus checked out (overflow counts from -poolSize). */
function opened(pool: QueuePool<unknown>): number {
  return pool.size() + pool.overflow();
}

let applications = 0;

/** A fresh `application_name`, so that each pool's backends can be counted. */
function application(adapter: Adapter<unknown>, what: string): string {
  const prefix = adapter.name.replace(/[^a-z]/gi, "");
  return `${prefix}_${what}_${++applications}`;
}

async function adapterScenarios(
  t: Deno.TestContext,
  cluster: PgCluster,
  admin: Admin,
  adapter: Adapter<unknown>,
): Promise<void> {
  const q = (
    conn: PoolProxiedConnection<unknown>,
    text: string,
    params?: unknown[],
  ): Promise<Row[]> => adapter.query(conn.driverConnection, text, params);
  const table = `notes_${adapter.name.replace(/[^a-z]/gi, "")}`;
  await admin.query(`DROP TABLE IF EXISTS ${table}`); // a DATABASE_URL server
  await admin.query(
    `CREATE TABLE ${table} (id integer PRIMARY KEY, body text NOT NULL)`,
  );
  await admin.query(`INSERT INTO ${table} VALUES (1, 'first')`);
  /** The pools' warnings and errors (kept off the console, checked below). */
  const problems: string[] = [];
  const record = (message: string): void => void problems.push(message);
  const newPool = (
    app: string,
    options: {
      poolSize: number;
      prePing?: boolean;
      validationTimeoutMs?: number;
    },
  ): QueuePool<unknown> =>
    new QueuePool(adapter.creator(cluster.url, app), {
      dialect: adapter.dialect,
      maxOverflow: 0,
      timeoutMs: 5_000, // a lost slot fails the test instead of hanging it
      logger: { debug() {}, info() {}, warn: record, error: record },
      ...options,
    });

  await t.step("checkout, query, return; status after", async () => {
    const app = application(adapter, "basic");
    await using pool = newPool(app, { poolSize: 2 });
    let pid: number;
    {
      await using conn = await pool.connect();
      const [row] = await q(conn, "SELECT 41 + 1 AS answer");
      assert.equal(Number(row!.answer), 42);
      pid = await pidOf(adapter, conn);
      assert.equal(pool.checkedOut(), 1);
      assert.equal(pool.checkedIn(), 0);
    }
    assert.equal(pool.checkedOut(), 0);
    assert.equal(pool.checkedIn(), 1);
    assert.equal(
      pool.status(),
      "Pool size: 2  Connections in pool: 1 Current Overflow: -1 Current Checked out connections: 0",
    );
    assert.deepEqual(await admin.backends(app), [pid]);
    assert.equal(await admin.state(pid), "idle");
    {
      // The returned connection is the one handed out next.
      await using conn = await pool.connect();
      assert.equal(await pidOf(adapter, conn), pid);
    }
    assert.equal(pool.checkedIn(), 1);
  });

  await t.step(
    "reset on return rolls back: the insert is gone, the row lock released",
    async () => {
      const app = application(adapter, "reset");
      await using pool = newPool(app, { poolSize: 2 });
      await using other = await pool.connect();
      let writerPid: number;
      {
        await using writer = await pool.connect();
        writerPid = await pidOf(adapter, writer);
        await q(writer, "BEGIN");
        await q(writer, `INSERT INTO ${table} VALUES (2, 'uncommitted')`);
        await q(writer, `SELECT * FROM ${table} WHERE id = 1 FOR UPDATE`);
        // While it is checked out: the transaction is open and holds the lock.
        assert.equal(await admin.state(writerPid), "idle in transaction");
        const [seen] = await q(
          other,
          `SELECT count(*)::int AS n FROM ${table}`,
        );
        assert.equal(Number(seen!.n), 1);
        const locked = await rejection(
          q(other, `SELECT * FROM ${table} WHERE id = 1 FOR UPDATE NOWAIT`),
        );
        assert.equal((locked as { code?: string }).code, "55P03");
        assert.equal(
          adapter.isDisconnect(locked, other.driverConnection),
          false,
        );
      } // returned: the pool rolls back
      assert.equal(pool.checkedIn(), 1);
      assert.equal(pool.checkedOut(), 1);
      assert.equal(await admin.state(writerPid), "idle");

      const rows = await q(other, `SELECT id FROM ${table} ORDER BY id`);
      assert.deepEqual(rows.map((row) => Number(row.id)), [1]);
      await q(other, "BEGIN");
      await q(other, `SELECT * FROM ${table} WHERE id = 1 FOR UPDATE NOWAIT`);
      await q(other, "SET LOCAL lock_timeout = '1s'");
      await q(other, `UPDATE ${table} SET body = 'updated' WHERE id = 1`);
      await q(other, "ROLLBACK");
      // The admin connection can take the lock too, and the insert is gone.
      await admin.query("BEGIN");
      try {
        await admin.query(
          `SELECT * FROM ${table} WHERE id = 1 FOR UPDATE NOWAIT`,
        );
        const [count] = await admin.query(
          `SELECT count(*)::int AS n FROM ${table} WHERE id = 2`,
        );
        assert.equal(count?.n, 0);
      } finally {
        await admin.query("ROLLBACK");
      }
      // The next checkout gets the rolled-back connection, idle and usable.
      await using again = await pool.connect();
      assert.equal(await pidOf(adapter, again), writerPid);
      assert.equal(
        adapter.dialect.inTransaction?.(again.driverConnection),
        false,
      );
    },
  );

  await t.step({
    name: "an idle return sends no ROLLBACK; an open transaction exactly one",
    ignore: cluster.external, // counts statements in the cluster's own log
    fn: async () => {
      const app = application(adapter, "idle");
      await using pool = newPool(app, { poolSize: 1 });
      let pid: number;
      {
        await using conn = await pool.connect();
        pid = await pidOf(adapter, conn);
      }
      const rounds = 5;
      for (let i = 0; i < rounds; i++) {
        await using conn = await pool.connect();
        const [row] = await q(conn, `SELECT ${i} AS probe_round`);
        assert.equal(Number(row!.probe_round), i);
      }
      {
        // A transaction the application ends itself: nothing left to reset.
        await using conn = await pool.connect();
        await q(conn, "BEGIN");
        await q(conn, "SELECT 'probe_committed'");
        await q(conn, "COMMIT");
      }
      let statements = await loggedStatements(cluster, pid);
      // The log does show this backend's statements (so a ROLLBACK would show).
      assert.equal(
        statements.filter((s) => s.includes("probe_round")).length,
        rounds,
        statements.join("\n"),
      );
      assert.equal(countOf(statements, "COMMIT"), 1);
      assert.equal(countOf(statements, "ROLLBACK"), 0, statements.join("\n"));

      {
        await using conn = await pool.connect();
        assert.equal(await pidOf(adapter, conn), pid);
        await q(conn, "BEGIN");
        await q(conn, "SELECT 'probe_open'");
      }
      {
        await using conn = await pool.connect();
        await q(conn, "SELECT 'probe_after'");
      }
      statements = await loggedStatements(cluster, pid);
      assert.equal(countOf(statements, "ROLLBACK"), 1, statements.join("\n"));
      const at = statements.findIndex((s) => s.includes("probe_open"));
      assert.equal(statements[at + 1], "ROLLBACK");
      assert.ok(statements[at + 2]?.includes("probe_after"));
    },
  });

  await t.step(
    "pre-ping replaces a backend killed while idle in the pool",
    async () => {
      const app = application(adapter, "preping");
      await using pool = newPool(app, { poolSize: 2, prePing: true });
      const first = await pool.connect();
      const second = await pool.connect();
      const pids = [await pidOf(adapter, first), await pidOf(adapter, second)];
      // FIFO: the connection returned first is handed out first.
      await first.close();
      await second.close();
      assert.equal(pool.checkedIn(), 2);
      assert.equal(opened(pool), 2);
      assert.deepEqual(
        await admin.backends(app),
        [...pids].sort((a, b) => a - b),
      );

      await admin.kill(pids[0]!);
      let replacement: number;
      {
        await using conn = await pool.connect();
        replacement = await pidOf(adapter, conn);
        assert.ok(!pids.includes(replacement), `${replacement} is new`);
        const [row] = await q(conn, "SELECT 'alive' AS answer");
        assert.equal(row?.answer, "alive");
        assert.equal(opened(pool), 2);
      }
      // Both slots still work at once, and the server has as many backends.
      {
        await using a = await pool.connect();
        await using b = await pool.connect();
        const now = [await pidOf(adapter, a), await pidOf(adapter, b)];
        assert.ok(!now.includes(pids[0]!));
        assert.ok(now.includes(replacement));
      }
      assert.equal(pool.checkedOut(), 0);
      assert.equal(pool.checkedIn(), 2);
      assert.equal(opened(pool), 2);
      assert.equal((await admin.backends(app)).length, 2);
    },
  );

  await t.step(
    "a backend killed while checked out: the query fails with a disconnect; invalidation replaces the connection",
    async () => {
      const app = application(adapter, "invalidate");
      await using pool = newPool(app, { poolSize: 1 });
      let pid: number;
      {
        await using conn = await pool.connect();
        pid = await pidOf(adapter, conn);
      }
      for (const how of ["conn.invalidate", "pool.invalidate"] as const) {
        {
          await using conn = await pool.connect();
          assert.equal(await pidOf(adapter, conn), pid);
          await admin.kill(pid);
          const error = await rejection(q(conn, "SELECT 1"));
          assert.equal(
            adapter.isDisconnect(error, conn.driverConnection),
            true,
            String(error),
          );
          assert.equal(adapter.isDisconnect(error, null), true, String(error));
          if (how === "conn.invalidate") await conn.invalidate(error);
          else await pool.invalidate(conn, error);
          assert.equal(conn.isValid, false);
          assert.equal(pool.checkedOut(), 0);
          assert.equal(pool.checkedIn(), 1);
        }
        {
          await using conn = await pool.connect();
          const fresh = await pidOf(adapter, conn);
          assert.notEqual(fresh, pid, how);
          const [row] = await q(conn, "SELECT 'alive' AS answer");
          assert.equal(row?.answer, "alive");
          pid = fresh;
        }
        assert.deepEqual(await admin.backends(app), [pid], how);
        assert.equal(pool.checkedIn(), 1);
        assert.equal(opened(pool), 1);
      }
    },
  );

  await t.step(
    "a connection returned with a query still running is not pooled as idle",
    async () => {
      const app = application(adapter, "busy");
      await using pool = newPool(app, { poolSize: 1 });
      const invalidated: string[] = [];
      using _watch = pool.on("invalidate", (_connection, _entry, error) => {
        invalidated.push(String(error));
      });
      problems.length = 0;

      // A sends BEGIN and returns the connection without waiting for it.
      let begun: Promise<unknown>;
      {
        await using a = await pool.connect();
        begun = adapter.send(a.driverConnection, "BEGIN");
        begun.catch(() => {}); // the pool cuts it short
      }
      assert.equal(pool.checkedOut(), 0);
      assert.equal(invalidated.length, 1);
      assert.match(invalidated[0]!, /query still running/);
      assert.equal(problems.length, 1, problems.join("\n"));
      assert.match(problems[0]!, /query still running/);

      // B's autocommit INSERT is acknowledged, so it is committed: it must
      // not run inside A's transaction and be rolled back on B's return.
      {
        await using b = await pool.connect();
        await q(b, `INSERT INTO ${table} VALUES (10, 'from B')`);
        assert.equal(
          adapter.dialect.inTransaction?.(b.driverConnection),
          false,
        );
      }
      const [seen] = await admin.query(
        `SELECT count(*)::int AS n FROM ${table} WHERE id = 10`,
      );
      assert.equal(seen?.n, 1);
      await admin.query(`DELETE FROM ${table} WHERE id = 10`);

      // A abandons a long query: the next holder does not wait behind it.
      {
        await using a = await pool.connect();
        const sleeping = adapter.send(
          a.driverConnection,
          "SELECT pg_sleep(3)",
        );
        sleeping.catch(() => {});
      }
      assert.equal(invalidated.length, 2);
      const started = performance.now();
      {
        await using next = await pool.connect();
        const [row] = await q(next, "SELECT 1 AS one");
        assert.equal(Number(row!.one), 1);
        const elapsed = performance.now() - started;
        assert.ok(elapsed < 1_500, `the next holder waited ${elapsed} ms`);
        // A working connection: a transaction of its own, rolled back on return.
        await q(next, "BEGIN");
        await q(next, `INSERT INTO ${table} VALUES (11, 'rolled back')`);
      }
      const [after] = await admin.query(
        `SELECT count(*)::int AS n FROM ${table} WHERE id = 11`,
      );
      assert.equal(after?.n, 0);
      assert.equal(pool.checkedIn(), 1);
      assert.equal(opened(pool), 1);
    },
  );

  await t.step(
    "a connection the server closed is replaced at checkout without prePing",
    async () => {
      const poolSize = 3;
      const app = application(adapter, "closed");
      await using pool = newPool(app, { poolSize, prePing: false });
      problems.length = 0;
      const drivers: unknown[] = [];
      const pids: number[] = [];
      {
        const conns: PoolProxiedConnection<unknown>[] = [];
        try {
          for (let i = 0; i < poolSize; i++) conns.push(await pool.connect());
          for (const conn of conns) {
            drivers.push(conn.driverConnection);
            pids.push(await pidOf(adapter, conn));
          }
        } finally {
          for (const conn of conns) await conn.close();
        }
      }
      assert.equal(pool.checkedIn(), poolSize);

      // The server ends every session; wait until each driver has noticed.
      const noticed = drivers.map((driver) => adapter.noticedClose(driver));
      for (const pid of pids) await admin.kill(pid);
      await Promise.all(noticed);

      const seen: number[] = [];
      for (let i = 0; i < poolSize + 1; i++) {
        await using conn = await pool.connect();
        const [row] = await q(
          conn,
          `SELECT ${i} AS n, pg_backend_pid() AS pid`,
        );
        assert.equal(Number(row!.n), i);
        seen.push(Number(row!.pid));
      }
      for (const pid of seen) assert.ok(!pids.includes(pid), `${pid} is new`);
      assert.deepEqual(problems, []);
      assert.equal(pool.checkedIn(), poolSize);
      assert.equal(opened(pool), poolSize);
      assert.equal((await admin.backends(app)).length, poolSize);
    },
  );

  await t.step({
    name:
      "a stopped backend (SIGSTOP): pre-ping and reset on return give up after validationTimeoutMs",
    ignore: cluster.external, // signalling a backend needs a server of our own
    fn: async () => {
      const app = application(adapter, "stopped");
      await using pool = newPool(app, {
        poolSize: 1,
        prePing: true,
        validationTimeoutMs: 300,
      });
      problems.length = 0;
      /** Runs `work` while backend `pid` is stopped; returns its milliseconds. */
      const whileStopped = async (
        pid: number,
        work: () => Promise<void>,
      ): Promise<number> => {
        Deno.kill(pid, "SIGSTOP");
        try {
          const started = performance.now();
          await work();
          return performance.now() - started;
        } finally {
          Deno.kill(pid, "SIGCONT");
        }
      };

      // Pre-ping on a stopped backend: the checkout goes on with a new one.
      let stopped: number;
      {
        await using conn = await pool.connect();
        stopped = await pidOf(adapter, conn);
      }
      let replacement = 0;
      const pingMs = await whileStopped(stopped, async () => {
        await using conn = await pool.connect();
        replacement = await pidOf(adapter, conn);
      });
      assert.notEqual(replacement, stopped);
      assert.ok(pingMs < 3_000, `pre-ping gave up after ${pingMs} ms`);

      // Reset on return on a stopped backend inside a transaction: the
      // return completes and frees the slot.
      const conn = await pool.connect();
      assert.equal(await pidOf(adapter, conn), replacement);
      await q(conn, "BEGIN");
      const resetMs = await whileStopped(replacement, () => conn.close());
      assert.ok(resetMs < 3_000, `reset gave up after ${resetMs} ms`);
      assert.equal(pool.checkedOut(), 0);
      assert.deepEqual(problems, ["Exception during reset or similar"]);
      {
        await using next = await pool.connect();
        const [row] = await q(next, "SELECT 1 AS one");
        assert.equal(Number(row!.one), 1);
        assert.notEqual(await pidOf(adapter, next), replacement);
      }
      // Both stopped backends end once they run again and see their
      // connection gone.
      await waitFor(
        async () =>
          (await admin.backends(app)).every((pid) =>
            pid !== stopped && pid !== replacement
          ),
        "the stopped backends to end",
      );
    },
  });

  for (const recovery of ["pre-ping", "invalidate on disconnect"] as const) {
    await t.step({
      name: `a server restart mid-use, recovered by ${recovery}: no slot lost`,
      ignore: cluster.external, // restarting needs a server of our own
      fn: async () => {
        const poolSize = 3;
        const prePing = recovery === "pre-ping";
        const app = application(adapter, "restart");
        await using pool = newPool(app, { poolSize, prePing });
        let retries = 0;
        /** How an application uses the pool: one retry on a disconnect. */
        const use = async <T>(
          work: (conn: PoolProxiedConnection<unknown>) => Promise<T>,
        ): Promise<T> => {
          for (let attempt = 1;; attempt++) {
            await using conn = await pool.connect();
            try {
              return await work(conn);
            } catch (error) {
              if (
                attempt > 1 ||
                !adapter.isDisconnect(error, conn.driverConnection)
              ) {
                throw error;
              }
              retries++;
              // SQLAlchemy's reaction: invalidate this one and every
              // connection made before it.
              await pool.invalidate(conn, error);
            }
          }
        };

        problems.length = 0;
        const before: number[] = [];
        const held = await pool.connect();
        try {
          {
            await using a = await pool.connect();
            await using b = await pool.connect();
            for (const conn of [held, a, b]) {
              before.push(await pidOf(adapter, conn));
            }
          }
          assert.equal(pool.checkedIn(), poolSize - 1);
          assert.equal(pool.checkedOut(), 1);

          await cluster.restart();
          await admin.reconnect();

          // The checked-out connection is dead; the application sees it.
          const error = await rejection(q(held, "SELECT 1"));
          assert.equal(
            adapter.isDisconnect(error, held.driverConnection),
            true,
            String(error),
          );
        } finally {
          // Returned as is (the end of an `await using` block): its reset
          // fails and the pool invalidates it.
          await held.close();
        }
        assert.equal(pool.checkedOut(), 0);
        assert.equal(pool.checkedIn(), poolSize);
        assert.deepEqual(problems, ["Exception during reset or similar"]);

        for (let i = 0; i < 2 * poolSize; i++) {
          const [row] = await use((conn) => q(conn, `SELECT ${i} AS n`));
          assert.equal(Number(row!.n), i);
        }
        // Pre-ping hides the restart, and so does a dialect that tells the
        // pool which connections the driver has seen closed (isClosed):
        // they are replaced at checkout. Without either, the first use meets
        // a dead idle connection once, and the pool-wide invalidation it
        // triggers replaces the others before they are used.
        const hidden = prePing || adapter.dialect.isClosed !== undefined;
        assert.equal(retries, hidden ? 0 : 1);

        // Every slot can be checked out at once, on new backends.
        const conns: PoolProxiedConnection<unknown>[] = [];
        try {
          for (let i = 0; i < poolSize; i++) conns.push(await pool.connect());
          assert.equal(pool.checkedOut(), poolSize);
          const after = await Promise.all(
            conns.map((conn) => pidOf(adapter, conn)),
          );
          assert.equal(new Set(after).size, poolSize);
          for (const pid of after) assert.ok(!before.includes(pid), `${pid}`);
          assert.deepEqual(
            await admin.backends(app),
            after.sort((x, y) => x - y),
          );
          // And no more than that: a further checkout waits (aborted here).
          const extra = await rejection(
            pool.connect({ signal: AbortSignal.timeout(50) }),
          );
          assert.equal((extra as Error).name, "TimeoutError");
          assert.equal(pool.waiting(), 0);
        } finally {
          for (const conn of conns) await conn.close();
        }
        assert.equal(pool.checkedOut(), 0);
        assert.equal(pool.checkedIn(), poolSize);
        assert.equal(opened(pool), poolSize);
        assert.equal(pool.overflow(), 0);
      },
    });
  }
}

Deno.test({
  name: "QueuePool against a live PostgreSQL, through each adapter",
  ...needs(PG_CLUSTER_NEEDS),
}, async (t) => {
  await using cluster = await startPgCluster({ logStatements: true });
  const admin = new Admin(cluster.url);
  try {
    for (const adapter of ADAPTERS) {
      await t.step(
        adapter.name,
        (t) => adapterScenarios(t, cluster, admin, adapter),
      );
    }
  } finally {
    await admin.close();
  }
});
