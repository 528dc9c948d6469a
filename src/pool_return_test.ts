/**
 * Tests of what every pool does when a connection comes back (the engine in
 * `src/_checkin.ts` and `src/_reset.ts`, behind `PoolProxiedConnection.close()`): the `reset`
 * event and `resetOnReturn` (rollback, commit, none), the `checkin` event,
 * failures during the reset, connections returned busy, and proxies that
 * were garbage-collected without `close()`. Run on a `QueuePool` over the
 * fake driver.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Pool, POOL_EVENT_NAMES, QueuePool } from "../mod.ts";
import { poolInternals } from "./_pool_classes.ts";
import {
  type ProxiedConnection,
  proxyInternals,
} from "./_proxied_connection.ts";
import type { PoolResetState } from "./events.ts";
import {
  type FakeConnection,
  FakeDriver,
  recordEvents,
  recordingLogger,
  tracer,
} from "./_test_fake_driver.ts";
import { tick } from "./_test_helpers.ts";

const NORMAL_STATE = {
  transactionWasReset: false,
  terminateOnly: false,
  asyncioSafe: true,
};

// --------------------------------------------------------- Order of events

Deno.test("proxy.close() fires reset, then rolls back, then fires checkin", async () => {
  const driver = new FakeDriver();
  const trace = tracer(driver, { driverPrefix: "" });
  await using pool = new QueuePool(driver.creator, { dialect: trace.dialect });
  const proxy = await pool.connect();
  trace.watch(pool);
  await proxy.close();
  assert.deepEqual(trace.timeline, ["reset#1", "rollback#1", "checkin#1"]);
});

Deno.test("proxy.close() passes the connection and its entry to reset and checkin", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, { dialect: driver.dialect });
  let entry: unknown;
  pool.on("connect", (_conn, e) => {
    entry = e;
  });
  const proxy = await pool.connect();
  const conn = proxy.dbapiConnection!;
  const rec = recordEvents(pool);
  await proxy.close();
  assert.deepEqual(rec.events, [
    { name: "reset", args: [conn, entry, NORMAL_STATE] },
    { name: "checkin", args: [conn, entry] },
  ]);
});

Deno.test('echo "debug" logs "being returned to pool" and then "rollback-on-return"', async () => {
  const driver = new FakeDriver();
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    echo: "debug",
    logger,
  });
  const proxy = await pool.connect();
  await proxy.close();
  assert.deepEqual(lines.map((l) => [l.level, l.line]), [
    ["debug", "Created new connection <FakeConnection #1>"],
    ["debug", "Connection <FakeConnection #1> checked out from pool"],
    ["debug", "Connection <FakeConnection #1> being returned to pool"],
    ["debug", "Connection <FakeConnection #1> rollback-on-return"],
  ]);
  for (const { context } of lines) {
    assert.equal(context.logger, "dbpool.pool.AsyncAdaptedQueuePool");
  }
});

// ----------------------------------------------------------- resetOnReturn

Deno.test('resetOnReturn "rollback" (the default, and true) rolls back exactly once per return and never commits', async () => {
  for (const resetOnReturn of [undefined, "rollback", true] as const) {
    const driver = new FakeDriver();
    await using pool = new QueuePool(driver.creator, {
      dialect: driver.dialect,
      ...(resetOnReturn === undefined ? {} : { resetOnReturn }),
    });
    for (let i = 1; i <= 3; i++) {
      const proxy = await pool.connect();
      await proxy.close();
      assert.equal(driver.counts.rollback, i, String(resetOnReturn));
      assert.equal(driver.counts.commit, undefined, String(resetOnReturn));
    }
    const conn = driver.connections[0]!;
    assert.equal(driver.connections.length, 1);
    assert.deepEqual(conn.calls, ["rollback", "rollback", "rollback"]);
    assert.equal(driver.counts.commit, undefined);
  }
});

Deno.test('resetOnReturn "rollback" rolls back once with listeners and debug logging on', async () => {
  const driver = new FakeDriver();
  const { logger } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    echo: "debug",
    logger,
  });
  recordEvents(pool);
  for (let i = 0; i < 2; i++) {
    const proxy = await pool.connect();
    await proxy.close();
  }
  assert.deepEqual(driver.connections[0]!.calls, ["rollback", "rollback"]);
});

Deno.test('resetOnReturn "commit" commits exactly once and never rolls back', async () => {
  const driver = new FakeDriver();
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    resetOnReturn: "commit",
    echo: "debug",
    logger,
  });
  const proxy = await pool.connect();
  await proxy.close();
  assert.deepEqual(driver.connections[0]!.calls, ["commit"]);
  assert.equal(driver.counts.commit, 1);
  assert.equal(driver.counts.rollback, undefined);
  assert.deepEqual(
    lines.filter((l) => l.line.includes("-on-return")).map((l) => [
      l.level,
      l.line,
    ]),
    [["debug", "Connection <FakeConnection #1> commit-on-return"]],
  );
});

Deno.test('resetOnReturn "commit" commits even when the dialect reports no transaction', async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    resetOnReturn: "commit",
  });
  const proxy = await pool.connect();
  proxy.dbapiConnection!.inTransaction = false;
  await proxy.close();
  assert.deepEqual(driver.connections[0]!.calls, ["commit"]);
});

Deno.test("resetOnReturn null or false neither rolls back nor commits, and reset still fires", async () => {
  for (const resetOnReturn of [null, false] as const) {
    const driver = new FakeDriver();
    await using pool = new QueuePool(driver.creator, {
      dialect: driver.dialect,
      resetOnReturn,
    });
    const proxy = await pool.connect();
    const conn = proxy.dbapiConnection!;
    const rec = recordEvents(pool);
    await proxy.close();
    assert.deepEqual(rec.names(), ["reset#1", "checkin#1"]);
    assert.deepEqual(rec.events[0]!.args[2], NORMAL_STATE);
    assert.deepEqual(conn.calls, []);
    assert.equal(driver.counts.commit, undefined, String(resetOnReturn));
    assert.equal(driver.counts.rollback, undefined, String(resetOnReturn));
    assert.equal(pool.checkedIn(), 1);
  }
});

Deno.test("rollback mode skips the rollback when dialect.inTransaction() returns false, and not when it returns undefined", async () => {
  const driver = new FakeDriver();
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    echo: "debug",
    logger,
  });
  const rec = recordEvents(pool);
  const first = await pool.connect();
  first.dbapiConnection!.inTransaction = false;
  await first.close();
  const second = await pool.connect();
  second.dbapiConnection!.inTransaction = undefined;
  await second.close();
  assert.deepEqual(driver.connections[0]!.calls, ["rollback"]);
  assert.equal(
    lines.filter((l) => l.line.endsWith("rollback-on-return")).length,
    1,
  );
  // The reset event fires for both returns.
  assert.equal(rec.names().filter((n) => n === "reset#1").length, 2);
});

Deno.test("a normal return passes a frozen { transactionWasReset: false, terminateOnly: false, asyncioSafe: true } to reset", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, { dialect: driver.dialect });
  const states: PoolResetState[] = [];
  pool.on("reset", (_conn, _entry, state) => {
    states.push(state);
  });
  const proxy = await pool.connect();
  await proxy.close();
  assert.equal(states.length, 1);
  assert.deepEqual(states[0], NORMAL_STATE);
  assert.ok(Object.isFrozen(states[0]));
});

Deno.test("a reset listener declared with two parameters (conn, entry) works unchanged", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    resetOnReturn: null,
  });
  const seen: unknown[][] = [];
  // A custom reset scheme written for an older API: no state parameter.
  pool.on("reset", (conn, entry) => {
    seen.push([conn, entry]);
    conn.rollback();
  });
  const proxy = await pool.connect();
  const conn = proxy.dbapiConnection!;
  let entry: unknown;
  pool.on("checkin", (_c, e) => {
    entry = e;
  });
  await proxy.close();
  assert.deepEqual(seen, [[conn, entry]]);
  assert.deepEqual(conn.calls, ["rollback"]);
  assert.equal(pool.checkedIn(), 1);
});

// ----------------------------------------------- Failures during the reset

Deno.test("a rollback that throws on return is logged, the entry invalidated and still checked in", async () => {
  const driver = new FakeDriver();
  const trace = tracer(driver, { driverPrefix: "" });
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: trace.dialect,
    logger,
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: 0,
  });
  const proxy = await pool.connect();
  const conn = proxy.dbapiConnection!;
  const rec = recordEvents(pool);
  trace.watch(pool);
  const failure = new Error("rollback failed");
  driver.failRollback = failure;
  await proxy.close(); // does not reject
  assert.deepEqual(trace.timeline, [
    "reset#1",
    "rollback#1",
    "invalidate#1",
    "close#1",
    "terminate#1",
    "checkin#null",
  ]);
  const invalidate = rec.events.find((e) => e.name === "invalidate")!;
  assert.equal(invalidate.args[0], conn);
  assert.equal(invalidate.args[2], failure);
  const errors = lines.filter((l) => l.level === "error");
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.line, "Exception during reset or similar");
  assert.equal(errors[0]!.context.error, failure);
  assert.equal(conn.open, false);
  assert.equal(pool.checkedIn(), 1);
  assert.equal(pool.checkedOut(), 0);
  // The slot is usable again: a new connection on the same entry.
  driver.failRollback = null;
  await using again = await pool.connect();
  assert.equal(again.dbapiConnection, driver.connections[1]);
});

Deno.test("a rollback that throws on return, with no listeners and no echo, still invalidates and checks in", async () => {
  const driver = new FakeDriver();
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    logger,
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: 0,
  });
  const proxy = await pool.connect();
  const conn = proxy.dbapiConnection!;
  const failure = new Error("rollback failed");
  driver.failRollback = failure;
  await proxy.close();
  assert.deepEqual(conn.calls, ["rollback", "terminate"]);
  assert.deepEqual(lines.map((l) => [l.level, l.line]), [
    ["error", "Exception during reset or similar"],
  ]);
  assert.equal(lines[0]!.context.error, failure);
  assert.equal(pool.checkedIn(), 1);
  assert.equal(pool.checkedOut(), 0);
  driver.failRollback = null;
  await using again = await pool.connect();
  assert.equal(again.dbapiConnection, driver.connections[1]);
});

Deno.test("an async rollback that rejects on return is handled like a throwing one", async () => {
  const driver = new FakeDriver();
  const failure = new Error("async rollback failed");
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: {
      ...driver.dialect,
      rollback: (c) => Promise.resolve().then(() => c.rollback()),
    },
    logger,
  });
  const proxy = await pool.connect();
  const conn = proxy.dbapiConnection!;
  driver.failRollback = failure;
  await proxy.close();
  assert.deepEqual(conn.calls, ["rollback", "terminate"]);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.line, "Exception during reset or similar");
  assert.equal(pool.checkedIn(), 1);
  assert.equal(pool.checkedOut(), 0);
});

Deno.test("a reset listener that throws is handled like a failing rollback: close() resolves", async () => {
  const driver = new FakeDriver();
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    logger,
  });
  const proxy = await pool.connect();
  const conn = proxy.dbapiConnection!;
  const failure = new Error("reset listener failed");
  pool.on("reset", () => {
    throw failure;
  });
  const rec = recordEvents(pool);
  await proxy.close();
  assert.deepEqual(rec.names(), ["invalidate#1", "close#1", "checkin"]);
  assert.equal(rec.events[0]!.args[2], failure);
  assert.equal(rec.events[2]!.args[0], null);
  assert.equal(conn.open, false);
  assert.equal(lines[0]!.line, "Exception during reset or similar");
  assert.equal(pool.checkedIn(), 1);
  assert.equal(pool.checkedOut(), 0);
});

Deno.test("proxy.close() completes when the reset outlasts validationTimeoutMs: the connection is terminated and the slot freed", async () => {
  const driver = new FakeDriver();
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: {
      ...driver.dialect,
      rollback: (c) => {
        c.calls.push("rollback");
        return new Promise<void>(() => {});
      },
    },
    poolSize: 1,
    maxOverflow: 0,
    validationTimeoutMs: 10,
    logger,
  });
  const events = recordEvents(pool);
  const proxy = await pool.connect();
  await proxy.close();
  assert.deepEqual(driver.connections[0]!.calls, ["rollback", "terminate"]);
  assert.equal(pool.checkedOut(), 0);
  const error = events.events.find((e) => e.name === "invalidate")!.args[2];
  assert.match(
    String(error),
    /reset on return took longer than validationTimeoutMs \(10 ms\)/,
  );
  assert(lines.some((l) => l.level === "error"));
  // The same with a reset listener (the slow return path).
  pool.on("reset", () => {});
  const again = await pool.connect();
  assert.equal(again.dbapiConnection!.id, 2);
  await again.close();
  assert.deepEqual(driver.connections[1]!.calls, ["rollback", "terminate"]);
  assert.equal(pool.checkedOut(), 0);
});

Deno.test("proxy.close() terminates and invalidates a connection returned with a query still running, without a rollback", async () => {
  const driver = new FakeDriver();
  const busy = new Set<FakeConnection>();
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: { ...driver.dialect, isBusy: (c) => busy.has(c) },
    poolSize: 1,
    logger,
  });
  const events = recordEvents(pool);
  const proxy = await pool.connect();
  const connection = proxy.dbapiConnection!;
  connection.inTransaction = false; // the stale status a busy driver reports
  busy.add(connection);
  await proxy.close();
  assert.deepEqual(connection.calls, ["terminate"]);
  assert.deepEqual(events.names().slice(-3), [
    "invalidate#1",
    "close#1",
    "checkin",
  ]);
  const error = events.events.find((e) => e.name === "invalidate")!.args[2];
  assert.match(
    String(error),
    /returned to the pool with a query still running/,
  );
  assert.match(
    lines.filter((l) => l.level === "warn").map((l) => l.line).join("\n"),
    /returned with a query still running/,
  );
  assert.equal(pool.checkedOut(), 0);
  await using next = await pool.connect();
  assert.equal(next.dbapiConnection!.id, 2);
});

// ------------------------------------------------------- The checkin event

Deno.test("checkin receives null for a hard-invalidated proxy", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, { dialect: driver.dialect });
  const proxy = await pool.connect();
  const conn = proxy.dbapiConnection!;
  const rec = recordEvents(pool);
  await proxy.invalidate();
  await proxy.close();
  assert.deepEqual(rec.names(), ["invalidate#1", "close#1", "checkin"]);
  assert.equal(rec.events[2]!.args[0], null);
  assert.deepEqual(conn.calls, ["terminate"]);
});

Deno.test("checkin never fires for a detached proxy", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, { dialect: driver.dialect });
  const proxy = await pool.connect();
  const rec = recordEvents(pool);
  await proxy.detach();
  await proxy.close();
  assert.ok(!rec.names().some((n) => n.startsWith("checkin")));
});

Deno.test("a checkin listener that throws: close() rejects with its error and the slot is still returned", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: 0,
  });
  const failure = new Error("checkin listener failed");
  const listener = () => {
    throw failure;
  };
  pool.on("checkin", listener);
  const proxy = await pool.connect();
  const conn = proxy.dbapiConnection!;
  await assert.rejects(proxy.close(), (e) => e === failure);
  assert.equal(pool.checkedIn(), 1);
  assert.equal(pool.checkedOut(), 0);
  assert.equal(proxy.isValid, false);
  assert.equal(proxy.dbapiConnection, null);
  pool.off("checkin", listener);
  // timeoutMs: 0 would throw PoolTimeoutError at once if the slot had leaked.
  await using again = await pool.connect();
  assert.equal(again.dbapiConnection, conn);
  assert.deepEqual(conn.calls, ["rollback"]);
});

// --------------------------------------- A second return of the same entry

Deno.test("(internal) a second return of the same entry, after close() or after an internal return, is ignored with a double-checkin warning", async () => {
  const driver = new FakeDriver();
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    logger,
  });
  const core = poolInternals.engine<FakeConnection>(pool).returns;
  const rec = recordEvents(pool);

  // After a public close().
  const closed = await pool.connect() as ProxiedConnection<FakeConnection>;
  const closedConnection = closed.dbapiConnection!;
  const closedEntry = proxyInternals.entry(closed);
  await closed.close();
  await core.checkin(closed, closedEntry, closedConnection, false);
  const warnings = lines.filter((l) => l.level === "warn");
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!.line, /^Double checkin attempted on /);
  assert.equal(rec.names().filter((n) => n.startsWith("checkin")).length, 1);
  assert.equal(pool.checkedIn(), 1);
  assert.equal(pool.checkedOut(), 0);

  // After an internal return, as close() makes it.
  lines.length = 0;
  closedConnection.calls.length = 0;
  const proxy = await pool.connect() as ProxiedConnection<FakeConnection>;
  const entry = proxyInternals.entry(proxy);
  const conn = proxy.dbapiConnection!;
  rec.events.length = 0;
  proxyInternals.finish(proxy);
  await core.checkin(proxy, entry, conn, false);
  assert.equal(pool.checkedIn(), 1);
  await core.checkin(proxy, entry, conn, false);
  assert.deepEqual(lines.map((l) => [l.level, l.line]), [
    ["warn", `Double checkin attempted on ${String(entry)}`],
  ]);
  assert.match(
    lines[0]!.line,
    /^Double checkin attempted on .*<FakeConnection #1>/,
  );
  // Ignored: no second reset, rollback or checkin.
  assert.deepEqual(rec.names(), ["reset#1", "checkin#1"]);
  assert.deepEqual(conn.calls, ["rollback"]);
  assert.equal(pool.checkedIn(), 1);
  assert.equal(pool.checkedOut(), 0);
  // The entry is in the idle list once: one checkout reuses it, the next makes a new one.
  await using a = await pool.connect();
  await using b = await pool.connect();
  assert.equal(a.dbapiConnection, conn);
  assert.notEqual(b.dbapiConnection, conn);
});

// ------------------------------------------------- Driver close() failures

Deno.test("a driver close() that throws in an overflow discard, entry.close() or a detached close is logged and swallowed", async () => {
  const driver = new FakeDriver();
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    logger,
    poolSize: 1,
    maxOverflow: 2,
    timeoutMs: 0,
  });
  let firstEntry: { close(): Promise<void> } | undefined;
  pool.on("connect", (_c, e) => {
    firstEntry ??= e;
  });
  const a = await pool.connect();
  const b = await pool.connect();
  const c = await pool.connect();
  driver.failClose = new Error("close failed");
  await a.close(); // pooled
  await b.close(); // overflow: closed
  await c.detach();
  await c.close(); // detached: closed
  await firstEntry!.close();
  assert.deepEqual(lines.map((l) => [l.level, l.line]), [
    ["error", "Exception closing connection <FakeConnection #2>"],
    ["error", "Exception closing connection <FakeConnection #3>"],
    ["error", "Exception closing connection <FakeConnection #1>"],
  ]);
  // The detached entry came back to a full idle list and was discarded.
  assert.equal(pool.checkedOut(), 0);
  assert.equal(pool.checkedIn(), 1);
  assert.equal(pool.overflow(), 0);
  driver.failClose = null;
  // The whole capacity can be checked out again.
  const all = [
    await pool.connect(),
    await pool.connect(),
    await pool.connect(),
  ];
  assert.equal(pool.checkedOut(), 3);
  for (const proxy of all) await proxy.close();
});

// ------------------------------- Proxies garbage-collected without close()

const gc = (globalThis as unknown as { gc?: () => void }).gc;

function gcWarning(id: number): string {
  return `The garbage collector is trying to clean up non-checked-in connection <FakeConnection #${id}>, which will be terminated. Please ensure that pooled connections are returned to the pool explicitly, either by calling close() or with await using.`;
}

/** Checks out a connection in its own scope and never returns it. */
async function leakCheckout(
  pool: Pool<FakeConnection>,
): Promise<FakeConnection> {
  const proxy = await pool.connect();
  return proxy.dbapiConnection!;
}

/** Collects garbage until `done` settles, at most `rounds` times; `true` if it settled. */
async function collectUntil(
  done: Promise<void>,
  rounds = 100,
): Promise<boolean> {
  let settled = false;
  done.then(() => settled = true);
  for (let i = 0; i < rounds && !settled; i++) {
    gc!();
    await tick();
  }
  return settled;
}

/** A recording logger whose `warned` resolves at the first warning. */
function warnWatchingLogger() {
  const recorded = recordingLogger();
  const { promise: warned, resolve } = Promise.withResolvers<void>();
  const warn = recorded.logger.warn;
  recorded.logger.warn = (line: string, ...rest: unknown[]) => {
    warn(line, ...rest);
    resolve();
  };
  return { ...recorded, warned };
}

Deno.test({
  name:
    "a proxy garbage-collected without close() is warned about and its slot released, with no reset and no event",
  ignore: gc === undefined,
  async fn() {
    const driver = new FakeDriver();
    const { logger, lines, warned } = warnWatchingLogger();
    await using pool = new QueuePool(driver.creator, {
      dialect: driver.dialect,
      logger,
      poolSize: 1,
      maxOverflow: 0,
      timeoutMs: 0,
    });
    const events: string[] = [];
    for (const name of POOL_EVENT_NAMES) {
      // Names only: keeping the arguments would keep the proxy alive.
      pool.on(name, () => {
        events.push(name);
      });
    }
    const conn = await leakCheckout(pool);
    assert.deepEqual(events, ["firstConnect", "connect", "checkout"]);
    assert.equal(pool.checkedOut(), 1);
    assert.ok(await collectUntil(warned), "the proxy was never collected");
    await tick(); // the release continues after the warning
    assert.deepEqual(lines.map((l) => [l.level, l.line]), [[
      "warn",
      gcWarning(1),
    ]]);
    assert.equal(pool.checkedOut(), 0);
    assert.equal(pool.checkedIn(), 1);
    assert.deepEqual(conn.calls, ["terminate"]); // no rollback, no reuse
    assert.equal(conn.open, false);
    assert.deepEqual(events, ["firstConnect", "connect", "checkout"]);
    // The slot comes back without its connection: the next checkout reconnects it.
    await using next = await pool.connect();
    assert.equal(next.dbapiConnection, driver.connections[1]);
  },
});

Deno.test({
  name:
    "a proxy garbage-collected without close() serves a waiting caller with a new connection",
  ignore: gc === undefined,
  async fn() {
    const driver = new FakeDriver();
    const { logger, warned } = warnWatchingLogger();
    await using pool = new QueuePool(driver.creator, {
      dialect: driver.dialect,
      logger,
      poolSize: 1,
      maxOverflow: 0,
      timeoutMs: null,
    });
    const conn = await leakCheckout(pool);
    const controller = new AbortController();
    const waiter = pool.connect({ signal: controller.signal });
    try {
      assert.ok(await collectUntil(warned), "the proxy was never collected");
      assert.ok(
        await collectUntil(waiter.then(() => {}), 10),
        "the waiter was not served",
      );
    } finally {
      controller.abort();
    }
    await using served = await waiter;
    assert.equal(served.dbapiConnection, driver.connections[1]);
    assert.deepEqual(conn.calls, ["terminate"]);
    assert.equal(pool.checkedOut(), 1);
  },
});

Deno.test({
  name: "a collected proxy that was closed or detached is never reported",
  ignore: gc === undefined,
  async fn() {
    const driver = new FakeDriver();
    const { logger, lines, warned } = warnWatchingLogger();
    await using pool = new QueuePool(driver.creator, {
      dialect: driver.dialect,
      logger,
    });
    await (async () => {
      const closed = await pool.connect(); // connection 1
      const detached = await pool.connect(); // connection 2
      await pool.connect(); // connection 3, leaked
      await closed.close();
      await detached.detach();
    })();
    assert.ok(await collectUntil(warned), "the proxy was never collected");
    for (let i = 0; i < 5; i++) {
      gc!();
      await tick();
    }
    assert.deepEqual(lines.map((l) => [l.level, l.line]), [[
      "warn",
      gcWarning(3),
    ]]);
    assert.deepEqual(driver.connections.map((c) => c.calls), [
      ["rollback"],
      [],
      ["terminate"],
    ]);
    assert.equal(pool.checkedOut(), 0);
    assert.equal(pool.checkedIn(), 3);
  },
});
