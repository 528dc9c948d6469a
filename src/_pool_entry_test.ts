/**
 * Tests of the pool slot, `PoolEntry` (`src/_pool_entry.ts`, the
 * `ConnectionPoolEntry` interface of `src/connection.ts`): `inUse`, the
 * lifetimes of `info` (the driver connection's) and `recordInfo` (the
 * entry's), and the entry's own `close()` and `invalidate()`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { QueuePool } from "../mod.ts";
import type { Creator } from "./pool.ts";
import {
  assertEvents,
  entryTracking,
  FakeClock,
  type FakeConnection,
  fakeCreator,
  FakeDriver,
  type FakeEntry,
  recordEvents,
  recordingLogger,
} from "./_test_fake_driver.ts";

// ------------------------------------------------------------------- inUse

Deno.test("QueuePool entry.inUse is true only while checked out", async () => {
  const driver = new FakeDriver();
  const { creator, entries } = entryTracking(driver.creator);
  await using pool = new QueuePool(creator);
  const conn = await pool.connect();
  const entry = entries[0]!;
  assert.equal(entry.inUse, true);
  await conn.close();
  assert.equal(entry.inUse, false);
  const again = await pool.connect();
  assert.equal(entries.length, 1);
  assert.equal(entry.inUse, true);
  await again.close();
  assert.equal(entry.inUse, false);
});

// ----------------------------------------------------- info and recordInfo

Deno.test("QueuePool info keys survive until the next checkout of the same connection", async () => {
  await using pool = new QueuePool(fakeCreator(), { poolSize: 1 });
  const first = await pool.connect();
  first.info.set("key", "value");
  const driverConnection = first.dbapiConnection;
  await first.close();
  await using second = await pool.connect();
  assert.equal(second.dbapiConnection, driverConnection);
  assert.equal(second.info.get("key"), "value");
});

Deno.test("QueuePool info is empty after invalidate() and a new checkout on the same entry", async () => {
  const driver = new FakeDriver();
  const { creator, entries } = entryTracking(driver.creator);
  await using pool = new QueuePool(creator, { poolSize: 1, maxOverflow: 0 });
  const first = await pool.connect();
  first.info.set("key", "value");
  await first.invalidate();
  await using second = await pool.connect();
  assert.equal(entries.length, 2);
  assert.equal(entries[1], entries[0]); // same entry, reconnected
  assert.equal(second.dbapiConnection, driver.connections[1]);
  assert.equal(second.info.size, 0);
});

Deno.test("QueuePool info is empty after a recycle", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 1,
    recycleMs: 1_000,
    clock: clock.fn,
    dialect: driver.dialect,
  });
  const first = await pool.connect();
  first.info.set("key", "value");
  first.recordInfo!.set("slot", 1);
  await first.close();
  clock.advance(1_001);
  await using second = await pool.connect();
  assert.equal(second.dbapiConnection, driver.connections[1]);
  assert.equal(second.info.size, 0);
  assert.equal(second.recordInfo!.get("slot"), 1);
});

Deno.test("QueuePool info is empty after a pool-wide invalidation", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 1,
    clock: clock.fn,
  });
  const first = await pool.connect();
  first.info.set("key", "value");
  await first.close();
  await pool.invalidate();
  await using second = await pool.connect();
  assert.equal(second.dbapiConnection, driver.connections[1]);
  assert.equal(second.info.size, 0);
});

Deno.test("QueuePool info is empty after a soft invalidation and a new checkout", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 1,
    clock: clock.fn,
  });
  const first = await pool.connect();
  first.info.set("key", "value");
  await first.invalidate(undefined, { soft: true });
  assert.equal(first.info.get("key"), "value"); // still in use
  await first.close();
  await using second = await pool.connect();
  assert.equal(second.dbapiConnection, driver.connections[1]);
  assert.equal(second.info.size, 0);
});

Deno.test("QueuePool recordInfo keys survive invalidation and reconnect", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 1,
    maxOverflow: 0,
  });
  const first = await pool.connect();
  const recordInfo = first.recordInfo!;
  recordInfo.set("slot", "A");
  await first.invalidate(new Error("gone"));
  await using second = await pool.connect();
  assert.notEqual(second.dbapiConnection, driver.connections[0]);
  assert.equal(second.recordInfo, recordInfo);
  assert.equal(second.recordInfo!.get("slot"), "A");
});

Deno.test("QueuePool info set by a connect listener is visible on the proxy", async () => {
  await using pool = new QueuePool(fakeCreator());
  pool.on("connect", (conn, entry) => {
    entry.info.set("connectedWith", conn.id);
  });
  await using conn = await pool.connect();
  assert.equal(conn.info.get("connectedWith"), conn.dbapiConnection!.id);
});

// ------------------------------------------------------ entry.invalidate()

Deno.test("ConnectionPoolEntry.invalidate() without a driver connection is a no-op with no event", async () => {
  const driver = new FakeDriver();
  const tracked = entryTracking(driver.creator);
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(tracked.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    echo: "debug",
    logger,
  });
  const proxy = await pool.connect();
  await proxy.invalidate();
  const entry = tracked.entries[0]!;
  assert.equal(entry.dbapiConnection, null);
  const recorder = recordEvents(pool);
  lines.length = 0;

  await entry.invalidate(new Error("hard"));
  await entry.invalidate(new Error("soft"), { soft: true });

  assert.deepEqual(recorder.events, []);
  assert.deepEqual(lines, []);
  assert.equal(driver.counts.terminate, 1);
  assert.equal(entry.dbapiConnection, null);
  assert.equal(pool.checkedIn(), 1);
});

Deno.test("ConnectionPoolEntry.invalidate({ soft: true }) on an idle entry reconnects only that entry at its next checkout", async () => {
  const driver = new FakeDriver();
  const tracked = entryTracking(driver.creator);
  await using pool = new QueuePool(tracked.creator, {
    dialect: driver.dialect,
    poolSize: 2,
    maxOverflow: 0,
  });
  const recorder = recordEvents(pool);
  const p1 = await pool.connect();
  const p2 = await pool.connect();
  const [c1, c2] = driver.connections;
  const [e1, e2] = tracked.entries;
  await p1.close();
  await p2.close();
  recorder.events.length = 0;

  const retire = new Error("retire");
  await e1!.invalidate(retire, { soft: true });

  assertEvents(recorder.events, [["softInvalidate", c1, e1, retire]]);
  assert.equal(c1!.open, true, "nothing is closed by a soft invalidation");
  assert.equal(e1!.dbapiConnection, c1);
  assert.equal(pool.checkedIn(), 2);
  recorder.events.length = 0;

  await using q1 = await pool.connect();
  await using q2 = await pool.connect();

  const c3 = driver.connections[2]!;
  assert.equal(q1.dbapiConnection, c3);
  assert.equal(q2.dbapiConnection, c2);
  assertEvents(recorder.events, [
    ["close", c1, e1],
    ["connect", c3, e1],
    ["checkout", c3, e1, q1],
    ["checkout", c2, e2, q2],
  ]);
  assert.deepEqual(c1!.calls, ["rollback", "terminate"]);
  assert.deepEqual(c2!.calls, ["rollback"]);
});

Deno.test("ConnectionPoolEntry.invalidate({ soft: true }) retires one host of a cluster without touching the others", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  // A creator that picks a host per entry, as a cluster-aware application would.
  let hosts = ["A", "B"];
  let next = 0;
  const entries: FakeEntry[] = [];
  const creator: Creator<FakeConnection> = (entry) => {
    entries.push(entry);
    entry.info.set("host", hosts[next++ % hosts.length]);
    return driver.creator(entry);
  };
  await using pool = new QueuePool(creator, {
    dialect: driver.dialect,
    poolSize: 4,
    maxOverflow: 0,
    clock: clock.fn,
  });
  const proxies = [];
  for (let i = 0; i < 4; i++) proxies.push(await pool.connect());
  assert.deepEqual(proxies.map((p) => p.info.get("host")), [
    "A",
    "B",
    "A",
    "B",
  ]);
  const [cA1, cB1, cA2, cB2] = driver.connections;
  // Keep one connection of each host checked out; return the others.
  const [heldA, idleB, idleA, heldB] = [
    proxies[0]!,
    proxies[1]!,
    proxies[2]!,
    proxies[3]!,
  ];
  await idleB.close();
  await idleA.close();
  clock.advance(1_000);

  // Host A goes away: soft-invalidate every entry on it, idle or checked out.
  hosts = ["C"];
  next = 0;
  for (const entry of new Set(entries)) {
    if (entry.info.get("host") === "A") {
      await entry.invalidate(undefined, { soft: true });
    }
  }

  // The checked-out connections keep working until they are returned.
  assert.equal(heldA.isValid, true);
  assert.equal(heldA.dbapiConnection, cA1);
  assert.equal(heldA.dbapiConnection!.query("SELECT 1"), "SELECT 1");
  assert.equal(cA1!.open, true);
  assert.equal(cA2!.open, true);
  await heldA.close();
  await heldB.close();
  assert.deepEqual(cA1!.calls, ["query", "rollback"]);

  clock.advance(1_000);
  const again = [];
  for (let i = 0; i < 4; i++) again.push(await pool.connect());

  // Only host A's connections were replaced (by host C); host B's, made
  // before the soft invalidations, were reused: the pool time did not move.
  assert.equal(driver.connections.length, 6);
  assert.deepEqual(
    new Set(again.map((p) => p.dbapiConnection)),
    new Set([driver.connections[4], driver.connections[5], cB1, cB2]),
  );
  assert.deepEqual(
    again.map((p) => p.info.get("host")).sort(),
    ["B", "B", "C", "C"],
  );
  assert.deepEqual(cA1!.calls, ["query", "rollback", "terminate"]);
  assert.deepEqual(cA2!.calls, ["rollback", "terminate"]);
  assert.equal(cB1!.open, true);
  assert.equal(cB2!.open, true);
  assert.equal(new Set(entries).size, 4, "the same four entries");
  for (const proxy of again) await proxy.close();
});

// ----------------------------------------------------------- entry.close()

Deno.test("entry.close() fires close before closing; the entry reconnects at its next checkout", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    maxOverflow: 0,
  });
  let entry:
    | {
      close(): Promise<void>;
      readonly dbapiConnection: FakeConnection | null;
    }
    | undefined;
  pool.on("connect", (_c, e) => {
    entry = e;
  });
  const proxy = await pool.connect();
  const conn = proxy.dbapiConnection!;
  await proxy.close();
  let openInListener: boolean | undefined;
  pool.on("close", (c) => {
    openInListener = c.open;
  });
  const rec = recordEvents(pool);
  await entry!.close();
  assert.deepEqual(rec.events, [{ name: "close", args: [conn, entry] }]);
  assert.equal(openInListener, true);
  assert.deepEqual(conn.calls, ["rollback", "close"]); // close, not terminate
  assert.equal(entry!.dbapiConnection, null);
  assert.equal(pool.checkedIn(), 1);
  const firstEntry = entry;
  await using again = await pool.connect();
  assert.equal(again.dbapiConnection, driver.connections[1]);
  assert.equal(entry, firstEntry);
  assert.deepEqual(rec.names().slice(1), ["connect#2", "checkout#2"]);
});

Deno.test("entry.close() on an entry without a connection does nothing", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, { dialect: driver.dialect });
  let entry: { close(): Promise<void> } | undefined;
  pool.on("connect", (_c, e) => {
    entry = e;
  });
  const proxy = await pool.connect();
  await proxy.invalidate();
  const rec = recordEvents(pool);
  await entry!.close();
  assert.deepEqual(rec.events, []);
});

Deno.test("a close listener that throws in entry.close(): the connection is still closed, then entry.close() rejects", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, { dialect: driver.dialect });
  let entry:
    | { close(): Promise<void>; readonly dbapiConnection: unknown }
    | undefined;
  pool.on("connect", (_c, e) => {
    entry = e;
  });
  const proxy = await pool.connect();
  const conn = proxy.dbapiConnection!;
  await proxy.close();
  const failure = new Error("close listener failed");
  const listener = () => {
    throw failure;
  };
  pool.on("close", listener);
  await assert.rejects(entry!.close(), (e) => e === failure);
  pool.off("close", listener);
  assert.equal(conn.open, false);
  assert.equal(entry!.dbapiConnection, null);
  await using again = await pool.connect();
  assert.equal(again.dbapiConnection, driver.connections[1]);
});

Deno.test("PoolEntry shows a listener that logs it its public interface only", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, { dialect: driver.dialect });
  const seen: string[] = [];
  pool.on("checkout", (_conn, entry) => {
    assert.deepEqual(Reflect.ownKeys(entry), []);
    seen.push(Deno.inspect(entry));
    seen.push(Deno.inspect(entry, { getters: true, showHidden: true }));
  });
  await using _conn = await pool.connect();
  assert.equal(seen.length, 2);
  for (const text of seen) {
    assert.match(text, /^PoolEntry \{/);
    for (
      const name of [
        "dbapiConnection",
        "driverConnection",
        "info",
        "recordInfo",
        "inUse: true",
      ]
    ) {
      assert.ok(text.includes(name), `${name} missing from ${text}`);
    }
    for (
      const internal of [
        "users",
        "label",
        "openedAt",
        "skipNextPing",
        "softInvalidatedAt",
        "neverCheckedOut",
        "generation",
        "opening",
        "context",
      ]
    ) {
      assert.ok(!text.includes(internal), `${internal} shown in ${text}`);
    }
  }
});
