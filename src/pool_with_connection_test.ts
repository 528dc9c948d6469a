/**
 * `pool.withConnection()` and the `handleError` event, on the fake driver:
 * the result and the return of the connection, and every branch of the
 * error path (a disconnect or not, the two flags a listener may change, a
 * listener that throws, an aborted checkout).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { HandleErrorContext } from "./events.ts";
import {
  type FakeConnection,
  FakeDisconnect,
  FakeDriver,
  recordingLogger,
} from "./_test_fake_driver.ts";
import { QueuePool } from "./queue_pool.ts";

function setup(): {
  driver: FakeDriver;
  pool: QueuePool<FakeConnection>;
  seen: HandleErrorContext<FakeConnection>[];
  lines: ReturnType<typeof recordingLogger>["lines"];
} {
  const driver = new FakeDriver();
  const { logger, lines } = recordingLogger();
  const pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    logger,
  });
  const seen: HandleErrorContext<FakeConnection>[] = [];
  return { driver, pool, seen, lines };
}

/** Two connections made and returned, so the pool holds two idle ones. */
async function twoIdle(pool: QueuePool<FakeConnection>): Promise<void> {
  const a = await pool.connect();
  const b = await pool.connect();
  await a.close();
  await b.close();
}

Deno.test("withConnection returns what the function returns and returns the connection", async () => {
  const { pool, seen } = setup();
  await using _pool = pool;
  pool.on("handleError", (context) => void seen.push(context));
  const id = await pool.withConnection(async (conn) => {
    await Promise.resolve();
    assert.equal(pool.stats().checkedOut, 1);
    return conn.dbapiConnection!.id;
  });
  assert.equal(id, 1);
  assert.deepEqual(
    [pool.stats().checkedOut, pool.stats().idle, pool.stats().checkouts],
    [0, 1, 1],
  );
  assert.equal(seen.length, 0);
});

Deno.test("withConnection: an ordinary error fires handleError, keeps the connection and is rethrown unchanged", async () => {
  const { pool, seen } = setup();
  await using _pool = pool;
  let sameConnection = false;
  pool.on("handleError", (context) => {
    seen.push(context);
    sameConnection = context.connection.isValid &&
      context.entry.dbapiConnection === context.connection.dbapiConnection;
  });
  const failure = new Error("syntax error");
  let used: unknown = null;
  const rejected = await pool.withConnection((conn) => {
    used = conn;
    throw failure;
  }).catch((error: unknown) => error);
  assert.equal(rejected, failure);
  assert.equal(seen.length, 1);
  const context = seen[0]!;
  assert.equal(context.error, failure);
  assert.equal(context.connection, used);
  assert.equal(sameConnection, true);
  assert.equal(context.isDisconnect, false);
  assert.equal(context.invalidatePoolOnDisconnect, true);
  assert.deepEqual(
    [pool.stats().idle, pool.stats().checkedOut, pool.stats().invalidations],
    [1, 0, 0],
  );
});

Deno.test("withConnection: a disconnect invalidates the connection and the pool, so the other idle connections are replaced", async () => {
  const { driver, pool, seen } = setup();
  await using _pool = pool;
  await twoIdle(pool);
  pool.on("handleError", (context) => void seen.push(context));
  await assert.rejects(
    pool.withConnection(() => Promise.reject(new FakeDisconnect())),
    FakeDisconnect,
  );
  assert.equal(seen[0]!.isDisconnect, true);
  assert.equal(driver.connections[0]!.open, false);
  assert.equal(pool.stats().invalidations, 1);
  await pool.withConnection(() => {});
  assert.equal(pool.stats().recycles, 1);
  assert.equal(driver.connections[1]!.open, false);
});

Deno.test("withConnection: invalidatePoolOnDisconnect = false invalidates only the failed connection", async () => {
  const { driver, pool } = setup();
  await using _pool = pool;
  await twoIdle(pool);
  pool.on("handleError", (context) => {
    context.invalidatePoolOnDisconnect = false;
  });
  await assert.rejects(
    pool.withConnection(() => {
      throw new FakeDisconnect();
    }),
    FakeDisconnect,
  );
  assert.equal(driver.connections[0]!.open, false);
  const id = await pool.withConnection((conn) => conn.dbapiConnection!.id);
  assert.equal(id, 2);
  assert.deepEqual(
    [pool.stats().invalidations, pool.stats().recycles, pool.stats().creates],
    [1, 0, 2],
  );
});

Deno.test("withConnection: a listener that clears isDisconnect keeps the connection", async () => {
  const { driver, pool } = setup();
  await using _pool = pool;
  pool.on("handleError", (context) => {
    context.isDisconnect = false;
  });
  await assert.rejects(
    pool.withConnection(() => {
      throw new FakeDisconnect();
    }),
    FakeDisconnect,
  );
  assert.equal(driver.connections[0]!.open, true);
  assert.deepEqual([pool.stats().idle, pool.stats().invalidations], [1, 0]);
});

Deno.test("withConnection: a listener that sets isDisconnect invalidates on an error the dialect does not know", async () => {
  const { driver, pool } = setup();
  await using _pool = pool;
  pool.on("handleError", async (context) => {
    await Promise.resolve();
    context.isDisconnect = true;
  });
  await assert.rejects(
    pool.withConnection(() => {
      throw new Error("proxy reset");
    }),
    { message: "proxy reset" },
  );
  assert.equal(driver.connections[0]!.open, false);
  assert.deepEqual([pool.stats().open, pool.stats().invalidations], [0, 1]);
});

Deno.test("withConnection: a handleError listener that throws is logged, its flags still apply, and the original error is rethrown", async () => {
  const { driver, pool, lines } = setup();
  await using _pool = pool;
  pool.on("handleError", (context) => {
    context.invalidatePoolOnDisconnect = false;
    throw new Error("listener broke");
  });
  const failure = new FakeDisconnect();
  const rejected = await pool.withConnection(() => {
    throw failure;
  }).catch((error: unknown) => error);
  assert.equal(rejected, failure);
  assert.ok(
    lines.some(({ level, line }) =>
      level === "error" && line.includes("handleError listener") &&
      line.includes("listener broke")
    ),
  );
  assert.equal(driver.connections[0]!.open, false);
  assert.equal(pool.stats().invalidations, 1);
});

Deno.test("withConnection with no handleError listener still invalidates on a disconnect", async () => {
  const { driver, pool } = setup();
  await using _pool = pool;
  await assert.rejects(
    pool.withConnection(() => {
      throw new FakeDisconnect();
    }),
    FakeDisconnect,
  );
  assert.equal(driver.connections[0]!.open, false);
  assert.deepEqual([pool.stats().checkedOut, pool.stats().open], [0, 0]);
});

Deno.test("withConnection: a function that invalidated its connection itself is not invalidated twice", async () => {
  const { pool, seen } = setup();
  await using _pool = pool;
  pool.on("handleError", (context) => void seen.push(context));
  await assert.rejects(
    pool.withConnection(async (conn) => {
      await conn.invalidate();
      throw new FakeDisconnect();
    }),
    FakeDisconnect,
  );
  assert.equal(seen[0]!.isDisconnect, true);
  assert.deepEqual(
    [pool.stats().invalidations, pool.stats().checkedOut],
    [1, 0],
  );
});

Deno.test("withConnection with an aborted signal rejects with its reason and never calls the function", async () => {
  const { pool } = setup();
  await using _pool = pool;
  let called = false;
  const reason = new Error("stop");
  await assert.rejects(
    pool.withConnection(() => {
      called = true;
    }, { signal: AbortSignal.abort(reason) }),
    (error) => error === reason,
  );
  assert.equal(called, false);
  assert.equal(pool.stats().aborts, 1);
});
