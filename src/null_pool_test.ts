/**
 * Tests of `NullPool`'s own behaviour (`src/null_pool.ts`). What it shares
 * with every pool class is in `pool_conformance_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { NullPool } from "../mod.ts";
import {
  closes,
  type FakeConnection,
  FakeDriver,
  recordingLogger,
  tracer,
} from "./_test_fake_driver.ts";
import { deferred } from "./_test_helpers.ts";

Deno.test("NullPool.connect() calls the creator for every checkout", async () => {
  const driver = new FakeDriver();
  await using pool = new NullPool(driver.creator, { dialect: driver.dialect });
  assert.equal(driver.counts.create, undefined);
  const first = await pool.connect();
  const c1 = first.dbapiConnection!;
  await first.close();
  const second = await pool.connect();
  assert.notEqual(second.dbapiConnection, c1);
  await second.close();
  assert.equal(driver.counts.create, 2);
  assert.equal(driver.connections.length, 2);
});

Deno.test("NullPool.connect() gives concurrent checkouts their own connections", async () => {
  const driver = new FakeDriver({ async: true });
  await using pool = new NullPool(driver.creator, { dialect: driver.dialect });
  const proxies = await Promise.all([
    pool.connect(),
    pool.connect(),
    pool.connect(),
  ]);
  const connections = new Set(proxies.map((p) => p.dbapiConnection));
  assert.equal(connections.size, 3);
  assert.equal(driver.counts.create, 3);
  await Promise.all(proxies.map((p) => p.close()));
  assert.equal(driver.openCount, 0);
  for (const c of driver.connections) assert.equal(closes(c), 1);
});

Deno.test("NullPool proxy.close() resets, checks in, then closes the driver connection", async () => {
  const driver = new FakeDriver();
  const trace = tracer(driver);
  await using pool = new NullPool(driver.creator, { dialect: trace.dialect });
  trace.watch(pool);
  const proxy = await pool.connect();
  const connection = proxy.dbapiConnection!;
  assert.equal(connection.open, true);
  await proxy.close();
  assert.deepEqual(trace.timeline, [
    "firstConnect#1",
    "connect#1",
    "checkout#1",
    "reset#1",
    "driver.rollback#1",
    "checkin#1",
    "close#1",
    "driver.close#1",
  ]);
  assert.equal(connection.open, false);
  assert.deepEqual(connection.calls, ["rollback", "close"]);
  assert.equal(proxy.dbapiConnection, null);
  assert.equal(proxy.isValid, false);
});

Deno.test("NullPool with prePing never pings: every connection is new", async () => {
  const driver = new FakeDriver();
  const { logger, lines } = recordingLogger();
  await using pool = new NullPool(driver.creator, {
    dialect: driver.dialect,
    prePing: true,
    echo: "debug",
    logger,
  });
  for (let i = 0; i < 3; i++) await (await pool.connect()).close();
  assert.equal(driver.counts.ping, undefined);
  assert.equal(
    lines.filter((l) => l.line.includes("is fresh, skipping pre-ping")).length,
    3,
  );
});

Deno.test("NullPool pool.invalidate() and recycleMs have nothing to act on", async () => {
  const driver = new FakeDriver();
  let now = 0;
  await using pool = new NullPool(driver.creator, {
    dialect: driver.dialect,
    recycleMs: 10,
    clock: () => now,
  });
  const held = await pool.connect();
  await pool.invalidate();
  now += 1_000;
  // Nothing is closed eagerly; the checked-out connection keeps working.
  assert.equal(held.dbapiConnection!.open, true);
  assert.equal(held.isValid, true);
  const other = await pool.connect();
  assert.notEqual(other.dbapiConnection, held.dbapiConnection);
  await other.close();
  await held.close();
  assert.equal(driver.counts.create, 2);
  for (const c of driver.connections) {
    assert.deepEqual(c.calls, ["rollback", "close"]);
  }
});

Deno.test("NullPool: a checkout aborted during a slow creator is closed once the creator finishes", async () => {
  const driver = new FakeDriver();
  const creating = deferred();
  driver.gate = creating.promise;
  await using pool = new NullPool(driver.creator, { dialect: driver.dialect });
  const closed = new Promise<void>((resolve) =>
    pool.on("close", () => resolve(), { once: true })
  );
  const controller = new AbortController();
  const reason = new Error("gave up");
  const pending = pool.connect({ signal: controller.signal });
  controller.abort(reason);
  await assert.rejects(pending, (error) => error === reason);
  driver.gate = null;
  creating.resolve();
  await closed;
  assert.equal(driver.connections.length, 1);
  assert.deepEqual(driver.connections[0]!.calls, ["rollback", "close"]);
});

Deno.test("NullPool accepts only the common options (poolSize is an unknown key)", () => {
  const driver = new FakeDriver();
  assert.throws(
    () =>
      new NullPool(
        driver.creator,
        { poolSize: 5 } as unknown as ConstructorParameters<
          typeof NullPool<FakeConnection>
        >[1],
      ),
    TypeError,
  );
});
