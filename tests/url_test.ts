import assert from "node:assert/strict";
import { needs } from "../src/_test_permissions.ts";
import { QueuePool } from "../src/queue_pool.ts";
import { createPoolFromUrl, redactUrl } from "../src/url.ts";
import { PG_CLUSTER_NEEDS, startPgCluster } from "./_pg_cluster.ts";
import { inspectError, rejection } from "../src/_test_helpers.ts";
import { silentServer, within } from "./_pg_test_helpers.ts";

const QUIET = { debug() {}, info() {}, warn() {}, error() {} };

Deno.test({
  name: "createPoolFromUrl() against a live PostgreSQL",
  ...needs(PG_CLUSTER_NEEDS),
}, async (t) => {
  await using cluster = await startPgCluster();
  const password = cluster.password;
  // Literal-typed URLs, so that the overloads type the connections.
  const rest = cluster.url.replace(/^postgres:\/\//, "");
  const pgUrl = `postgres://${rest}` as const;

  await t.step("postgres:// round trips through node-postgres", async () => {
    await using pool = await createPoolFromUrl(pgUrl, {
      poolSize: 2,
      maxOverflow: 0,
      pg: { connectionTimeoutMillis: 10_000 },
    });
    assert.ok(pool instanceof QueuePool);
    assert.equal(String(pool), "AsyncAdaptedQueuePool(pg)");
    {
      await using conn = await pool.connect();
      const { rows } = await conn.driverConnection!.query("SELECT 1 AS one");
      assert.deepEqual(rows, [{ one: 1 }]);
      assert.equal(pool.checkedOut(), 1);
    }
    assert.equal(pool.checkedOut(), 0);
    assert.equal(pool.checkedIn(), 1);
    assert.ok(!pool.status().includes(password));
  });

  await t.step(
    "postgresql:// with ?driver=postgres uses postgres.js",
    async () => {
      const url =
        `postgresql://${rest}?driver=postgres&application_name=dbpool_url_test` as const;
      await using pool = await createPoolFromUrl(url, { poolSize: 2 });
      assert.equal(String(pool), "AsyncAdaptedQueuePool(postgres)");
      {
        await using conn = await pool.connect();
        const sql = conn.driverConnection!;
        const rows =
          await sql`SELECT 1 AS one, current_setting('application_name') AS app`;
        assert.deepEqual([...rows], [{ one: 1, app: "dbpool_url_test" }]);
      }
      assert.ok(pool instanceof QueuePool);
      assert.equal(pool.checkedOut(), 0);
      assert.equal(pool.checkedIn(), 1);
    },
  );

  await t.step(
    "a URL known only at run time, with the driver named, queries through that driver",
    async () => {
      const url: string = cluster.url; // as from Deno.env.get("DATABASE_URL")!
      {
        await using pool = await createPoolFromUrl(url, { driver: "pg" });
        await using conn = await pool.connect();
        const { rows } = await conn.driverConnection!.query<{ one: number }>(
          "SELECT 1 AS one",
        );
        assert.deepEqual(rows, [{ one: 1 }]);
      }
      {
        await using pool = await createPoolFromUrl(url, { driver: "postgres" });
        assert.equal(String(pool), "AsyncAdaptedQueuePool(postgres)");
        await using conn = await pool.connect();
        const rows = await conn.driverConnection!`SELECT 2 AS two`;
        assert.deepEqual([...rows], [{ two: 2 }]);
      }
    },
  );

  await t.step("a wrong password never shows in the error", async () => {
    for (const query of ["", "?driver=postgres"]) {
      const wrong = `wrong_${password}`;
      const url =
        `postgres://${cluster.user}:${wrong}@${cluster.host}:${cluster.port}/${cluster.database}${query}`;
      await using pool = await createPoolFromUrl(url, {
        logger: { debug() {}, info() {}, warn() {}, error() {} },
      });
      const error = await pool.connect().then(
        () => assert.fail("Expected connect() to fail"),
        (error: unknown) => error,
      );
      assert.match(inspectError(error), /password authentication failed/);
      assert.ok(!inspectError(error).includes(wrong), query);
      assert.ok(!inspectError(error).includes(password), query);
    }
  });

  await t.step(
    "the pool's connectTimeoutMs reaches node-postgres unless the pg options or the URL set one",
    async () => {
      const timeoutOf = async (
        url: `postgres://${string}`,
        options: Parameters<typeof createPoolFromUrl>[1],
      ): Promise<unknown> => {
        await using pool = await createPoolFromUrl(url, options);
        await using conn = await pool.connect();
        // node-postgres keeps the value it was given in a private field.
        return Reflect.get(conn.driverConnection!, "_connectionTimeoutMillis");
      };
      assert.equal(await timeoutOf(pgUrl, {}), 30_000);
      assert.equal(await timeoutOf(pgUrl, { connectTimeoutMs: 4_000 }), 4_000);
      assert.equal(await timeoutOf(pgUrl, { connectTimeoutMs: null }), 0);
      assert.equal(
        await timeoutOf(pgUrl, {
          connectTimeoutMs: 4_000,
          pg: { connectionTimeoutMillis: 6_000 },
        }),
        6_000,
      );
      assert.equal(
        await timeoutOf(`${pgUrl}?connect_timeout=7`, {
          connectTimeoutMs: 4_000,
        }),
        7_000,
      );
    },
  );

  await t.step("redactUrl() hides the cluster's password", () => {
    assert.ok(!redactUrl(cluster.url).includes(password));
    assert.match(redactUrl(cluster.url), /^postgres:\/\/dbpool:\*\*\*@/);
  });
});

Deno.test({
  name:
    "createPoolFromUrl() with connectTimeoutMs gives up on a PostgreSQL server that never answers",
  ...needs({ env: true, net: true }),
}, async (t) => {
  for (
    const [driver, query] of [["pg", ""], ["postgres", "?driver=postgres"]]
  ) {
    await t.step(
      `through ${driver}: the driver closes its socket`,
      async () => {
        await using server = silentServer();
        await using pool = await createPoolFromUrl(
          `postgres://nobody:s3cret@127.0.0.1:${server.port}/nothing${query}`,
          { connectTimeoutMs: 300, poolSize: 1, maxOverflow: 0, logger: QUIET },
        );
        const started = performance.now();
        const error = await rejection(
          within(pool.connect(), 10_000, "connect()"),
        );
        const elapsed = performance.now() - started;
        assert.ok(elapsed >= 295, `gave up after ${elapsed} ms`);
        assert.ok(elapsed < 5_000, `gave up after ${elapsed} ms`);
        assert.ok(!inspectError(error).includes("s3cret"));
        // The driver itself gave up too (its own default is 30 s or never).
        await within(server.hangUp, 5_000, "the driver closing its socket");
        assert.ok(pool instanceof QueuePool);
        assert.equal(pool.checkedOut(), 0);
      },
    );
  }
});
