/**
 * `idleTimeoutMs` on the pools whose connections stay where they are while
 * idle: `StaticPool`, `AssertionPool` and `SingletonContextPool` close a
 * connection left idle that long (with the `close` event), never one in
 * use, and the next checkout opens a new one.
 *
 * @module
 */

import assert from "node:assert/strict";
import { AssertionPool, StaticPool } from "../mod.ts";
import { SingletonContextPool } from "./singleton_context_pool.ts";
import {
  FakeClock,
  type FakeConnection,
  FakeDriver,
  recordingLogger,
} from "./_test_fake_driver.ts";
import type { Pool } from "./pool.ts";

/** Resolves once `condition()` holds, turning the event loop meanwhile (a bounded poll). */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let turn = 0; turn < 2_000; turn++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  assert.fail(`never came true: ${what}`);
}

/** The connections `pool` closes from now on, in order. */
function closes(pool: Pool<FakeConnection>): FakeConnection[] {
  const closed: FakeConnection[] = [];
  pool.on("close", (connection) => void closed.push(connection));
  return closed;
}

const CLASSES = [
  ["StaticPool", StaticPool],
  ["AssertionPool", AssertionPool],
  ["SingletonContextPool", SingletonContextPool],
] as const;

for (const [name, PoolClass] of CLASSES) {
  Deno.test(`${name} with idleTimeoutMs closes its connection idle that long, and the next checkout opens a new one`, async () => {
    const driver = new FakeDriver();
    const clock = new FakeClock();
    const { logger, lines } = recordingLogger();
    await using pool = new PoolClass(driver.creator, {
      dialect: driver.dialect,
      clock: clock.fn,
      idleTimeoutMs: 5,
      logger,
      echo: true,
    });
    const closed = closes(pool);
    const first = await pool.connect();
    const firstConnection = first.dbapiConnection!;
    await first.close();
    clock.advance(4);
    // Not yet: the connection is reused while it has been idle less long.
    const again = await pool.connect();
    assert.equal(again.dbapiConnection, firstConnection);
    await again.close();
    clock.advance(5);
    await until(() => closed.length === 1, "the idle connection's close");
    assert.equal(closed[0], firstConnection);
    assert.equal(firstConnection.open, false);
    assert.equal(pool.stats().open, 0);
    assert.ok(
      lines.some((line) =>
        /idle for 5 ms, longer than idleTimeoutMs; closing/.test(line.line)
      ),
    );
    const next = await pool.connect();
    assert.notEqual(next.dbapiConnection, firstConnection);
    assert.equal(pool.stats().creates, 2);
    await next.close();
  });

  Deno.test(`${name} without idleTimeoutMs keeps its idle connection`, async () => {
    const driver = new FakeDriver();
    await using pool = new PoolClass(driver.creator, {
      dialect: driver.dialect,
    });
    const first = await pool.connect();
    const firstConnection = first.dbapiConnection;
    await first.close();
    await using again = await pool.connect();
    assert.equal(again.dbapiConnection, firstConnection);
    assert.equal(pool.stats().creates, 1);
  });
}

Deno.test("SingletonContextPool with idleTimeoutMs closes the idle connection of one context, never the one another context holds", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new SingletonContextPool(driver.creator, {
    dialect: driver.dialect,
    clock: clock.fn,
    idleTimeoutMs: 5,
  });
  const closed = closes(pool);
  // Two async contexts: each gets its own connection.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => release = resolve);
  let heldConnection: FakeConnection | null = null;
  const holder = pool.run(async () => {
    const conn = await pool.connect();
    heldConnection = conn.dbapiConnection;
    await held;
    await conn.close();
  });
  const idleConnection = await pool.run(async () => {
    const conn = await pool.connect();
    const connection = conn.dbapiConnection!;
    await conn.close();
    return connection;
  });
  await until(() => heldConnection !== null, "the holder's checkout");
  assert.notEqual(heldConnection, idleConnection);
  clock.advance(50);
  await until(() => closed.length === 1, "the idle connection's close");
  assert.equal(closed[0], idleConnection);
  assert.equal(heldConnection!.open, true);
  release();
  await holder;
});

Deno.test("StaticPool with idleTimeoutMs closes the shared connection only once its last user returns it", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new StaticPool(driver.creator, {
    dialect: driver.dialect,
    clock: clock.fn,
    idleTimeoutMs: 5,
  });
  const closed = closes(pool);
  const a = await pool.connect();
  const b = await pool.connect();
  await a.close();
  clock.advance(10);
  const returnedAt = clock.now;
  await b.close();
  let closedAt = NaN;
  pool.on("close", () => void (closedAt = clock.now));
  clock.advance(5);
  await until(() => closed.length === 1, "the shared connection's close");
  assert.ok(closedAt >= returnedAt + 5, `${closedAt} < ${returnedAt + 5}`);
});
