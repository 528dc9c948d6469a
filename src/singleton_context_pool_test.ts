/**
 * Tests of `SingletonContextPool`'s own behaviour
 * (`src/singleton_context_pool.ts`). What it shares with every pool class is
 * in `pool_conformance_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  SingletonContextPool,
  SingletonThreadPool,
} from "./singleton_context_pool.ts";
import {
  closes,
  FakeDriver,
  recordEvents,
  recordingLogger,
} from "./_test_fake_driver.ts";
import { deferred } from "./_test_helpers.ts";

Deno.test("SingletonContextPool: nested connect() in one context returns the same proxy; checkout once, checkin on the outermost close()", async () => {
  const driver = new FakeDriver();
  await using pool = new SingletonContextPool(driver.creator, {
    dialect: driver.dialect,
  });
  const recorded = recordEvents(pool);
  await pool.run(async () => {
    const outer = await pool.connect();
    const middle = await pool.connect();
    const inner = await pool.connect();
    assert.equal(middle, outer);
    assert.equal(inner, outer);
    await inner.close();
    await middle.close();
    assert.equal(outer.isValid, true);
    assert.deepEqual(outer.dbapiConnection!.calls, [], "no inner rollback");
    assert.deepEqual(recorded.names(), [
      "firstConnect#1",
      "connect#1",
      "checkout#1",
    ]);
    await outer.close();
    assert.equal(outer.isValid, false);
  });
  assert.deepEqual(recorded.names(), [
    "firstConnect#1",
    "connect#1",
    "checkout#1",
    "reset#1",
    "checkin#1",
  ]);
  assert.deepEqual(driver.connections[0]!.calls, ["rollback"]);
  assert.equal(driver.connections[0]!.open, true);
});

Deno.test("SingletonContextPool: concurrent connect() calls in one context share the pending checkout", async () => {
  const driver = new FakeDriver();
  const gate = deferred();
  driver.gate = gate.promise;
  await using pool = new SingletonContextPool(driver.creator, {
    dialect: driver.dialect,
  });
  const recorded = recordEvents(pool);
  await pool.run(async () => {
    const pending = [pool.connect(), pool.connect()];
    driver.gate = null;
    gate.resolve();
    const [a, b] = await Promise.all(pending);
    assert.equal(a, b);
    await b!.close();
    assert.equal(a!.isValid, true);
    await a!.close();
  });
  assert.equal(driver.counts.create, 1);
  assert.deepEqual(
    recorded.names().filter((n) => n.startsWith("check")),
    ["checkout#1", "checkin#1"],
  );
});

Deno.test("SingletonContextPool: different contexts get different connections", async () => {
  const driver = new FakeDriver({ async: true });
  await using pool = new SingletonContextPool(driver.creator, {
    dialect: driver.dialect,
  });
  const both = deferred();
  let arrived = 0;
  const task = () =>
    pool.run(async () => {
      await using conn = await pool.connect();
      // Hold both connections at once.
      if (++arrived === 2) both.resolve();
      await both.promise;
      return conn.dbapiConnection!;
    });
  const [a, b] = await Promise.all([task(), task()]);
  assert.notEqual(a, b);
  assert.equal(driver.counts.create, 2);
  assert.match(pool.status(), /^SingletonThreadPool id:\d+ size: 2$/);
});

Deno.test("SingletonContextPool: a returned connection stays with its context for reuse", async () => {
  const driver = new FakeDriver();
  await using pool = new SingletonContextPool(driver.creator, {
    dialect: driver.dialect,
  });
  await pool.run(async () => {
    const first = await pool.connect();
    const connection = first.dbapiConnection;
    await first.close();
    const second = await pool.connect();
    assert.notEqual(second, first, "a new checkout, a new proxy");
    assert.equal(second.dbapiConnection, connection);
    await second.close();
  });
  assert.equal(driver.counts.create, 1);
  assert.equal(driver.connections[0]!.open, true);
});

Deno.test("SingletonContextPool: a caller outside run() gets a context of its own current async context", async () => {
  const driver = new FakeDriver();
  await using pool = new SingletonContextPool(driver.creator, {
    dialect: driver.dialect,
  });
  const outer = await pool.connect();
  const inner = await pool.connect();
  assert.equal(inner, outer);
  await inner.close();
  assert.equal(outer.isValid, true);
  await outer.close();
  // A task of its own still gets another connection.
  await pool.run(async () => {
    await using other = await pool.connect();
    assert.notEqual(other.dbapiConnection, driver.connections[0]);
  });
  assert.equal(driver.counts.create, 2);
});

Deno.test("SingletonContextPool: a new context closes arbitrary stored connections, even in use, to stay below poolSize", async () => {
  const driver = new FakeDriver();
  await using pool = new SingletonContextPool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 2,
  });
  const held: { close(): Promise<void> }[] = [];
  for (let i = 0; i < 2; i++) {
    held.push(await pool.run(() => pool.connect()));
  }
  assert.match(pool.status(), /^SingletonThreadPool id:\d+ size: 2$/);
  assert.equal(driver.openCount, 2);
  // A third context: one of the two in-use connections is closed first.
  held.push(await pool.run(() => pool.connect()));
  assert.match(pool.status(), /^SingletonThreadPool id:\d+ size: 2$/);
  assert.equal(driver.connections.length, 3);
  assert.equal(driver.openCount, 2);
  const victims = driver.connections.slice(0, 2).filter((c) => !c.open);
  assert.equal(victims.length, 1);
  assert.equal(driver.connections[2]!.open, true);
  for (const proxy of held) await proxy.close();
  // Returning the victim's proxy does not close it a second time.
  for (const c of driver.connections) assert.ok(closes(c) <= 1);
  assert.equal(closes(victims[0]!), 1);
  assert.equal(driver.openCount, 2);
});

Deno.test("SingletonContextPool: cleanup closes an idle stored connection before one in use", async () => {
  const driver = new FakeDriver();
  await using pool = new SingletonContextPool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 2,
  });
  await pool.run(async () => {
    await (await pool.connect()).close(); // connection 1, idle
  });
  const inUse = await pool.run(() => pool.connect()); // connection 2
  const third = await pool.run(() => pool.connect()); // connection 3
  assert.equal(closes(driver.connections[0]!), 1);
  assert.equal(driver.connections[1]!.open, true);
  assert.equal(inUse.isValid, true);
  await inUse.close();
  await third.close();
  assert.equal(driver.openCount, 2);
});

Deno.test("SingletonContextPool.status() matches SingletonThreadPool id:<n> size: <n>, with a new id per pool", async () => {
  const driver = new FakeDriver();
  await using a = new SingletonContextPool(driver.creator);
  await using b = new SingletonContextPool(driver.creator);
  assert.match(a.status(), /^SingletonThreadPool id:\d+ size: 0$/);
  const idOf = (status: string) => /id:(\d+)/.exec(status)![1];
  assert.notEqual(idOf(a.status()), idOf(b.status()));
  await a.run(async () => {
    await using _conn = await a.connect();
    assert.match(a.status(), /^SingletonThreadPool id:\d+ size: 1$/);
  });
});

Deno.test("SingletonThreadPool is the same class as SingletonContextPool", () => {
  assert.equal(SingletonThreadPool, SingletonContextPool);
});

Deno.test("SingletonContextPool.dispose() closes idle stored connections; in-use ones close on their outermost close()", async () => {
  const driver = new FakeDriver();
  await using pool = new SingletonContextPool(driver.creator, {
    dialect: driver.dialect,
  });
  await pool.run(async () => {
    await (await pool.connect()).close(); // connection 1, idle
  });
  const released = deferred();
  const inDispose = deferred();
  const task = pool.run(async () => {
    const outer = await pool.connect(); // connection 2
    const inner = await pool.connect();
    inDispose.resolve();
    await released.promise;
    assert.equal(outer.isValid, true, "usable after dispose()");
    await inner.close();
    assert.equal(closes(outer.dbapiConnection!), 0);
    const connection = outer.dbapiConnection!;
    await outer.close();
    assert.equal(closes(connection), 1);
    // The context then gets a new connection.
    await using again = await pool.connect();
    assert.equal(again.dbapiConnection, driver.connections[2]);
  });
  await inDispose.promise;
  await pool.dispose();
  assert.equal(closes(driver.connections[0]!), 1);
  assert.equal(driver.connections[1]!.open, true);
  released.resolve();
  await task;
  assert.equal(closes(driver.connections[1]!), 1);
  assert.equal(driver.connections[2]!.open, true);
  assert.match(pool.status(), /size: 1$/);
});

Deno.test("SingletonContextPool.dispose() swallows close errors and logs them", async () => {
  const driver = new FakeDriver();
  const { logger, lines } = recordingLogger();
  await using pool = new SingletonContextPool(driver.creator, {
    dialect: driver.dialect,
    logger,
  });
  for (let i = 0; i < 2; i++) {
    await pool.run(async () => {
      await (await pool.connect()).close();
    });
  }
  const failure = new Error("close listener failed");
  pool.on("close", () => {
    throw failure;
  });
  driver.failClose = new Error("driver close failed");
  await pool.dispose();
  assert.equal(driver.openCount, 0);
  for (const c of driver.connections) assert.equal(closes(c), 1);
  assert.ok(
    lines.some((l) => l.level === "error" && l.context.error === failure),
  );
  assert.ok(
    lines.some((l) =>
      l.level === "error" && l.context.error === driver.failClose
    ),
  );
  assert.match(pool.status(), /size: 0$/);
});

Deno.test("SingletonContextPool: after a hard invalidation the context reconnects its entry", async () => {
  const driver = new FakeDriver();
  await using pool = new SingletonContextPool(driver.creator, {
    dialect: driver.dialect,
  });
  await pool.run(async () => {
    const first = await pool.connect();
    first.recordInfo!.set("slot", "mine");
    const connection = first.dbapiConnection!;
    await first.invalidate();
    assert.deepEqual(connection.calls, ["terminate"]);
    const second = await pool.connect();
    assert.notEqual(second, first);
    assert.equal(second.dbapiConnection, driver.connections[1]);
    assert.equal(second.recordInfo!.get("slot"), "mine");
    await second.close();
    await first.close();
  });
  assert.match(pool.status(), /size: 1$/);
  assert.equal(closes(driver.connections[0]!), 1);
});

Deno.test("SingletonContextPool.recreate() keeps poolSize and connects nothing", async () => {
  const driver = new FakeDriver();
  await using pool = new SingletonContextPool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 1,
  });
  await using recreated = pool.recreate();
  assert.ok(recreated instanceof SingletonContextPool);
  assert.equal(driver.counts.create, undefined);
  await recreated.run(async () => {
    await (await recreated.connect()).close();
  });
  await recreated.run(async () => {
    await (await recreated.connect()).close();
  });
  // poolSize 1: the second context closed the first context's connection.
  assert.equal(closes(driver.connections[0]!), 1);
  assert.match(recreated.status(), /size: 1$/);
});

Deno.test("SingletonContextPool rejects poolSize 0", () => {
  assert.throws(
    () => new SingletonContextPool(new FakeDriver().creator, { poolSize: 0 }),
    RangeError,
  );
});
