/**
 * `createPoolFromUrl(url, { driver })`: a URL known only at run time (a
 * `string`, as from `Deno.env.get("DATABASE_URL")!`) gives a pool typed for
 * the named driver, and a URL that selects another driver is refused.
 *
 * The type-level half is this file compiling (`deno check`, which
 * `deno task ok` and `deno test` run): the `_typed…` functions are never
 * called, and each `// @ts-expect-error` marks a line that must not
 * compile (an unused one is itself an error). No live database is needed:
 * a mismatch is refused before any driver is loaded, and a pool makes no
 * connection until its first checkout.
 */

import assert from "node:assert/strict";
import type { DatabaseSync } from "node:sqlite";
import type { Pool } from "../src/pool.ts";
import { QueuePool } from "../src/queue_pool.ts";
import { StaticPool } from "../src/static_pool.ts";
import type { PgClient } from "../src/pg.ts";
import type { PostgresReservedSql } from "../src/postgres.ts";
import { createPoolFromUrl, type PoolFromUrl } from "../src/url.ts";
import { inspectError, rejection } from "../src/_test_helpers.ts";
import { needs } from "../src/_test_permissions.ts";

/** `true` when `A` and `B` are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends
  (<T>() => T extends B ? 1 : 2) ? true : false;

/** Compiles only when `T` is `true`. */
function assertType<_T extends true>(): void {}

async function _typedByDriver(url: string): Promise<void> {
  assertType<
    Equal<ReturnType<typeof createPoolFromUrl>, Promise<PoolFromUrl>>
  >();
  const pg = createPoolFromUrl(url, { driver: "pg", poolSize: 2 });
  assertType<Equal<typeof pg, Promise<QueuePool<PgClient>>>>();
  const postgres = createPoolFromUrl(url, { driver: "postgres" });
  assertType<
    Equal<typeof postgres, Promise<QueuePool<PostgresReservedSql>>>
  >();
  const sqlite = createPoolFromUrl(url, { driver: "sqlite" });
  assertType<Equal<typeof sqlite, Promise<Pool<DatabaseSync>>>>();
  const unnamed = createPoolFromUrl(url, { poolSize: 2 });
  assertType<Equal<typeof unnamed, Promise<PoolFromUrl>>>();
  // A literal URL that names a driver is typed by it, with or without the option.
  const literal = createPoolFromUrl("postgres://db/app", {
    driver: "postgres",
  });
  assertType<Equal<typeof literal, Promise<QueuePool<PostgresReservedSql>>>>();
  const literalPg = createPoolFromUrl("postgres://db/app");
  assertType<Equal<typeof literalPg, Promise<QueuePool<PgClient>>>>();
  await Promise.allSettled([pg, postgres, sqlite, unnamed, literal, literalPg]);
}

async function _driverApiWithoutNarrowing(url: string): Promise<unknown[]> {
  await using pg = await createPoolFromUrl(url, { driver: "pg" });
  await using client = await pg.connect();
  const { rows } = await client.driverConnection!.query<{ one: number }>(
    "SELECT 1 AS one",
  );
  await using postgres = await createPoolFromUrl(url, { driver: "postgres" });
  await using sql = await postgres.connect();
  const [row] = await sql.driverConnection!<{ one: number }[]>`SELECT 1 AS one`;
  await using sqlite = await createPoolFromUrl(url, { driver: "sqlite" });
  await using db = await sqlite.connect();
  const one = db.driverConnection!.prepare("SELECT 1 AS one").get();
  return [rows[0]?.one, row?.one, one];
}

async function _refusedByTheCompiler(url: string): Promise<void> {
  {
    await using pool = await createPoolFromUrl(url);
    await using conn = await pool.connect();
    // @ts-expect-error: without a driver, the connection is a union of three drivers' types
    await conn.driverConnection!.query("SELECT 1");
  }
  // @ts-expect-error: not a driver's name
  await createPoolFromUrl(url, { driver: "mysql" });
  // @ts-expect-error: a pg pool is not a postgres.js pool
  const _wrong: QueuePool<PostgresReservedSql> = await createPoolFromUrl(url, {
    driver: "pg",
  });
  await using sqlite = await createPoolFromUrl(url, { driver: "sqlite" });
  // @ts-expect-error: a sqlite pool may be a StaticPool (sqlite::memory:)
  const _queue: QueuePool<DatabaseSync> = sqlite;
}

Deno.test("createPoolFromUrl() refuses a URL that selects another driver than the driver option, without its password", async () => {
  const cases: [string, "pg" | "postgres" | "sqlite", string][] = [
    ["sqlite::memory:", "pg", `"sqlite" (scheme "sqlite")`],
    ["sqlite:///tmp/app.db", "postgres", `"sqlite" (scheme "sqlite")`],
    ["file:///tmp/app.db", "pg", `"sqlite" (scheme "file")`],
    ["/tmp/app.db", "postgres", `"sqlite" (a file path)`],
    [
      "postgres://app:hunter2@db/app",
      "sqlite",
      `"pg" or "postgres" (scheme "postgres")`,
    ],
    [
      "postgres://app:hunter2@db/app?sslmode=disable&driver=postgres",
      "pg",
      `"postgres" (its "driver" query parameter)`,
    ],
    [
      "postgresql://app:hunter2@db/app?driver=pg",
      "postgres",
      `"pg" (its "driver" query parameter)`,
    ],
  ];
  for (const [url, driver, selects] of cases) {
    const error = await rejection(createPoolFromUrl(url, { driver }));
    assert.ok(error instanceof TypeError, `${url}: ${error}`);
    assert.equal(
      error.message,
      `Cannot create pool from URL: option "driver" is "${driver}", but the URL selects ${selects}`,
    );
    assert.ok(!inspectError(error).includes("hunter2"), url);
  }
});

Deno.test("createPoolFromUrl() refuses a driver option that names no driver", async () => {
  for (
    const [driver, received] of [
      ["mysql", `"mysql"`],
      ["PG", `"PG"`],
      [1, "number"],
      [null, "null"],
    ] as const
  ) {
    await assert.rejects(
      createPoolFromUrl("postgres://db/app", {
        driver: driver as unknown as "pg",
      }),
      {
        name: "TypeError",
        message:
          `Cannot create pool from URL: "driver" must be "pg", "postgres" or "sqlite", received ${received}`,
      },
    );
  }
});

Deno.test({
  name:
    "createPoolFromUrl() opens the driver option's adapter when the URL agrees or does not say",
  ...needs({ env: true }), // postgres.js reads its PG* variables
}, async () => {
  const url: string = "postgres://app:secret@127.0.0.1:1/app";
  const cases: [string, "pg" | "postgres", string][] = [
    [url, "pg", "AsyncAdaptedQueuePool(pg)"],
    [url, "postgres", "AsyncAdaptedQueuePool(postgres)"],
    [`${url}?driver=pg`, "pg", "AsyncAdaptedQueuePool(pg)"],
    [`${url}?driver=postgres`, "postgres", "AsyncAdaptedQueuePool(postgres)"],
  ];
  for (const [text, driver, shown] of cases) {
    await using pool = await createPoolFromUrl(text, { driver, poolSize: 2 });
    assert.ok(pool instanceof QueuePool, text);
    assert.equal(String(pool), shown, `${text} with driver ${driver}`);
  }
  const memory: string = "sqlite::memory:";
  await using sqlite = await createPoolFromUrl(memory, { driver: "sqlite" });
  assert.ok(sqlite instanceof StaticPool);
  await using conn = await sqlite.connect();
  const row = conn.driverConnection!.prepare("SELECT 2 AS two").get();
  assert.equal(row?.two, 2);
});
