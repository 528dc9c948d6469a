/**
 * Tests of `StaticPool`'s own behaviour (`src/static_pool.ts`). What it
 * shares with every pool class is in `pool_conformance_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { StaticPool } from "../mod.ts";
import {
  closes,
  FakeClock,
  FakeDriver,
  recordEvents,
  tracer,
} from "./_test_fake_driver.ts";
import { deferred, withoutJitter } from "./_test_helpers.ts";

Deno.test("StaticPool calls the creator once and gives every checkout the same connection", async () => {
  const driver = new FakeDriver();
  await using pool = new StaticPool(driver.creator, {
    dialect: driver.dialect,
  });
  assert.equal(driver.counts.create, undefined);
  const a = await pool.connect();
  const b = await pool.connect();
  assert.notEqual(a, b);
  assert.equal(a.dbapiConnection, b.dbapiConnection);
  await a.close();
  await b.close();
  const c = await pool.connect();
  assert.equal(c.dbapiConnection, driver.connections[0]);
  await c.close();
  assert.equal(driver.counts.create, 1);
});

Deno.test("StaticPool concurrent first checkouts share one creator call", async () => {
  const driver = new FakeDriver();
  const gate = deferred();
  driver.gate = gate.promise;
  await using pool = new StaticPool(driver.creator, {
    dialect: driver.dialect,
  });
  const recorded = recordEvents(pool);
  const pending = [pool.connect(), pool.connect(), pool.connect()];
  driver.gate = null;
  gate.resolve();
  const proxies = await Promise.all(pending);
  assert.equal(driver.counts.create, 1);
  for (const proxy of proxies) {
    assert.equal(proxy.dbapiConnection, driver.connections[0]);
  }
  assert.equal(new Set(proxies).size, 3);
  assert.deepEqual(
    recorded.names().filter((n) => n.startsWith("connect")),
    ["connect#1"],
  );
  assert.deepEqual(
    recorded.names().filter((n) => n.startsWith("checkout")),
    ["checkout#1", "checkout#1", "checkout#1"],
  );
  await Promise.all(proxies.map((p) => p.close()));
});

Deno.test("StaticPool proxy.close() resets and checks in but does not close the connection", async () => {
  const driver = new FakeDriver();
  const trace = tracer(driver);
  await using pool = new StaticPool(driver.creator, { dialect: trace.dialect });
  const a = await pool.connect();
  const b = await pool.connect();
  trace.watch(pool);
  await a.close();
  await b.close();
  assert.deepEqual(trace.timeline, [
    "reset#1",
    "driver.rollback#1",
    "checkin#1",
    "reset#1",
    "driver.rollback#1",
    "checkin#1",
  ]);
  assert.equal(driver.connections[0]!.open, true);
});

Deno.test("StaticPool.dispose() closes an unused connection, and the next connect() makes a new one", async () => {
  const driver = new FakeDriver();
  const trace = tracer(driver);
  await using pool = new StaticPool(driver.creator, { dialect: trace.dialect });
  await (await pool.connect()).close();
  trace.watch(pool);
  trace.timeline.length = 0;
  await pool.dispose();
  assert.deepEqual(trace.timeline, ["close#1", "driver.close#1"]);
  const proxy = await pool.connect();
  assert.equal(proxy.dbapiConnection, driver.connections[1]);
  await proxy.close();
  assert.equal(closes(driver.connections[0]!), 1);
  assert.equal(driver.connections[1]!.open, true);
  await pool.dispose();
  assert.equal(closes(driver.connections[1]!), 1);
  await pool.dispose();
  assert.equal(driver.counts.create, 2);
});

Deno.test("StaticPool.dispose() with proxies out closes the connection when the last one returns", async () => {
  const driver = new FakeDriver();
  const trace = tracer(driver);
  await using pool = new StaticPool(driver.creator, { dialect: trace.dialect });
  const a = await pool.connect();
  const b = await pool.connect();
  const old = a.dbapiConnection!;
  trace.watch(pool);
  await pool.dispose();
  assert.equal(trace.timeline.length, 0);
  assert.equal(old.open, true);
  assert.equal(a.isValid, true);
  // A checkout after dispose() gets a new connection while the old one is still in use.
  const c = await pool.connect();
  assert.notEqual(c.dbapiConnection, old);
  await a.close();
  assert.equal(old.open, true);
  await b.close();
  assert.equal(closes(old), 1);
  assert.deepEqual(trace.timeline.filter((t) => t.endsWith("#1")), [
    "reset#1",
    "driver.rollback#1",
    "checkin#1",
    "reset#1",
    "driver.rollback#1",
    "checkin#1",
    "close#1",
    "driver.close#1",
  ]);
  await c.close();
  assert.equal(c.dbapiConnection, null);
  assert.equal(driver.connections[1]!.open, true);
  assert.equal(closes(old), 1);
});

Deno.test("StaticPool after a hard invalidation gives the next checkout a new connection", async () => {
  const driver = new FakeDriver();
  await using pool = new StaticPool(driver.creator, {
    dialect: driver.dialect,
  });
  const a = await pool.connect();
  const b = await pool.connect();
  const old = a.dbapiConnection!;
  await a.invalidate();
  assert.deepEqual(old.calls, ["terminate"]);
  const c = await pool.connect();
  assert.notEqual(c.dbapiConnection, old);
  assert.equal(c.dbapiConnection, driver.connections[1]);
  await b.close();
  await c.close();
  const d = await pool.connect();
  assert.equal(d.dbapiConnection, driver.connections[1]);
  await d.close();
  assert.equal(closes(old), 1);
  assert.equal(driver.connections[1]!.open, true);
  assert.equal(driver.counts.create, 2);
});

Deno.test("StaticPool after a soft invalidation replaces the connection and closes the old one once unused", async () => {
  const driver = new FakeDriver();
  const trace = tracer(driver);
  await using pool = new StaticPool(driver.creator, { dialect: trace.dialect });
  const a = await pool.connect();
  const old = a.dbapiConnection!;
  a.recordInfo!.set("slot", "old");
  await a.invalidate(undefined, { soft: true });
  assert.equal(a.isValid, true);
  trace.watch(pool);
  const b = await pool.connect();
  assert.notEqual(b.dbapiConnection, old);
  assert.equal(b.recordInfo!.has("slot"), false, "a new entry");
  assert.equal(old.open, true, "still used by the first proxy");
  assert.equal(a.dbapiConnection, old);
  await a.close();
  assert.equal(closes(old), 1);
  assert.deepEqual(trace.timeline.filter((t) => t.endsWith("#1")), [
    "reset#1",
    "driver.rollback#1",
    "checkin#1",
    "close#1",
    "driver.close#1",
  ]);
  await b.close();
  assert.equal(driver.connections[1]!.open, true);
  assert.equal(closes(old), 1);
});

Deno.test("StaticPool after a soft invalidation of an unused connection closes it at the next checkout", async () => {
  const driver = new FakeDriver();
  await using pool = new StaticPool(driver.creator, {
    dialect: driver.dialect,
  });
  const a = await pool.connect();
  const old = a.dbapiConnection!;
  await a.invalidate(undefined, { soft: true });
  await a.close();
  assert.equal(old.open, true);
  const b = await pool.connect();
  assert.equal(b.dbapiConnection, driver.connections[1]);
  assert.equal(closes(old), 1);
  await b.close();
  assert.equal(closes(old), 1);
});

Deno.test("StaticPool after pool.invalidate() replaces the connection and closes the old one once unused", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new StaticPool(driver.creator, {
    dialect: driver.dialect,
    clock: clock.fn,
  });
  const a = await pool.connect();
  const old = a.dbapiConnection!;
  await pool.invalidate();
  assert.equal(old.open, true, "pool-wide invalidation is lazy");
  const b = await pool.connect();
  assert.notEqual(b.dbapiConnection, old);
  assert.equal(old.open, true);
  await a.close();
  assert.equal(closes(old), 1);
  // The new connection was made after the invalidation: kept.
  await b.close();
  const c = await pool.connect();
  assert.equal(c.dbapiConnection, driver.connections[1]);
  await c.close();
  assert.equal(driver.counts.create, 2);
});

Deno.test("StaticPool.invalidate(proxy) closes the shared connection and the next checkout gets a new one", async () => {
  const driver = new FakeDriver();
  await using pool = new StaticPool(driver.creator, {
    dialect: driver.dialect,
  });
  const a = await pool.connect();
  const old = a.dbapiConnection!;
  await pool.invalidate(a, new Error("broken"));
  assert.equal(a.isValid, false);
  assert.equal(closes(old), 1);
  const b = await pool.connect();
  assert.equal(b.dbapiConnection, driver.connections[1]);
  await b.close();
  assert.equal(closes(old), 1);
});

Deno.test("StaticPool recycles an old connection at checkout and closes it once unused", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = withoutJitter(
    new StaticPool(driver.creator, {
      dialect: driver.dialect,
      clock: clock.fn,
      recycleMs: 100,
    }),
  );
  const a = await pool.connect();
  const old = a.dbapiConnection!;
  clock.advance(100);
  const b = await pool.connect();
  assert.equal(b.dbapiConnection, old, "an age equal to recycleMs is kept");
  clock.advance(1);
  const c = await pool.connect();
  assert.notEqual(c.dbapiConnection, old);
  assert.equal(old.open, true);
  await a.close();
  assert.equal(old.open, true);
  await b.close();
  assert.equal(closes(old), 1);
  await c.close();
  assert.equal(driver.counts.create, 2);
});

Deno.test("StaticPool: a creator failure rejects every checkout waiting on it, and the next connect() retries", async () => {
  const driver = new FakeDriver();
  const gate = deferred();
  driver.gate = gate.promise;
  await using pool = new StaticPool(driver.creator, {
    dialect: driver.dialect,
  });
  const failure = new Error("refused");
  driver.failNext.push(failure);
  const first = pool.connect();
  const second = pool.connect();
  driver.gate = null;
  gate.resolve();
  await assert.rejects(first, (error) => error === failure);
  await assert.rejects(second, (error) => error === failure);
  assert.equal(driver.counts.create, 1);
  const proxy = await pool.connect();
  assert.equal(proxy.dbapiConnection, driver.connections[0]);
  await proxy.close();
  assert.equal(driver.counts.create, 2);
});

Deno.test("StaticPool: a checkout aborted during the creator still leaves the shared connection usable", async () => {
  const driver = new FakeDriver();
  const gate = deferred();
  driver.gate = gate.promise;
  await using pool = new StaticPool(driver.creator, {
    dialect: driver.dialect,
  });
  const checkedIn = new Promise<void>((resolve) =>
    pool.on("checkin", () => resolve(), { once: true })
  );
  const controller = new AbortController();
  const reason = new Error("gave up");
  const aborted = pool.connect({ signal: controller.signal });
  const kept = pool.connect();
  controller.abort(reason);
  await assert.rejects(aborted, (error) => error === reason);
  driver.gate = null;
  gate.resolve();
  const proxy = await kept;
  await checkedIn; // the aborted checkout was returned in the background
  assert.equal(proxy.dbapiConnection, driver.connections[0]);
  assert.equal(driver.connections[0]!.open, true);
  await proxy.close();
  assert.equal(driver.counts.create, 1);
  assert.equal(driver.connections[0]!.open, true);
});

Deno.test("StaticPool: a close listener's error while retiring the replaced connection rejects that connect()", async () => {
  const driver = new FakeDriver();
  await using pool = new StaticPool(driver.creator, {
    dialect: driver.dialect,
  });
  const a = await pool.connect();
  const old = a.dbapiConnection!;
  await a.invalidate(undefined, { soft: true });
  await a.close();
  const failure = new Error("close listener failed");
  pool.on("close", () => {
    throw failure;
  }, { once: true });
  // The old connection is retired at this checkout: it is still closed, and
  // the listener's error rejects the call that triggered it (never unhandled).
  await assert.rejects(pool.connect(), (error) => error === failure);
  assert.equal(closes(old), 1);
  const b = await pool.connect();
  assert.equal(b.dbapiConnection, driver.connections[1]);
  await b.close();
  assert.equal(closes(old), 1);
  assert.equal(driver.openCount, 1);
});
