/**
 * Tests of the checked-out connection, `ProxiedConnection`
 * (`src/_proxied_connection.ts`, the `PoolProxiedConnection` interface of
 * `src/connection.ts`): what it exposes, `close()`, `isValid` and
 * `isDetached`, and `detach()` with the later close of a detached
 * connection. That `close()` twice returns the connection once is checked
 * for every pool class in `pool_conformance_test.ts`; what a return does to
 * the pool (reset, `checkin`) is in `pool_return_test.ts`; invalidation in
 * `pool_invalidation_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { QueuePool } from "../mod.ts";
import {
  entryTracking,
  type FakeConnection,
  fakeCreator,
  FakeDriver,
  recordEvents,
  recordingLogger,
  tracer,
} from "./_test_fake_driver.ts";

// --------------------------------------------------- The driver connection

Deno.test("QueuePool proxy exposes the driver connection and forwards no driver methods", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator);
  await using conn = await pool.connect();
  assert.equal(conn.dbapiConnection, driver.connections[0]);
  assert.equal(conn.dbapiConnection!.query("SELECT 1"), "SELECT 1");
  assert.equal("query" in conn, false);
  assert.equal("rollback" in conn, false);
  assert.equal("commit" in conn, false);
});

Deno.test("QueuePool driverConnection is dbapiConnection on entries and proxies, also detached", async () => {
  const driver = new FakeDriver();
  const { creator, entries } = entryTracking(driver.creator);
  await using pool = new QueuePool(creator);
  const conn = await pool.connect();
  const entry = entries[0]!;
  assert.equal(conn.driverConnection, driver.connections[0]);
  assert.equal(conn.driverConnection, conn.dbapiConnection);
  assert.equal(entry.driverConnection, entry.dbapiConnection);
  assert.equal(entry.driverConnection, driver.connections[0]);
  await conn.detach();
  assert.equal(conn.dbapiConnection, driver.connections[0]);
  assert.equal(conn.driverConnection, conn.dbapiConnection);
  assert.equal(entry.driverConnection, null);
  assert.equal(entry.dbapiConnection, null);
  await conn.close();
});

Deno.test("QueuePool entries and proxies have a read-only dbapiConnection", async () => {
  const driver = new FakeDriver();
  const tracked = entryTracking(driver.creator);
  await using pool = new QueuePool(tracked.creator, {
    dialect: driver.dialect,
  });
  await using proxy = await pool.connect();
  const entry = tracked.entries[0]!;
  const c1 = driver.connections[0]!;

  for (const target of [proxy, entry]) {
    assert.throws(() => {
      (target as { dbapiConnection: unknown }).dbapiConnection = null;
    }, TypeError);
    assert.throws(() => {
      (target as { driverConnection: unknown }).driverConnection = null;
    }, TypeError);
    assert.equal(target.dbapiConnection, c1);
    assert.equal(target.driverConnection, c1);
  }
});

Deno.test("QueuePool proxy.info is the entry's info map, empty for a new connection", async () => {
  const driver = new FakeDriver();
  const { creator, entries } = entryTracking(driver.creator);
  await using pool = new QueuePool(creator);
  await using conn = await pool.connect();
  assert.equal(conn.info, entries[0]!.info);
  assert.equal(conn.info.size, 0);
  assert.equal(conn.recordInfo, entries[0]!.recordInfo);
});

// -------------------------------------------- close(), isValid, isDetached

Deno.test("QueuePool proxy.close() keeps the driver connection open for the next checkout", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 1,
    maxOverflow: 0,
    dialect: driver.dialect,
  });
  const first = await pool.connect();
  const driverConnection = first.dbapiConnection!;
  await first.close();
  assert.equal(driver.counts.close, undefined);
  assert.equal(driverConnection.open, true);
  await using second = await pool.connect();
  assert.equal(second.dbapiConnection, driverConnection);
  assert.equal(driver.counts.create, 1);
});

Deno.test("QueuePool connection held with await using is returned when the scope ends", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, { dialect: driver.dialect });
  {
    await using conn = await pool.connect();
    assert(conn.isValid);
    assert.equal(pool.checkedOut(), 1);
  }
  assert.equal(pool.checkedOut(), 0);
  assert.equal(pool.checkedIn(), 1);
  assert.equal(driver.counts.rollback, 1);
  assert.equal(driver.connections[0]!.open, true);
});

Deno.test("QueuePool proxy isValid turns false after invalidate()", async () => {
  await using pool = new QueuePool(fakeCreator());
  const conn = await pool.connect();
  assert.equal(conn.isValid, true);
  await conn.invalidate();
  assert.equal(conn.isValid, false);
  assert.equal(conn.dbapiConnection, null);
  assert.equal(pool.checkedOut(), 0);
});

Deno.test("QueuePool proxy isDetached turns true after detach()", async () => {
  await using pool = new QueuePool(fakeCreator());
  const conn = await pool.connect();
  assert.equal(conn.isDetached, false);
  await conn.detach();
  assert.equal(conn.isDetached, true);
  assert.equal(conn.isValid, true);
  await conn.close();
});

// ---------------------------------------------------------------- detach()

Deno.test("detach() fires detach after detaching, no checkin; checkedOut() drops at once", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, { dialect: driver.dialect });
  const proxy = await pool.connect();
  const conn = proxy.dbapiConnection!;
  let entry: { readonly dbapiConnection: FakeConnection | null } | undefined;
  let seenInListener: unknown[] = [];
  pool.on("detach", (c, e) => {
    entry = e;
    seenInListener = [c, e.dbapiConnection, pool.checkedOut(), e.inUse];
  });
  const rec = recordEvents(pool);
  assert.equal(pool.checkedOut(), 1);
  await proxy.detach();
  assert.deepEqual(rec.names(), ["detach#1"]);
  assert.deepEqual(rec.events[0]!.args, [conn, entry]);
  // In the listener the detach had already happened.
  assert.deepEqual(seenInListener, [conn, null, 0, false]);
  assert.equal(pool.checkedOut(), 0);
  assert.equal(pool.checkedIn(), 1);
  assert.equal(entry!.dbapiConnection, null);
  assert.equal(proxy.isDetached, true);
  assert.equal(proxy.dbapiConnection, conn);
  assert.equal(proxy.driverConnection, conn);
  assert.equal(conn.open, true);
  assert.deepEqual(conn.calls, []);
  await proxy.close();
});

Deno.test("detach() a second time does nothing", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, { dialect: driver.dialect });
  const proxy = await pool.connect();
  const rec = recordEvents(pool);
  await proxy.detach();
  await proxy.detach();
  assert.deepEqual(rec.names(), ["detach#1"]);
  assert.equal(pool.checkedOut(), 0);
  assert.equal(pool.checkedIn(), 1);
  await proxy.close();
});

Deno.test("QueuePool detach() keeps a copy of info, drops recordInfo, leaves the entry's recordInfo", async () => {
  const driver = new FakeDriver();
  const { creator, entries } = entryTracking(driver.creator);
  await using pool = new QueuePool(creator, { poolSize: 1, maxOverflow: 0 });
  const conn = await pool.connect();
  conn.info.set("key", "value");
  conn.recordInfo!.set("slot", "A");
  await conn.detach();
  assert.equal(conn.info.get("key"), "value");
  assert.notEqual(conn.info, entries[0]!.info);
  assert.equal(conn.recordInfo, null);
  await using next = await pool.connect();
  assert.equal(entries.length, 2);
  assert.equal(entries[1], entries[0]);
  assert.equal(next.dbapiConnection, driver.connections[1]);
  assert.equal(next.info.size, 0);
  assert.equal(next.recordInfo!.get("slot"), "A");
  assert.equal(conn.info.get("key"), "value"); // the copy is the proxy's own
  await conn.close();
});

Deno.test("after detach() with poolSize 1, maxOverflow 0, connect() does not wait and gets a new connection on the same entry", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: 0, // waiting would throw PoolTimeoutError at once
  });
  const entries: unknown[] = [];
  pool.on("connect", (_c, e) => {
    entries.push(e);
  });
  const first = await pool.connect();
  const old = first.dbapiConnection!;
  await first.detach();
  await using second = await pool.connect();
  assert.notEqual(second.dbapiConnection, old);
  assert.equal(second.dbapiConnection, driver.connections[1]);
  assert.equal(entries.length, 2);
  assert.equal(entries[0], entries[1]);
  // The detached connection keeps working and no longer counts.
  assert.equal(old.open, true);
  assert.equal(old.query("SELECT 1"), "SELECT 1");
  assert.equal(pool.checkedOut(), 1);
  await first.close();
  assert.equal(old.open, false);
  assert.equal(pool.checkedOut(), 1);
});

Deno.test("a detach listener that throws: the detach completes, then detach() rejects", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, { dialect: driver.dialect });
  const failure = new Error("detach listener failed");
  pool.on("detach", () => {
    throw failure;
  });
  const proxy = await pool.connect();
  const conn = proxy.dbapiConnection!;
  await assert.rejects(proxy.detach(), (e) => e === failure);
  assert.equal(proxy.isDetached, true);
  assert.equal(pool.checkedOut(), 0);
  assert.equal(pool.checkedIn(), 1);
  await proxy.close();
  assert.equal(conn.open, false);
});

// ------------------------------------------- Closing a detached connection

Deno.test("closing a detached proxy: reset (terminateOnly) -> rollback -> closeDetached -> driver close, no close or checkin event", async () => {
  const driver = new FakeDriver();
  const trace = tracer(driver, { driverPrefix: "" });
  await using pool = new QueuePool(driver.creator, { dialect: trace.dialect });
  const proxy = await pool.connect();
  const conn = proxy.dbapiConnection!;
  await proxy.detach();
  trace.watch(pool);
  const rec = recordEvents(pool);
  await proxy.close();
  assert.deepEqual(trace.timeline, [
    "reset#1",
    "rollback#1",
    "closeDetached#1",
    "close#1",
  ]);
  assert.equal(rec.events.length, 2);
  assert.deepEqual(rec.events[0]!.args.slice(0, 1), [conn]);
  assert.deepEqual(rec.events[0]!.args[2], {
    transactionWasReset: false,
    terminateOnly: true,
    asyncioSafe: true,
  });
  assert.deepEqual(rec.events[1], { name: "closeDetached", args: [conn] });
  assert.equal(conn.open, false);
  assert.deepEqual(conn.calls, ["rollback", "close"]);
  assert.equal(pool.checkedIn(), 1);
  assert.equal(pool.checkedOut(), 0);
});

Deno.test("closing a detached proxy whose rollback throws: logged, closeDetached fires, the connection is terminated", async () => {
  const driver = new FakeDriver();
  const trace = tracer(driver, { driverPrefix: "" });
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: trace.dialect,
    logger,
  });
  const proxy = await pool.connect();
  await proxy.detach();
  trace.watch(pool);
  const failure = new Error("rollback failed");
  driver.failRollback = failure;
  await proxy.close();
  assert.deepEqual(trace.timeline, [
    "reset#1",
    "rollback#1",
    "closeDetached#1",
    "terminate#1",
  ]);
  assert.deepEqual(lines.map((l) => [l.level, l.line]), [
    ["error", "Exception during reset or similar"],
  ]);
  assert.equal(lines[0]!.context.error, failure);
  assert.equal(driver.connections[0]!.open, false);
});

Deno.test("a closeDetached listener that throws: the connection is still closed, then close() rejects", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, { dialect: driver.dialect });
  const failure = new Error("closeDetached listener failed");
  pool.on("closeDetached", () => {
    throw failure;
  });
  const proxy = await pool.connect();
  const conn = proxy.dbapiConnection!;
  await proxy.detach();
  await assert.rejects(proxy.close(), (e) => e === failure);
  assert.deepEqual(conn.calls, ["rollback", "close"]);
});

Deno.test("closing a detached connection with a query still running terminates it without a reset", async () => {
  const driver = new FakeDriver();
  const busy = new Set<FakeConnection>();
  const { logger } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: { ...driver.dialect, isBusy: (c) => busy.has(c) },
    logger,
  });
  const events = recordEvents(pool);
  const proxy = await pool.connect();
  await proxy.detach();
  busy.add(proxy.dbapiConnection!);
  await proxy.close();
  assert.deepEqual(proxy.dbapiConnection, null);
  assert.deepEqual(driver.connections[0]!.calls, ["terminate"]);
  const names = events.events.map((event) => event.name);
  assert(!names.includes("reset"));
  assert(names.includes("closeDetached"));
});

Deno.test("hard-invalidating a detached proxy fires closeDetached and terminates its connection", async () => {
  const driver = new FakeDriver();
  const trace = tracer(driver, { driverPrefix: "" });
  await using pool = new QueuePool(driver.creator, { dialect: trace.dialect });
  const proxy = await pool.connect();
  await proxy.detach();
  trace.watch(pool);
  await proxy.invalidate(new Error("gone"));
  await proxy.close();
  assert.deepEqual(trace.timeline, ["closeDetached#1", "terminate#1"]);
  assert.equal(proxy.isValid, false);
});
