import assert from "node:assert/strict";
import { needs } from "../src/_test_permissions.ts";
import net from "node:net";
import postgres from "npm:postgres@^3";
import type { Dialect } from "../src/dialect.ts";
import {
  POSTGRES_DIALECT,
  postgresCreator,
  type PostgresOptions,
} from "../src/postgres.ts";
import { PG_CLUSTER_NEEDS, startPgCluster } from "./_pg_cluster.ts";
import { loggedStatements, waitFor, within } from "./_pg_test_helpers.ts";
import { rejection } from "../src/_test_helpers.ts";

type Sql = postgres.Sql | postgres.ReservedSql;

async function backendPid(sql: Sql): Promise<number> {
  const [row] = await sql`SELECT pg_backend_pid() AS pid`;
  return Number(row!.pid);
}

/** The `pg_stat_activity.state` of a backend, seen from `admin`. */
async function stateOf(admin: Sql, pid: number): Promise<string | undefined> {
  const [row] =
    await admin`SELECT state FROM pg_stat_activity WHERE pid = ${pid}`;
  return row?.state as string | undefined;
}

Deno.test({
  name: "PostgresDialect against a live PostgreSQL",
  ...needs(PG_CLUSTER_NEEDS),
}, async (t) => {
  await using cluster = await startPgCluster({ logStatements: true });
  const notices: postgres.Notice[] = [];
  const connect = postgresCreator(cluster.url, {
    connect_timeout: 10,
    onnotice: (notice) => notices.push(notice),
  });
  const admin = postgres(cluster.url, { max: 1, onnotice: () => {} });
  await admin`CREATE TABLE notes (id integer PRIMARY KEY, body text NOT NULL)`;
  await admin`INSERT INTO notes VALUES (1, 'first')`;

  try {
    await t.step("POSTGRES_DIALECT is a Dialect<ReservedSql>", () => {
      const dialect: Dialect<postgres.ReservedSql> = POSTGRES_DIALECT;
      assert.equal(dialect.name, "postgres");
    });

    await t.step(
      "postgresCreator() reserves one connection that answers ping",
      async () => {
        const sql = await connect();
        try {
          assert.equal(await POSTGRES_DIALECT.ping(sql), true);
          const [row] = await sql`SELECT ${41}::int + 1 AS answer`;
          assert.equal(row!.answer, 42);
          // one session: the pid never changes
          const pid = await backendPid(sql);
          assert.equal(await backendPid(sql), pid);
        } finally {
          await POSTGRES_DIALECT.close(sql);
        }
      },
    );

    await t.step(
      "inTransaction follows ReadyForQuery: idle, in a transaction, failed",
      async () => {
        const sql = await connect();
        try {
          assert.equal(POSTGRES_DIALECT.inTransaction(sql), false);
          await sql`BEGIN`;
          assert.equal(POSTGRES_DIALECT.inTransaction(sql), true);
          await sql`SELECT ${1}::int AS one`; // extended protocol
          assert.equal(POSTGRES_DIALECT.inTransaction(sql), true);
          await rejection(sql`SELECT * FROM no_such_table`);
          assert.equal(POSTGRES_DIALECT.inTransaction(sql), true); // status E
          await POSTGRES_DIALECT.rollback(sql);
          assert.equal(POSTGRES_DIALECT.inTransaction(sql), false);
        } finally {
          await POSTGRES_DIALECT.close(sql);
        }
      },
    );

    await t.step(
      "rollback() really rolls back and releases row locks",
      async () => {
        const writer = await connect();
        const other = await connect();
        try {
          await writer`BEGIN`;
          await writer`INSERT INTO notes VALUES (2, 'uncommitted')`;
          await writer`SELECT * FROM notes WHERE id = 1 FOR UPDATE`;
          const [invisible] = await other`SELECT count(*)::int AS n FROM notes`;
          assert.equal(invisible!.n, 1);
          const locked = await rejection(
            other`SELECT * FROM notes WHERE id = 1 FOR UPDATE NOWAIT`,
          );
          assert.equal((locked as { code?: string }).code, "55P03");
          assert.equal(POSTGRES_DIALECT.isDisconnect(locked, other), false);

          await POSTGRES_DIALECT.rollback(writer);
          assert.equal(POSTGRES_DIALECT.inTransaction(writer), false);
          await other`BEGIN`;
          await other`SELECT * FROM notes WHERE id = 1 FOR UPDATE NOWAIT`;
          await other`ROLLBACK`;
          const [after] = await other`SELECT count(*)::int AS n FROM notes`;
          assert.equal(after!.n, 1);
        } finally {
          await POSTGRES_DIALECT.close(writer);
          await POSTGRES_DIALECT.close(other);
        }
      },
    );

    await t.step(
      "rollback() and commit() send nothing on an idle connection",
      async () => {
        const sql = await connect();
        try {
          const pid = await backendPid(sql);
          await POSTGRES_DIALECT.rollback(sql);
          await POSTGRES_DIALECT.commit(sql);
          await sql`BEGIN`;
          await POSTGRES_DIALECT.rollback(sql);
          const statements = await loggedStatements(cluster, pid);
          assert.deepEqual(statements.slice(-2), ["BEGIN", "ROLLBACK"]);
          assert.equal(statements.filter((s) => s === "ROLLBACK").length, 1);
          assert.equal(statements.filter((s) => s === "COMMIT").length, 0);
        } finally {
          await POSTGRES_DIALECT.close(sql);
        }
      },
    );

    await t.step("commit() commits", async () => {
      const sql = await connect();
      try {
        await sql`BEGIN`;
        await sql`INSERT INTO notes VALUES (3, 'committed')`;
        await POSTGRES_DIALECT.commit(sql);
        assert.equal(POSTGRES_DIALECT.inTransaction(sql), false);
        const [row] = await admin`SELECT body FROM notes WHERE id = 3`;
        assert.equal(row!.body, "committed");
        await admin`DELETE FROM notes WHERE id = 3`;
      } finally {
        await POSTGRES_DIALECT.close(sql);
      }
    });

    await t.step(
      "a backend killed while idle: ping is false, later queries fail cleanly",
      async () => {
        const sql = await connect();
        try {
          const pid = await backendPid(sql);
          await admin`SELECT pg_terminate_backend(${pid})`;
          await waitFor(
            () => POSTGRES_DIALECT.isDisconnect(new Error("probe"), sql),
            "the connection to notice the disconnect",
          );
          assert.equal(await POSTGRES_DIALECT.ping(sql), false);
          assert.equal(POSTGRES_DIALECT.inTransaction(sql), undefined);
          // Plain postgres.js would write to the dead socket here and crash
          // the process; the creator ended the instance, so this rejects.
          const error = await rejection(sql`SELECT 1`);
          assert.equal(
            POSTGRES_DIALECT.isDisconnect(error, null),
            true,
            String(error),
          );
          const rollbackError = await rejection(POSTGRES_DIALECT.rollback(sql));
          assert.equal(POSTGRES_DIALECT.isDisconnect(rollbackError, sql), true);
        } finally {
          await POSTGRES_DIALECT.terminate(sql);
        }
      },
    );

    await t.step(
      "a backend killed during use: the query fails with a disconnect",
      async () => {
        const sql = await connect();
        try {
          const pid = await backendPid(sql);
          await sql`BEGIN`;
          const sleeping = sql`SELECT pg_sleep(30)`.execute();
          sleeping.catch(() => {}); // awaited below; the rejection may come first
          await waitFor(async () => {
            const [row] = await admin`
            SELECT state FROM pg_stat_activity WHERE pid = ${pid}`;
            return row?.state === "active";
          }, "the query to start");
          await admin`SELECT pg_terminate_backend(${pid})`;
          const error = await rejection(sleeping);
          assert.equal(
            POSTGRES_DIALECT.isDisconnect(error, null),
            true,
            String(error),
          );
          assert.equal(POSTGRES_DIALECT.isDisconnect(error, sql), true);
          assert.equal(await POSTGRES_DIALECT.ping(sql), false);
        } finally {
          await POSTGRES_DIALECT.terminate(sql);
        }
      },
    );

    await t.step(
      "a query run right after a disconnect rejects instead of crashing the process",
      async () => {
        const sql = await connect();
        try {
          const pid = await backendPid(sql);
          const sleeping = sql`SELECT pg_sleep(30)`.execute();
          sleeping.catch(() => {});
          await waitFor(async () => {
            const [row] = await admin`
            SELECT state FROM pg_stat_activity WHERE pid = ${pid}`;
            return row?.state === "active";
          }, "the query to start");
          await admin`SELECT pg_terminate_backend(${pid})`;
          let second: unknown;
          try {
            await sleeping;
          } catch {
            // The usual reaction, at once: plain postgres.js 3.4 writes this
            // to a null socket from a setImmediate callback and dies.
            second = await rejection(sql`ROLLBACK`);
          }
          assert.equal(
            POSTGRES_DIALECT.isDisconnect(second, null),
            true,
            String(second),
          );
          assert.equal((second as { code?: string }).code, "CONNECTION_CLOSED");
          await new Promise((resolve) => setTimeout(resolve, 50)); // survive the immediates
          const third = await rejection(sql.unsafe("SELECT 1"));
          assert.equal(POSTGRES_DIALECT.isDisconnect(third, null), true);
        } finally {
          await POSTGRES_DIALECT.terminate(sql);
        }
      },
    );

    await t.step("terminate() cuts a busy connection at once", async () => {
      const sql = await connect();
      const pid = await backendPid(sql);
      const sleeping = sql`SELECT pg_sleep(30)`.execute();
      sleeping.catch(() => {});
      await waitFor(async () => {
        const [row] = await admin`
          SELECT state FROM pg_stat_activity WHERE pid = ${pid}`;
        return row?.state === "active";
      }, "the query to start");
      const started = performance.now();
      await POSTGRES_DIALECT.terminate(sql);
      const error = await rejection(sleeping);
      assert.ok(performance.now() - started < 5_000);
      assert.equal(
        POSTGRES_DIALECT.isDisconnect(error, null),
        true,
        String(error),
      );
      assert.equal(await POSTGRES_DIALECT.ping(sql), false);
      await POSTGRES_DIALECT.terminate(sql); // idempotent
      await POSTGRES_DIALECT.close(sql);
    });

    await t.step("close() ends gracefully and is idempotent", async () => {
      const sql = await connect();
      const pid = await backendPid(sql);
      await POSTGRES_DIALECT.close(sql);
      await POSTGRES_DIALECT.close(sql);
      assert.equal(await POSTGRES_DIALECT.ping(sql), false);
      assert.equal(POSTGRES_DIALECT.isDisconnect(new Error("any"), sql), true);
      await waitFor(async () => {
        const [row] = await admin`
          SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ${pid}`;
        return row!.n === 0;
      }, "the backend to exit");
    });

    await t.step("over a Unix socket the status is tracked too", async () => {
      if (cluster.socketDir === null) return;
      const sql = await postgresCreator(undefined, {
        path: `${cluster.socketDir}/.s.PGSQL.${cluster.port}`,
        user: cluster.user,
        database: cluster.database,
      })();
      try {
        assert.equal(POSTGRES_DIALECT.inTransaction(sql), false);
        await sql`BEGIN`;
        assert.equal(POSTGRES_DIALECT.inTransaction(sql), true);
        await POSTGRES_DIALECT.rollback(sql);
        assert.equal(POSTGRES_DIALECT.inTransaction(sql), false);
      } finally {
        await POSTGRES_DIALECT.close(sql);
      }
    });

    await t.step(
      "with a socket of the user's, the status is unknown and ROLLBACK always runs, quietly",
      async () => {
        const sockets: net.Socket[] = [];
        const sql = await postgresCreator(cluster.url, {
          socket: () => {
            const socket = net.connect(cluster.port, cluster.host);
            sockets.push(socket);
            return socket;
          },
          onnotice: (notice) => notices.push(notice),
        } as postgres.Options<Record<string, postgres.PostgresType>>)();
        try {
          const pid = await backendPid(sql);
          assert.equal(POSTGRES_DIALECT.inTransaction(sql), undefined);
          notices.length = 0;
          await POSTGRES_DIALECT.rollback(sql);
          const statements = await loggedStatements(cluster, pid);
          assert.equal(statements.at(-1), "ROLLBACK");
          assert.equal(notices.length, 0); // the pool's own warning is dropped
          await sql.unsafe("ROLLBACK"); // the user's is not
          assert.equal(notices.length, 1);
          assert.equal(notices[0]!.code, "25P01");
          assert.equal(sockets.length, 1);
        } finally {
          await POSTGRES_DIALECT.close(sql);
        }
        assert.ok(sockets.every((socket) => socket.destroyed));
      },
    );

    await t.step(
      "the dialect on a reserved connection it did not create",
      async () => {
        const own = postgres(cluster.url, { max: 2, onnotice: () => {} });
        try {
          const reserved = await own.reserve();
          assert.equal(POSTGRES_DIALECT.inTransaction(reserved), undefined);
          await reserved`BEGIN`;
          await POSTGRES_DIALECT.rollback(reserved);
          assert.equal(await POSTGRES_DIALECT.ping(reserved), true);
          await POSTGRES_DIALECT.close(reserved); // = release()
        } finally {
          await own.end();
        }
      },
    );

    await t.step(
      "postgresCreator() rejects with a disconnect when nothing listens",
      async () => {
        const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        const { port } = listener.addr as Deno.NetAddr;
        listener.close();
        const error = await rejection(
          postgresCreator(`postgres://nobody:x@127.0.0.1:${port}/nothing`, {
            connect_timeout: 5,
          })(),
        );
        assert.equal(
          POSTGRES_DIALECT.isDisconnect(error, null),
          true,
          String(error),
        );
      },
    );

    await t.step(
      "array columns are parsed, as with postgres.js's own type lookup; with fetch_types false, by URL or option, a connection is still made and arrays stay text",
      async () => {
        const sql = await connect();
        try {
          const [row] = await sql`
            SELECT ARRAY[1, 2, 3]::int4[] AS ints, ARRAY['a', 'b"c']::text[] AS texts,
                   ARRAY[[true, false]]::bool[] AS nested`;
          assert.deepEqual(row!.ints, [1, 2, 3]);
          assert.deepEqual(row!.texts, ["a", 'b"c']);
          assert.deepEqual(row!.nested, [[true, false]]);
          const [echo] = await sql`SELECT ${sql.array([4, 5])}::int4[] AS back`;
          assert.deepEqual(echo!.back, [4, 5]);
        } finally {
          await POSTGRES_DIALECT.close(sql);
        }
        const query = `${
          cluster.url.includes("?") ? "&" : "?"
        }fetch_types=false`;
        const creators = [
          postgresCreator(`${cluster.url}${query}`, { "connect_timeout": 10 }),
          postgresCreator(cluster.url, {
            "connect_timeout": 10,
            "fetch_types": false,
          }),
        ];
        for (const create of creators) {
          const sql = await within(
            create(),
            15_000,
            "a connection with fetch_types false",
          );
          try {
            const [row] = await sql`SELECT ARRAY[1, 2]::int4[] AS ints`;
            assert.equal(row!.ints, "{1,2}"); // as plain postgres.js gives them
          } finally {
            await POSTGRES_DIALECT.close(sql);
          }
        }
      },
    );

    await t.step(
      "isBusy() is true while a query is outstanding and false once it is answered",
      async () => {
        const sql = await connect();
        try {
          assert.equal(POSTGRES_DIALECT.isBusy(sql), false);
          const pid = await backendPid(sql);
          assert.equal(POSTGRES_DIALECT.isBusy(sql), false);

          const sleeping = sql`SELECT pg_sleep(0.3)`.execute();
          await waitFor(
            async () => (await stateOf(admin, pid)) === "active",
            "the query to start",
          );
          assert.equal(POSTGRES_DIALECT.isBusy(sql), true);
          await sleeping;
          assert.equal(POSTGRES_DIALECT.isBusy(sql), false);

          // A query queued behind a running one counts until it is answered.
          const first = sql`SELECT pg_sleep(0.3)`.execute();
          const second = sql`SELECT 2 AS two`.execute();
          await waitFor(
            async () => (await stateOf(admin, pid)) === "active",
            "the first query to start",
          );
          assert.equal(POSTGRES_DIALECT.isBusy(sql), true);
          await Promise.all([first, second]);
          assert.equal(POSTGRES_DIALECT.isBusy(sql), false);

          // A failed query is answered too.
          await rejection(sql`SELECT * FROM no_such_table`);
          assert.equal(POSTGRES_DIALECT.isBusy(sql), false);

          // A cursor runs until it is read to the end.
          let batches = 0;
          for await (
            const _rows of sql`SELECT generate_series(1, 3) AS n`.cursor(1)
          ) {
            batches++;
            assert.equal(POSTGRES_DIALECT.isBusy(sql), true);
          }
          assert.equal(batches, 3);
          assert.equal(POSTGRES_DIALECT.isBusy(sql), false);

          // A COPY is in progress until the server has answered its end.
          await sql`CREATE TEMP TABLE copied (n int)`;
          const sink = await sql`COPY copied FROM STDIN`.writable();
          assert.equal(POSTGRES_DIALECT.isBusy(sql), true);
          sink.write("1\n2\n");
          await new Promise<void>((resolve, reject) =>
            sink.end((error?: Error | null) =>
              error ? reject(error) : resolve()
            )
          );
          await waitFor(
            () => !POSTGRES_DIALECT.isBusy(sql),
            "the end of COPY FROM to be answered",
          );
          const [row] = await sql`SELECT count(*)::int AS n FROM copied`;
          assert.equal(row!.n, 2);
          assert.equal(POSTGRES_DIALECT.isBusy(sql), false);
        } finally {
          await POSTGRES_DIALECT.close(sql);
        }
      },
    );

    await t.step(
      "isClosed() is false on a healthy connection and true once the driver sees its backend terminated",
      async () => {
        let sawClose!: () => void;
        const closed = new Promise<void>((resolve) => sawClose = resolve);
        const sql = await postgresCreator(cluster.url, {
          "connect_timeout": 10,
          onnotice: () => {},
          onclose: () => sawClose(),
        })();
        try {
          assert.equal(POSTGRES_DIALECT.isClosed(sql), false);
          const pid = await backendPid(sql);
          await sql`SELECT 1`;
          assert.equal(POSTGRES_DIALECT.isClosed(sql), false);
          await admin`SELECT pg_terminate_backend(${pid})`;
          await within(closed, 10_000, "the driver to see the session end");
          assert.equal(POSTGRES_DIALECT.isClosed(sql), true);
          assert.equal(POSTGRES_DIALECT.isBusy(sql), false);
        } finally {
          await POSTGRES_DIALECT.terminate(sql);
        }
        assert.equal(POSTGRES_DIALECT.isClosed(sql), true);

        const other = await connect();
        assert.equal(POSTGRES_DIALECT.isClosed(other), false);
        await POSTGRES_DIALECT.close(other);
        assert.equal(POSTGRES_DIALECT.isClosed(other), true);
      },
    );

    if (!cluster.external) {
      await t.step(
        "a server restart: idle connections report the disconnect",
        async () => {
          const sql = await connect();
          try {
            await cluster.restart();
            await waitFor(
              () => POSTGRES_DIALECT.isDisconnect(new Error("probe"), sql),
              "the connection to notice the restart",
            );
            assert.equal(await POSTGRES_DIALECT.ping(sql), false);
            const fresh = await connect();
            assert.equal(await POSTGRES_DIALECT.ping(fresh), true);
            await POSTGRES_DIALECT.close(fresh);
          } finally {
            await POSTGRES_DIALECT.terminate(sql);
          }
        },
      );
    }
  } finally {
    await admin.end({ timeout: 0 }).catch(() => {});
  }
});

Deno.test("postgresCreator() refuses malformed percent-encoding in the user or password with a TypeError that hides the password", () => {
  for (
    const url of [
      "postgres://us%zz:pa%zzss@127.0.0.1/db",
      "postgres://user:pa%zzss@127.0.0.1:5432/db",
      "postgres://us%zz:s3cret@127.0.0.1/db",
    ]
  ) {
    assert.throws(() => postgresCreator(url), (error: unknown) => {
      assert(error instanceof TypeError, String(error));
      assert.match(error.message, /invalid percent-encoding/);
      assert.match(error.message, /:\*\*\*@127\.0\.0\.1/);
      assert.doesNotMatch(error.message, /pa%zzss|s3cret/);
      return true;
    });
  }
});

Deno.test({
  name:
    "postgresCreator() refuses a connect_timeout that is neither a positive number of seconds nor 0",
  ...needs({ env: true }),
}, () => {
  const url = "postgres://user:secret@127.0.0.1/db";
  for (const value of [-1, Number.NaN, Infinity]) {
    assert.throws(
      () =>
        postgresCreator(url, {
          "connect_timeout": value as number,
        }),
      RangeError,
      String(value),
    );
  }
  assert.throws(
    () => postgresCreator(`${url}?connect_timeout=soon`),
    /"connect_timeout" must be a positive number of seconds, or 0 for no limit, received NaN/,
  );
  // postgres.js's "no limit" is accepted.
  for (const value of [0, null, false]) {
    postgresCreator(url, { "connect_timeout": value as number });
  }
  postgresCreator(`${url}?connect_timeout=0`);
});

Deno.test({
  name:
    "postgresCreator() passes connect_timeout to postgres.js: the one given, else 30 s",
  ...needs({ env: true }),
}, async () => {
  const seen: unknown[] = [];
  /** A socket factory that records postgres.js's options and fails. */
  const socket = (options: { connect_timeout?: unknown }): never => {
    seen.push(options.connect_timeout);
    throw Object.assign(new Error("no network here"), { code: "ECONNREFUSED" });
  };
  const url = "postgres://user:secret@127.0.0.1:1/db";
  const settings = { socket } as unknown as PostgresOptions;
  await rejection(postgresCreator(url, settings)());
  await rejection(postgresCreator(`${url}?connect_timeout=7`, settings)());
  await rejection(
    postgresCreator(url, { ...settings, "connect_timeout": 3 })(),
  );
  await rejection(
    postgresCreator(url, { ...settings, "connect_timeout": 0 })(),
  );
  assert.deepEqual(seen, [
    Number(Deno.env.get("PGCONNECT_TIMEOUT") || 30),
    7,
    3,
    0,
  ]);
});
