import assert from "node:assert/strict";
import { needs } from "../src/_test_permissions.ts";
// @ts-types="npm:@types/pg@^8"
import pg from "npm:pg@^8";
import type { Dialect } from "../src/dialect.ts";
import {
  PG_DIALECT,
  type PgClient,
  pgCreator,
  type PgCreatorOptions,
} from "../src/pg.ts";
import { PG_CLUSTER_NEEDS, startPgCluster } from "./_pg_cluster.ts";
import {
  loggedStatements,
  readyForQueryProxy,
  silentServer,
  waitFor,
  within,
} from "./_pg_test_helpers.ts";
import { QueuePool } from "../src/queue_pool.ts";
import { rejection } from "../src/_test_helpers.ts";

async function backendPid(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ pid: number }>(
    "SELECT pg_backend_pid() AS pid",
  );
  return rows[0]!.pid;
}

/**
 * Resolves once node-postgres has read the ReadyForQuery that ends the last
 * query (after a query's error, it may still be on its way).
 */
async function readyForQuery(client: pg.Client): Promise<void> {
  if (Reflect.get(client, "readyForQuery") !== false) return;
  await new Promise<void>((resolve) => {
    client.connection.once("readyForQuery", () => resolve());
  });
}

Deno.test({
  name: "PgDialect against a live PostgreSQL",
  ...needs(PG_CLUSTER_NEEDS),
}, async (t) => {
  await using cluster = await startPgCluster({ logStatements: true });
  const connect = pgCreator({
    connectionString: cluster.url,
    connectionTimeoutMillis: 10_000,
  });
  const admin = await connect();
  await admin.query(
    "CREATE TABLE notes (id integer PRIMARY KEY, body text NOT NULL)",
  );
  await admin.query("INSERT INTO notes VALUES (1, 'first')");

  try {
    await t.step("PG_DIALECT is a Dialect<pg.Client>", () => {
      const dialect: Dialect<pg.Client> = PG_DIALECT;
      assert.equal(dialect.name, "pg");
    });

    await t.step(
      "pgCreator() connects a client that answers ping",
      async () => {
        const client = await connect();
        try {
          assert.ok(client instanceof pg.Client);
          assert.equal(await PG_DIALECT.ping(client), true);
          const { rows } = await client.query("SELECT 41 + 1 AS answer");
          assert.equal(rows[0].answer, 42);
        } finally {
          await PG_DIALECT.close(client);
        }
      },
    );

    await t.step(
      "inTransaction follows ReadyForQuery: idle, in a transaction, failed",
      async () => {
        const client = await connect();
        try {
          assert.equal(PG_DIALECT.inTransaction(client), false);
          await client.query("BEGIN");
          assert.equal(PG_DIALECT.inTransaction(client), true);
          await client.query("SELECT 1");
          assert.equal(PG_DIALECT.inTransaction(client), true);
          await rejection(client.query("SELECT * FROM no_such_table"));
          await readyForQuery(client); // the status after an error comes apart
          assert.equal(PG_DIALECT.inTransaction(client), true); // status E
          await PG_DIALECT.rollback(client);
          assert.equal(PG_DIALECT.inTransaction(client), false);
        } finally {
          await PG_DIALECT.close(client);
        }
      },
    );

    await t.step(
      "rollback() really rolls back and releases row locks",
      async () => {
        const writer = await connect();
        const other = await connect();
        try {
          await writer.query("BEGIN");
          await writer.query("INSERT INTO notes VALUES (2, 'uncommitted')");
          await writer.query("SELECT * FROM notes WHERE id = 1 FOR UPDATE");
          const invisible = await other.query(
            "SELECT count(*)::int AS n FROM notes",
          );
          assert.equal(invisible.rows[0].n, 1);
          const locked = await rejection(
            other.query("SELECT * FROM notes WHERE id = 1 FOR UPDATE NOWAIT"),
          );
          assert.equal((locked as { code?: string }).code, "55P03");
          assert.equal(PG_DIALECT.isDisconnect(locked, other), false);

          await PG_DIALECT.rollback(writer);
          assert.equal(PG_DIALECT.inTransaction(writer), false);
          await other.query("BEGIN");
          await other.query(
            "SELECT * FROM notes WHERE id = 1 FOR UPDATE NOWAIT",
          );
          await other.query("ROLLBACK");
          const after = await other.query(
            "SELECT count(*)::int AS n FROM notes",
          );
          assert.equal(after.rows[0].n, 1);
        } finally {
          await PG_DIALECT.close(writer);
          await PG_DIALECT.close(other);
        }
      },
    );

    await t.step(
      "rollback() and commit() send nothing on an idle client",
      async () => {
        const client = await connect();
        try {
          const pid = await backendPid(client);
          await PG_DIALECT.rollback(client);
          await PG_DIALECT.commit(client);
          await client.query("BEGIN");
          await PG_DIALECT.rollback(client);
          const statements = await loggedStatements(cluster, pid);
          assert.deepEqual(statements.slice(-2), ["BEGIN", "ROLLBACK"]);
          assert.equal(statements.filter((s) => s === "ROLLBACK").length, 1);
          assert.equal(statements.filter((s) => s === "COMMIT").length, 0);
        } finally {
          await PG_DIALECT.close(client);
        }
      },
    );

    await t.step("commit() commits", async () => {
      const client = await connect();
      try {
        await client.query("BEGIN");
        await client.query("INSERT INTO notes VALUES (3, 'committed')");
        await PG_DIALECT.commit(client);
        assert.equal(PG_DIALECT.inTransaction(client), false);
        const { rows } = await admin.query(
          "SELECT body FROM notes WHERE id = 3",
        );
        assert.equal(rows[0].body, "committed");
        await admin.query("DELETE FROM notes WHERE id = 3");
      } finally {
        await PG_DIALECT.close(client);
      }
    });

    await t.step(
      "isBusy() is true while a query is outstanding, false once it is answered",
      async () => {
        const client = await connect();
        try {
          assert.equal(PG_DIALECT.isBusy(client), false);
          const sleeping = client.query("SELECT pg_sleep(0.3)");
          assert.equal(PG_DIALECT.isBusy(client), true);
          await sleeping;
          assert.equal(PG_DIALECT.isBusy(client), false);

          // A BEGIN sent without awaiting it is outstanding too.
          const begun = client.query("BEGIN");
          assert.equal(PG_DIALECT.isBusy(client), true);
          await begun;
          assert.equal(PG_DIALECT.isBusy(client), false);
          assert.equal(PG_DIALECT.inTransaction(client), true);

          // Queued behind a running query: busy until the last one answers.
          let busyWhenFirstAnswered: boolean | undefined;
          const first = new Promise<void>((resolve, reject) => {
            client.query("SELECT pg_sleep(0.05)", (error: Error | null) => {
              // Called as its ReadyForQuery is read, before the next is sent.
              busyWhenFirstAnswered = PG_DIALECT.isBusy(client);
              if (error === null) resolve();
              else reject(error);
            });
          });
          const second = client.query("SELECT 2 AS two");
          assert.equal(PG_DIALECT.isBusy(client), true);
          await first;
          assert.equal(busyWhenFirstAnswered, true); // the second still queued
          await second;
          assert.equal(PG_DIALECT.isBusy(client), false);

          // A failed query is answered by its error.
          await rejection(client.query("SELECT * FROM no_such_table"));
          assert.equal(PG_DIALECT.isBusy(client), false);
          await PG_DIALECT.rollback(client);
          assert.equal(PG_DIALECT.isBusy(client), false);
        } finally {
          await PG_DIALECT.close(client);
        }
        assert.equal(PG_DIALECT.isBusy(client), false); // closed
      },
    );

    await t.step(
      "an error read before its ReadyForQuery: not busy, the transaction status unknown, so a return rolls back",
      async () => {
        await using proxy = readyForQueryProxy(cluster.port);
        const url = new URL(cluster.url);
        url.port = String(proxy.port);
        const viaProxy = pgCreator(url.href);
        // One simple-protocol query: BEGIN opens a transaction, the division
        // fails in it, and the ReadyForQuery after the error says "E".
        const failing = "BEGIN; SELECT 1/0";

        const client = await viaProxy();
        try {
          assert.equal(PG_DIALECT.inTransaction(client), false);
          const held = proxy.holdReadyAfterError();
          await rejection(client.query(failing));
          await held;
          assert.equal(PG_DIALECT.isBusy(client), false); // answered by its error
          // The last status seen ("I", before BEGIN) is stale: unknown.
          assert.equal(PG_DIALECT.inTransaction(client), undefined);
          const rolledBack = PG_DIALECT.rollback(client); // waits for the ReadyForQuery
          proxy.release();
          await rolledBack;
          assert.equal(PG_DIALECT.inTransaction(client), false);
          const { rows } = await client.query("SELECT 1 AS one");
          assert.equal(rows[0].one, 1);
        } finally {
          await PG_DIALECT.close(client);
        }

        // The same through a pool: the return rolls back, the next holder
        // is not left in the failed transaction.
        await using pool = new QueuePool(viaProxy, {
          dialect: PG_DIALECT,
          poolSize: 1,
          maxOverflow: 0,
        });
        let driver: PgClient;
        {
          const conn = await pool.connect();
          driver = conn.driverConnection!;
          const held = proxy.holdReadyAfterError();
          await rejection(driver.query(failing));
          await held;
          const returned = conn.close();
          proxy.release();
          await returned;
        }
        await using conn = await pool.connect();
        assert.equal(conn.driverConnection, driver);
        assert.equal(PG_DIALECT.inTransaction(driver), false);
        const { rows } = await driver.query("SELECT 2 AS two");
        assert.equal(rows[0].two, 2);
      },
    );

    await t.step(
      "isClosed() is true once the driver has seen its backend terminated",
      async () => {
        const client = await connect();
        const healthy = await connect();
        try {
          assert.equal(PG_DIALECT.isClosed(client), false);
          const pid = await backendPid(client);
          const ended = new Promise((resolve) => client.once("end", resolve));
          await admin.query("SELECT pg_terminate_backend($1)", [pid]);
          await ended; // node-postgres has seen the FATAL error and the EOF
          assert.equal(PG_DIALECT.isClosed(client), true);
          assert.equal(PG_DIALECT.isBusy(client), false);
          assert.equal(PG_DIALECT.isClosed(healthy), false);
          assert.equal(await PG_DIALECT.ping(healthy), true);
          assert.equal(PG_DIALECT.isClosed(healthy), false);
        } finally {
          await PG_DIALECT.terminate(client);
          await PG_DIALECT.close(healthy);
        }
        assert.equal(PG_DIALECT.isClosed(healthy), true); // ended by close()
      },
    );

    await t.step(
      "a backend killed while idle: the error is caught, ping is false",
      async () => {
        const client = await connect();
        try {
          const pid = await backendPid(client);
          await admin.query("SELECT pg_terminate_backend($1)", [pid]);
          // node-postgres emits "error" on the idle client; without the
          // creator's listener this would crash the test process.
          await waitFor(
            () => PG_DIALECT.isDisconnect(new Error("probe"), client),
            "the client to notice the disconnect",
          );
          assert.equal(await PG_DIALECT.ping(client), false);
          assert.equal(PG_DIALECT.inTransaction(client), undefined);
          const error = await rejection(client.query("SELECT 1"));
          assert.equal(PG_DIALECT.isDisconnect(error, client), true);
          assert.equal(PG_DIALECT.isDisconnect(error, null), true);
        } finally {
          await PG_DIALECT.terminate(client);
        }
      },
    );

    await t.step(
      "a backend killed during use: the query fails with a disconnect",
      async () => {
        const client = await connect();
        try {
          const pid = await backendPid(client);
          await client.query("BEGIN");
          const sleeping = client.query("SELECT pg_sleep(30)");
          sleeping.catch(() => {}); // awaited below; the rejection may come first
          await waitFor(async () => {
            const { rows } = await admin.query(
              "SELECT state FROM pg_stat_activity WHERE pid = $1",
              [pid],
            );
            return rows[0]?.state === "active";
          }, "the query to start");
          await admin.query("SELECT pg_terminate_backend($1)", [pid]);
          const error = await rejection(sleeping);
          assert.equal(
            PG_DIALECT.isDisconnect(error, null),
            true,
            String(error),
          );
          assert.equal(PG_DIALECT.isDisconnect(error, client), true);
          assert.equal(PG_DIALECT.isClosed(client), true);
          assert.equal(PG_DIALECT.isBusy(client), false); // its query failed
          assert.equal(await PG_DIALECT.ping(client), false);
          const rollbackError = await rejection(PG_DIALECT.rollback(client));
          assert.equal(PG_DIALECT.isDisconnect(rollbackError, client), true);
        } finally {
          await PG_DIALECT.terminate(client);
        }
      },
    );

    await t.step("terminate() cuts a busy client at once", async () => {
      const client = await connect();
      const sleeping = client.query("SELECT pg_sleep(30)");
      sleeping.catch(() => {});
      const started = performance.now();
      await PG_DIALECT.terminate(client);
      const error = await rejection(sleeping);
      assert.ok(performance.now() - started < 5_000);
      assert.equal(PG_DIALECT.isDisconnect(error, null), true, String(error));
      assert.equal(await PG_DIALECT.ping(client), false);
      await PG_DIALECT.terminate(client); // idempotent
      await PG_DIALECT.close(client);
    });

    await t.step("close() ends gracefully and is idempotent", async () => {
      const client = await connect();
      const pid = await backendPid(client);
      await PG_DIALECT.close(client);
      await PG_DIALECT.close(client);
      assert.equal(await PG_DIALECT.ping(client), false);
      assert.equal(PG_DIALECT.isDisconnect(new Error("any"), client), true);
      await waitFor(async () => {
        const { rows } = await admin.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1",
          [pid],
        );
        return rows[0].n === 0;
      }, "the backend to exit");
    });

    await t.step("the dialect tracks a client it did not create", async () => {
      const client = new pg.Client(cluster.url);
      await client.connect();
      try {
        assert.equal(PG_DIALECT.inTransaction(client), false);
        await client.query("BEGIN");
        assert.equal(PG_DIALECT.inTransaction(client), true);
        await PG_DIALECT.rollback(client);
        assert.equal(PG_DIALECT.inTransaction(client), false);
        assert.equal(await PG_DIALECT.ping(client), true);
      } finally {
        await PG_DIALECT.close(client);
      }
    });

    await t.step(
      "without getTransactionStatus() (older pg 8) the readyForQuery listener answers",
      async () => {
        const client = await connect();
        try {
          // Hide the method, as on pg releases that predate it.
          Object.defineProperty(client, "getTransactionStatus", {
            value: undefined,
          });
          await client.query("SELECT 1"); // the listener sees this ReadyForQuery
          assert.equal(PG_DIALECT.inTransaction(client), false);
          await client.query("BEGIN");
          assert.equal(PG_DIALECT.inTransaction(client), true);
          await PG_DIALECT.rollback(client);
          assert.equal(PG_DIALECT.inTransaction(client), false);
        } finally {
          await PG_DIALECT.close(client);
        }
      },
    );

    await t.step(
      "pgCreator() rejects with a disconnect when nothing listens",
      async () => {
        const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        const { port } = listener.addr as Deno.NetAddr;
        listener.close();
        const error = await rejection(
          pgCreator(`postgres://nobody:x@127.0.0.1:${port}/nothing`)(),
        );
        assert.equal(PG_DIALECT.isDisconnect(error, null), true, String(error));
      },
    );

    await t.step(
      "the driver's connect timeout: the config's, else the URL's connect_timeout, else options.connectTimeoutMs, else 30 s",
      async () => {
        // node-postgres keeps the value it was given in a private field.
        const timeoutOf = async (
          config: string | pg.ClientConfig,
          options?: PgCreatorOptions,
        ): Promise<unknown> => {
          const client = await pgCreator(config, options)();
          try {
            return Reflect.get(client, "_connectionTimeoutMillis");
          } finally {
            await PG_DIALECT.close(client);
          }
        };
        const url = cluster.url;
        assert.equal(await timeoutOf(url), 30_000);
        assert.equal(await timeoutOf({ connectionString: url }), 30_000);
        assert.equal(await timeoutOf(url, { connectTimeoutMs: 4_000 }), 4_000);
        assert.equal(await timeoutOf(url, { connectTimeoutMs: null }), 0);
        const withParam = `${url}?connect_timeout=7`;
        assert.equal(await timeoutOf(withParam), 7_000);
        assert.equal(
          await timeoutOf(withParam, { connectTimeoutMs: 4_000 }),
          7_000,
        );
        assert.equal(await timeoutOf(`${url}?connect_timeout=1`), 2_000);
        assert.equal(await timeoutOf(`${url}?connect_timeout=0`), 0);
        const own = { connectionString: withParam };
        assert.equal(
          await timeoutOf({ ...own, connectionTimeoutMillis: 6_000 }),
          6_000,
        );
        assert.equal(
          await timeoutOf({ ...own, connectionTimeoutMillis: 0 }, {
            connectTimeoutMs: 4_000,
          }),
          0,
        );
      },
    );

    await t.step({
      name: "a stopped postmaster: connecting gives up after the timeout",
      ignore: cluster.external, // needs the server's process
      fn: async () => {
        const pidFile = await Deno.readTextFile(
          `${cluster.dataDir}/postmaster.pid`,
        );
        const postmaster = Number(pidFile.split("\n")[0]);
        assert.ok(Number.isInteger(postmaster) && postmaster > 0, pidFile);
        Deno.kill(postmaster, "SIGSTOP");
        try {
          // The kernel still completes the TCP handshake; nobody answers.
          const started = performance.now();
          const error = await rejection(
            within(
              pgCreator(cluster.url, { connectTimeoutMs: 300 })(),
              10_000,
              "connecting to the stopped postmaster",
            ),
          );
          const elapsed = performance.now() - started;
          assert.match(String(error), /connection timeout/);
          assert.ok(elapsed >= 295, `gave up after ${elapsed} ms`);
          assert.ok(elapsed < 5_000, `gave up after ${elapsed} ms`);
          assert.equal(PG_DIALECT.isDisconnect(error, null), true);
          // Existing sessions have their own backend process and still work.
          await admin.query("SELECT 1");
        } finally {
          Deno.kill(postmaster, "SIGCONT");
        }
        const client = await connect();
        assert.equal(await PG_DIALECT.ping(client), true);
        await PG_DIALECT.close(client);
      },
    });

    if (!cluster.external) {
      await t.step(
        "a server restart: idle clients report the disconnect",
        async () => {
          const client = await connect();
          try {
            await cluster.restart();
            await waitFor(
              () => PG_DIALECT.isDisconnect(new Error("probe"), client),
              "the client to notice the restart",
            );
            assert.equal(await PG_DIALECT.ping(client), false);
            const fresh = await connect();
            assert.equal(await PG_DIALECT.ping(fresh), true);
            await PG_DIALECT.close(fresh);
          } finally {
            await PG_DIALECT.terminate(client);
          }
        },
      );
    }
  } finally {
    await PG_DIALECT.close(admin).catch(() => {});
  }
});

Deno.test({
  name: "pgCreator() gives up connecting to a server that never answers",
  ...needs({ env: true, net: true }),
}, async (t) => {
  const attempt = async (
    server: { port: number },
    config: (url: string) => string | pg.ClientConfig,
    options?: PgCreatorOptions,
  ): Promise<{ error: unknown; elapsed: number }> => {
    const url = `postgres://nobody:secret@127.0.0.1:${server.port}/nothing`;
    const started = performance.now();
    const error = await rejection(
      within(pgCreator(config(url), options)(), 10_000, "connecting"),
    );
    return { error, elapsed: performance.now() - started };
  };

  await t.step(
    "after options.connectTimeoutMs, closing its socket",
    async () => {
      await using server = silentServer();
      const { error, elapsed } = await attempt(server, (url) => url, {
        connectTimeoutMs: 300,
      });
      assert.equal(
        (error as Error).message,
        "Connection terminated due to connection timeout",
      );
      assert.equal(PG_DIALECT.isDisconnect(error, null), true);
      assert.ok(elapsed >= 295, `gave up after ${elapsed} ms`);
      assert.ok(elapsed < 5_000, `gave up after ${elapsed} ms`);
      assert.equal(server.accepted(), 1);
      await within(server.hangUp, 5_000, "the client closing its socket");
    },
  );

  await t.step(
    "after the config's connectionTimeoutMillis, which wins over options",
    async () => {
      await using server = silentServer();
      const { error, elapsed } = await attempt(
        server,
        (url) => ({ connectionString: url, connectionTimeoutMillis: 300 }),
        { connectTimeoutMs: 60_000 },
      );
      assert.equal(PG_DIALECT.isDisconnect(error, null), true);
      assert.ok(elapsed >= 295, `gave up after ${elapsed} ms`);
      assert.ok(elapsed < 5_000, `gave up after ${elapsed} ms`);
      await within(server.hangUp, 5_000, "the client closing its socket");
    },
  );

  await t.step(
    "options.connectTimeoutMs 0 fails at once instead of never",
    async () => {
      await using server = silentServer();
      const { error, elapsed } = await attempt(server, (url) => url, {
        connectTimeoutMs: 0,
      });
      assert.equal(PG_DIALECT.isDisconnect(error, null), true);
      assert.ok(elapsed < 5_000, `gave up after ${elapsed} ms`);
    },
  );

  await t.step("wrong options throw at once", () => {
    const url = "postgres://nobody@127.0.0.1:1/nothing";
    assert.throws(
      () => pgCreator(url, { connectTimeoutMs: -1 }),
      RangeError,
    );
    assert.throws(
      () => pgCreator(url, { connectTimeoutMs: Infinity }),
      RangeError,
    );
    assert.throws(
      () => pgCreator(url, { connectTimeoutMs: "5" as unknown as number }),
      TypeError,
    );
    assert.throws(
      () => pgCreator(url, { timeout: 5 } as PgCreatorOptions),
      /unknown option "timeout"/,
    );
    assert.throws(
      () => pgCreator(`${url}?connect_timeout=soon`),
      /"connect_timeout" in the connection string must be an integer/,
    );
  });
});
