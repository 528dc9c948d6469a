/**
 * The pool behind PgBouncer in transaction mode, as many instances (Deno
 * Deploy isolates, containers) each with a pool of its own share a
 * database: a throwaway PgBouncer (`_pgbouncer.ts`) in front of the
 * throwaway cluster, through each adapter as `createPoolFromUrl()` makes
 * it: node-postgres, and postgres.js with `?prepare=false`. A first step
 * shows why those settings: a statement prepared on one of PgBouncer's
 * server connections is missing on the next.
 *
 * Skipped, with a line saying why, only when PgBouncer cannot be found
 * (`.ci/run` installs Debian's package).
 */

import assert from "node:assert/strict";
import type { Dialect } from "../src/dialect.ts";
import type { PoolProxiedConnection } from "../src/connection.ts";
import { PG_DIALECT, type PgClient, pgCreator } from "../src/pg.ts";
import {
  POSTGRES_DIALECT,
  postgresCreator,
  type PostgresReservedSql,
} from "../src/postgres.ts";
import type { PoolLogger } from "../src/logger.ts";
import type { QueuePool } from "../src/queue_pool.ts";
import { createPoolFromUrl } from "../src/url.ts";
import { needs } from "../src/_test_permissions.ts";
import { PG_CLUSTER_NEEDS, startPgCluster } from "./_pg_cluster.ts";
import {
  type PgBouncer,
  pgBouncerUnavailableReason,
  startPgBouncer,
} from "./_pgbouncer.ts";
import { within } from "./_pg_test_helpers.ts";

type Row = Record<string, unknown>;

/** Server connections PgBouncer may open for the test's database. */
const SERVER_CONNECTIONS = 3;

/** Pool options the steps vary. */
interface Sizes {
  poolSize: number;
  logger?: PoolLogger;
}

/** One adapter, as an application behind a transaction-mode pooler configures it. */
interface Adapter<C> {
  readonly name: string;
  readonly dialect: Dialect<C>;
  pool(bouncer: PgBouncer, sizes: Sizes): Promise<QueuePool<C>>;
  query(connection: C, text: string, params?: unknown[]): Promise<Row[]>;
}

const QUIET = { debug() {}, info() {}, warn() {}, error() {} };

const PG_ADAPTER: Adapter<PgClient> = {
  name: "node-postgres",
  dialect: PG_DIALECT,
  // Unnamed statements only (node-postgres's default): a named one is
  // prepared on one server connection and missing on the next.
  pool: (bouncer, sizes) =>
    createPoolFromUrl(bouncer.url, {
      driver: "pg",
      maxOverflow: 0,
      timeoutMs: 10_000,
      logger: QUIET,
      pg: { connectionTimeoutMillis: 5_000 },
      ...sizes,
    }),
  async query(client, text, params) {
    return (await client.query<Row>(text, params)).rows;
  },
};

const POSTGRES_ADAPTER: Adapter<PostgresReservedSql> = {
  name: "postgres.js",
  dialect: POSTGRES_DIALECT,
  // prepare=false: postgres.js names and caches a prepared statement per
  // query, which a transaction-mode pooler does not keep on one server.
  pool: (bouncer, sizes) =>
    createPoolFromUrl(`${bouncer.url}?prepare=false`, {
      driver: "postgres",
      maxOverflow: 0,
      timeoutMs: 10_000,
      logger: QUIET,
      postgres: { "connect_timeout": 5, onnotice: () => {} },
      ...sizes,
    }),
  // Prepared, as a tagged template query is, unless the connection says
  // prepare=false (unsafe() alone never prepares).
  async query(sql, text, params) {
    return [
      ...await sql.unsafe<Row[]>(text, params as never[] | undefined, {
        prepare: true,
      }),
    ];
  },
};

const ADAPTERS: readonly Adapter<unknown>[] = [
  PG_ADAPTER as Adapter<unknown>,
  POSTGRES_ADAPTER as Adapter<unknown>,
];

/** The pool's connections: idle plus checked out. */
function opened(pool: QueuePool<unknown>): number {
  return pool.size() + pool.overflow();
}

/** A promise and the function that settles it with a value. */
function signal<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => resolve = r);
  return { promise, resolve };
}

const unavailable = needs(PG_CLUSTER_NEEDS).ignore
  ? null // the run lacks permissions: the permission notice says so
  : await pgBouncerUnavailableReason();
if (unavailable !== null) {
  // deno-lint-ignore no-console -- says why the PgBouncer tests are skipped
  console.log(`Skipping the PgBouncer tests: ${unavailable}`);
}

Deno.test({
  name: "QueuePool behind PgBouncer in transaction mode, through each adapter",
  ignore: needs(PG_CLUSTER_NEEDS).ignore || unavailable !== null,
}, async (t) => {
  await using cluster = await startPgCluster();
  await using bouncer = await startPgBouncer(cluster, {
    poolMode: "transaction",
    defaultPoolSize: SERVER_CONNECTIONS,
  });
  // Straight to the server, not through PgBouncer.
  const admin = await pgCreator({
    connectionString: cluster.url,
    connectionTimeoutMillis: 10_000,
  })();
  const adminQuery = async (text: string, params?: unknown[]) =>
    (await admin.query<Row>(text, params)).rows;
  try {
    await adminQuery("DROP TABLE IF EXISTS bouncer_notes");
    await adminQuery(
      "CREATE TABLE bouncer_notes (id integer PRIMARY KEY, body text NOT NULL)",
    );
    let nextId = 0;

    await t.step(
      "why the settings: a statement prepared on one of PgBouncer's server connections is missing on the next",
      async (t) => {
        /**
         * Client A prepares a statement on server connection S1 (the only
         * one open), B holds S1 in a transaction, A begins one and gets a
         * new S2, where its statement is not.
         */
        const scenario = async <C>(
          connect: () => Promise<C>,
          close: (connection: C) => Promise<void>,
          run: (connection: C, text: string) => Promise<unknown>,
          statement: (connection: C, value: number) => Promise<Row[]>,
        ): Promise<Row[] | Error> => {
          const a = await connect();
          const b = await connect();
          try {
            await statement(a, 1);
            await run(b, "BEGIN");
            await run(b, "SELECT 1");
            await run(a, "BEGIN");
            return await statement(a, 2).catch((error: Error) => error);
          } finally {
            await close(a);
            await close(b);
          }
        };
        const select = "SELECT $1::int AS n";

        await t.step(
          "node-postgres: a named statement fails, an unnamed one works",
          async () => {
            for (const named of [true, false]) {
              await using fresh = await startPgBouncer(cluster, {
                defaultPoolSize: 2,
              });
              const connect = pgCreator({ connectionString: fresh.url });
              const result = await scenario(
                connect,
                (client) => PG_DIALECT.close(client),
                (client, text) => client.query(text),
                async (client, value) =>
                  (await client.query<Row>({
                    ...(named ? { name: "dbpool_select" } : {}),
                    text: select,
                    values: [value],
                  })).rows,
              );
              if (named) {
                assert.match(
                  String(result),
                  /prepared statement "dbpool_select" does not exist/,
                );
              } else assert.deepEqual(result, [{ n: 2 }]);
            }
          },
        );

        await t.step(
          "postgres.js: its default prepare fails, prepare=false works",
          async () => {
            for (const query of ["", "?prepare=false"]) {
              await using fresh = await startPgBouncer(cluster, {
                defaultPoolSize: 2,
              });
              const connect = postgresCreator(`${fresh.url}${query}`, {
                onnotice: () => {},
              });
              const result = await scenario(
                connect,
                (sql) => POSTGRES_DIALECT.close(sql),
                (sql, text) => sql.unsafe(text),
                async (
                  sql,
                  value,
                ) => [...await sql<Row[]>`SELECT ${value}::int AS n`],
              );
              if (query === "") {
                assert.match(
                  String(result),
                  /prepared statement "[^"]+" does not exist/,
                );
              } else assert.deepEqual(result, [{ n: 2 }]);
            }
          },
        );
      },
    );

    for (const adapter of ADAPTERS) {
      const q = (
        conn: PoolProxiedConnection<unknown>,
        text: string,
        params?: unknown[],
      ): Promise<Row[]> => adapter.query(conn.driverConnection, text, params);

      await t.step(adapter.name, async (t) => {
        await t.step(
          "four pools of three share PgBouncer's three server connections: checkout, query, return",
          async () => {
            const pools: QueuePool<unknown>[] = [];
            try {
              for (let i = 0; i < 4; i++) {
                pools.push(await adapter.pool(bouncer, { poolSize: 3 }));
              }
              // Twelve client connections at once, each in a query that
              // takes 50 ms: PgBouncer runs them on its three.
              const conns: PoolProxiedConnection<unknown>[] = [];
              try {
                for (const pool of pools) {
                  for (let i = 0; i < 3; i++) conns.push(await pool.connect());
                }
                const started = performance.now();
                const rows = await Promise.all(conns.map(async (conn, i) => {
                  const [row] = await q(
                    conn,
                    "SELECT $1::int AS n, pg_backend_pid() AS pid, pg_sleep(0.05)",
                    [i],
                  );
                  return row!;
                }));
                const elapsed = performance.now() - started;
                assert.deepEqual(rows.map((row) => Number(row.n)), [
                  ...Array(12).keys(),
                ]);
                const servers = new Set(rows.map((row) => Number(row.pid)));
                assert.ok(
                  servers.size <= SERVER_CONNECTIONS,
                  `${servers.size} server connections`,
                );
                // 12 queries of 50 ms on at most 3 server connections.
                assert.ok(elapsed >= 190, `took ${elapsed} ms`);
              } finally {
                for (const conn of conns) await conn.close();
              }
              for (const pool of pools) {
                assert.equal(pool.checkedOut(), 0);
                assert.equal(pool.checkedIn(), 3);
              }

              // Parameterized queries and transactions from every pool at
              // once: every answer is right, none fails.
              const answers = await Promise.all(
                pools.flatMap((pool, p) =>
                  [0, 1, 2, 3, 4, 5].map(async (w) => {
                    let right = 0;
                    for (let i = 0; i < 15; i++) {
                      await using conn = await pool.connect();
                      const value = p * 1_000 + w * 100 + i;
                      if (i % 5 === 0) await q(conn, "BEGIN");
                      const [row] = await q(conn, "SELECT $1::int AS n", [
                        value,
                      ]);
                      if (i % 5 === 0) await q(conn, "COMMIT");
                      if (Number(row!.n) === value) right++;
                    }
                    return right;
                  })
                ),
              );
              assert.deepEqual(answers, Array(24).fill(15));
            } finally {
              for (const pool of pools) await pool.dispose();
            }
          },
        );

        await t.step(
          "reset on return rolls back through PgBouncer: the open transaction's insert is gone",
          async () => {
            await using pool = await adapter.pool(bouncer, { poolSize: 1 });
            const id = ++nextId;
            let server: number;
            let driver: unknown;
            {
              await using conn = await pool.connect();
              driver = conn.driverConnection;
              await q(conn, "BEGIN");
              await q(
                conn,
                "INSERT INTO bouncer_notes VALUES ($1, 'uncommitted')",
                [id],
              );
              const [row] = await q(
                conn,
                "SELECT count(*)::int AS n, pg_backend_pid() AS pid FROM bouncer_notes WHERE id = $1",
                [id],
              );
              assert.equal(Number(row!.n), 1);
              // PgBouncer holds this server connection for the transaction.
              server = Number(row!.pid);
              const [state] = await adminQuery(
                "SELECT state FROM pg_stat_activity WHERE pid = $1",
                [server],
              );
              assert.equal(state?.state, "idle in transaction");
            } // returned: the pool rolls back, through PgBouncer
            const [state] = await adminQuery(
              "SELECT state FROM pg_stat_activity WHERE pid = $1",
              [server],
            );
            assert.equal(state?.state, "idle");
            const [seen] = await adminQuery(
              "SELECT count(*)::int AS n FROM bouncer_notes WHERE id = $1",
              [id],
            );
            assert.equal(seen?.n, 0);
            {
              // The same client connection, out of its transaction.
              await using conn = await pool.connect();
              assert.equal(conn.driverConnection, driver);
              assert.equal(
                adapter.dialect.inTransaction?.(conn.driverConnection),
                false,
              );
              const [row] = await q(
                conn,
                "SELECT count(*)::int AS n FROM bouncer_notes WHERE id = $1",
                [id],
              );
              assert.equal(Number(row!.n), 0);
            }
          },
        );

        await t.step(
          "a PgBouncer restart mid-traffic: the pool replaces its dead connections and recovers within 5 s",
          async () => {
            const poolSize = 3;
            const problems: string[] = [];
            await using pool = await adapter.pool(bouncer, {
              poolSize,
              logger: {
                debug() {},
                info() {},
                warn: (message: string) => void problems.push(message),
                error: (message: string) => void problems.push(message),
              },
            });
            let connects = 0;
            let connectsBefore = 0;
            using _count = pool.on("connect", () => void connects++);

            /** Before the restart, during it, after PgBouncer is back. */
            let phase: "before" | "restarting" | "after" = "before";
            let successes = 0;
            const errors: unknown[] = [];
            const before = new Set<number>();
            const after = new Set<number>();
            const warmedUp = signal<void>();
            const firstAfter = signal<number>();
            const enoughAfter = signal<void>();
            let afterCount = 0;
            let stopping = false;

            /** An application's request: one checkout, one query. */
            const request = async (w: number): Promise<void> => {
              await using conn = await pool.connect();
              try {
                const [row] = await q(
                  conn,
                  "SELECT $1::int AS n, pg_backend_pid() AS pid",
                  [w],
                );
                assert.equal(Number(row!.n), w);
                const pid = Number(row!.pid);
                if (phase === "before") before.add(pid);
                if (++successes === 20) warmedUp.resolve();
                if (phase === "after") {
                  after.add(pid);
                  firstAfter.resolve(performance.now());
                  if (++afterCount === 30) enoughAfter.resolve();
                }
              } catch (error) {
                if (
                  adapter.dialect.isDisconnect?.(error, conn.driverConnection)
                ) {
                  await conn.invalidate(error);
                }
                throw error;
              }
            };
            const worker = async (w: number): Promise<void> => {
              while (!stopping) {
                try {
                  await request(w);
                } catch (error) {
                  errors.push(error);
                  // Back off a little while PgBouncer is away.
                  await new Promise((resolve) => setTimeout(resolve, 10));
                }
              }
            };

            const workers = [0, 1, 2, 3, 4, 5].map(worker);
            try {
              await within(warmedUp.promise, 10_000, "20 requests");
              connectsBefore = connects;
              phase = "restarting";
              const stoppedAt = performance.now();
              await bouncer.restart();
              const restartedAt = performance.now();
              phase = "after";
              const recovered = await within(
                firstAfter.promise,
                10_000,
                "a request after the restart",
              );
              const recoveryMs = recovered - restartedAt;
              const outageMs = recovered - stoppedAt;
              assert.ok(recoveryMs < 5_000, `recovered in ${recoveryMs} ms`);
              assert.ok(outageMs < 8_000, `out for ${outageMs} ms`);
              await within(enoughAfter.promise, 10_000, "30 requests after");
            } finally {
              stopping = true;
              await Promise.all(workers);
            }
            // Every failure was the connection going away, none a wrong answer.
            for (const error of errors) {
              assert.equal(
                adapter.dialect.isDisconnect?.(error, null),
                true,
                String(error),
              );
            }
            // Nothing logged but, at worst, a reset that met a dead connection.
            for (const problem of problems) {
              assert.equal(problem, "Exception during reset or similar");
            }
            // After the restart, server connections of the new PgBouncer only.
            assert.ok(before.size > 0 && after.size > 0);
            for (const pid of after) assert.ok(!before.has(pid), `${pid}`);

            // No slot lost: all of them at once, on working connections.
            assert.equal(pool.checkedOut(), 0);
            assert.ok(opened(pool) <= poolSize, `${opened(pool)} opened`);
            const conns: PoolProxiedConnection<unknown>[] = [];
            try {
              for (let i = 0; i < poolSize; i++) {
                conns.push(await pool.connect());
              }
              for (const [i, conn] of conns.entries()) {
                const [row] = await q(conn, "SELECT $1::int AS n", [i]);
                assert.equal(Number(row!.n), i);
              }
            } finally {
              for (const conn of conns) await conn.close();
            }
            assert.equal(opened(pool), poolSize);
            // Each dead connection was replaced once (or twice, if a
            // replacement met the old PgBouncer on its way out).
            const replaced = connects - connectsBefore;
            assert.ok(
              replaced >= poolSize && replaced <= 2 * poolSize,
              `${replaced} new connections`,
            );
          },
        );
      });
    }
  } finally {
    await PG_DIALECT.close(admin).catch(() => {});
  }
});
