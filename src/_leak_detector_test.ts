/**
 * The `leakDetectionMs` option: a checkout out too long is reported once,
 * with its stack; its return is reported too; nothing when it is off.
 *
 * @module
 */

import assert from "node:assert/strict";
import { NullPool } from "./null_pool.ts";
import { QueuePool } from "./queue_pool.ts";
import { StaticPool } from "./static_pool.ts";
import {
  FakeClock,
  type FakeConnection,
  FakeDriver,
  linesAt,
  recordingLogger,
} from "./_test_fake_driver.ts";
import { poolInternals } from "./_pool_classes.ts";
import { sleep, tick } from "./_test_helpers.ts";

/** The pool's leak detector, to run a check after moving the fake clock. */
function detectorOf(pool: object) {
  const detector = poolInternals.engine(pool).returns.leakDetector;
  assert(detector !== null);
  return detector;
}

/** Checks out in a function of its own, so its name shows in the stack. */
async function checkOutForTheReport(pool: QueuePool<FakeConnection>) {
  return await pool.connect();
}

Deno.test("leakDetectionMs reports a connection out too long once, with the stack of its checkout, and its return", async () => {
  const clock = new FakeClock();
  const { logger, lines } = recordingLogger();
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    clock: clock.fn,
    logger,
    leakDetectionMs: 1_000,
  });
  const detector = detectorOf(pool);
  const leaked = await checkOutForTheReport(pool);
  const quick = await pool.connect();
  clock.advance(500);
  detector.check();
  await quick.close();
  clock.advance(500);
  detector.check(); // exactly 1 000 ms: not longer than the limit
  assert.deepEqual(linesAt(lines, "warn"), []);
  clock.advance(1);
  detector.check();
  detector.check();
  const warnings = linesAt(lines, "warn");
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0]!,
    /^Connection <FakeConnection #1> has been checked out for more than leakDetectionMs \(1000 ms\); it may have leaked\. It was checked out at:\n/,
  );
  assert.match(warnings[0]!, /checkOutForTheReport/);
  assert.doesNotMatch(warnings[0]!, /#2/);
  clock.advance(499);
  await leaked.close();
  // Sent although echo is off, as the warning was.
  assert.deepEqual(linesAt(lines, "info"), [
    "Connection <FakeConnection #1> reported as a possible leak was returned after 1500 ms",
  ]);
  assert.equal(detector.size, 0);
});

Deno.test("leakDetectionMs: after a clock set back, a reported connection is said to have been returned after the threshold at least, never a negative time", async () => {
  const clock = new FakeClock();
  clock.now = 10_000;
  const { logger, lines } = recordingLogger();
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    clock: clock.fn,
    logger,
    leakDetectionMs: 1_000,
  });
  const leaked = await pool.connect();
  await Promise.resolve(); // the checkout's start is stamped
  clock.advance(1_001);
  detectorOf(pool).check();
  assert.equal(linesAt(lines, "warn").length, 1);
  clock.now = 0;
  await leaked.close();
  assert.deepEqual(linesAt(lines, "info"), [
    "Connection <FakeConnection #1> reported as a possible leak was returned after 1000 ms",
  ]);
});

/** Waits for a connection in a function of its own, so its name shows in the stack. */
async function waitForTheReport(pool: QueuePool<FakeConnection>) {
  return await pool.connect();
}

/** Returns a connection in a function of its own, so its name would show. */
async function returnForTheReport(proxy: { close(): Promise<void> }) {
  await proxy.close();
}

Deno.test("leakDetectionMs: a caller that waited is reported with the stack of its own connect(), not that of the return that served it", async () => {
  const clock = new FakeClock();
  const { logger, lines } = recordingLogger();
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    clock: clock.fn,
    logger,
    poolSize: 1,
    maxOverflow: 0,
    leakDetectionMs: 1_000,
  });
  const detector = detectorOf(pool);
  const first = await pool.connect();
  const waiting = waitForTheReport(pool);
  await tick();
  assert.equal(pool.stats().pending, 1);
  await returnForTheReport(first);
  const leaked = await waiting;
  clock.advance(1_001);
  detector.check();
  const warnings = linesAt(lines, "warn");
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /waitForTheReport/);
  assert.doesNotMatch(warnings[0]!, /returnForTheReport/);
  // The pool's own frames are left out, but for the connect() called.
  assert.doesNotMatch(
    warnings[0]!,
    /_engine\.ts|_checkin\.ts|_leak_detector\.ts/,
  );
  await leaked.close();
  assert.equal(detector.size, 0);
});

Deno.test("leakDetectionMs reports with its own timer, one for the pool", async () => {
  const { logger, lines } = recordingLogger();
  const driver = new FakeDriver();
  await using pool = new NullPool(driver.creator, {
    dialect: driver.dialect,
    logger,
    leakDetectionMs: 5,
  });
  const proxies = [await pool.connect(), await pool.connect()];
  await sleep(30);
  assert.equal(linesAt(lines, "warn").length, 2);
  for (const proxy of proxies) await proxy.invalidate();
  assert.deepEqual(
    linesAt(lines, "info").map((line) => line.replace(/\d+ ms$/, "N ms")),
    [
      "Connection <FakeConnection #1> reported as a possible leak was returned after N ms",
      "Connection <FakeConnection #2> reported as a possible leak was returned after N ms",
    ],
  );
});

Deno.test("leakDetectionMs: a connection returned in time is never reported, and detaching ends the watch", async () => {
  const clock = new FakeClock();
  const { logger, lines } = recordingLogger();
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    clock: clock.fn,
    logger,
    leakDetectionMs: 100,
  });
  const detector = detectorOf(pool);
  await (await pool.connect()).close();
  const detached = await pool.connect();
  await detached.detach();
  assert.equal(detector.size, 0);
  clock.advance(1_000);
  detector.check();
  await detached.close();
  assert.deepEqual(lines, []);
});

Deno.test("leakDetectionMs is off by default: no detector, nothing reported", async () => {
  const clock = new FakeClock();
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(new FakeDriver().creator, {
    clock: clock.fn,
    logger,
  });
  assert.equal(poolInternals.engine(pool).returns.leakDetector, null);
  await using _held = await pool.connect();
  clock.advance(1e9);
  assert.deepEqual(lines, []);
});

Deno.test("leakDetectionMs is validated like the other durations", () => {
  const creator = new FakeDriver().creator;
  assert.throws(
    () => new QueuePool(creator, { leakDetectionMs: -1 }),
    RangeError,
  );
  assert.throws(
    () => new QueuePool(creator, { leakDetectionMs: Infinity }),
    RangeError,
  );
  assert.throws(
    // @ts-expect-error: a string where a number belongs.
    () => new QueuePool(creator, { leakDetectionMs: "1" }),
    TypeError,
  );
  new QueuePool(creator, { leakDetectionMs: null });
  new QueuePool(creator, { leakDetectionMs: 0 });
});

const gc = (globalThis as unknown as { gc?: () => void }).gc;

/** Checks out a connection in its own scope and never returns it. */
async function leakCheckout(pool: QueuePool<FakeConnection>): Promise<void> {
  await pool.connect();
}

Deno.test({
  name:
    "leakDetectionMs: a proxy garbage-collected while out is no longer watched",
  ignore: gc === undefined,
  async fn() {
    const clock = new FakeClock();
    const { logger, lines } = recordingLogger();
    const driver = new FakeDriver();
    await using pool = new QueuePool(driver.creator, {
      dialect: driver.dialect,
      clock: clock.fn,
      logger,
      leakDetectionMs: 1_000,
    });
    const detector = detectorOf(pool);
    await using kept = await pool.connect();
    await leakCheckout(pool);
    assert.equal(detector.size, 2);
    for (let i = 0; i < 100 && linesAt(lines, "warn").length === 0; i++) {
      gc!();
      await tick();
    }
    assert.equal(linesAt(lines, "warn").length, 1, "never collected");
    assert.equal(detector.size, 1);
    clock.advance(1_001);
    detector.check();
    const warnings = linesAt(lines, "warn");
    assert.equal(warnings.length, 2);
    assert.match(warnings[1]!, /^Connection <FakeConnection #1> has been/);
    assert.ok(kept.isValid);
  },
});

/** Checks out the shared connection in its own scope and never returns it. */
async function leakSharedCheckout(
  pool: StaticPool<FakeConnection>,
): Promise<void> {
  await pool.connect();
}

Deno.test({
  name:
    "leakDetectionMs: a StaticPool proxy garbage-collected while out leaves the watch of another proxy of the same connection",
  ignore: gc === undefined,
  async fn() {
    const clock = new FakeClock();
    const { logger, lines } = recordingLogger();
    const driver = new FakeDriver();
    await using pool = new StaticPool(driver.creator, {
      dialect: driver.dialect,
      clock: clock.fn,
      logger,
      leakDetectionMs: 1_000,
    });
    const detector = detectorOf(pool);
    await using kept = await pool.connect();
    await leakSharedCheckout(pool);
    assert.equal(detector.size, 2);
    for (let i = 0; i < 100 && linesAt(lines, "warn").length === 0; i++) {
      gc!();
      await tick();
    }
    assert.equal(linesAt(lines, "warn").length, 1, "never collected");
    assert.equal(detector.size, 1);
    clock.advance(1_001);
    detector.check();
    const warnings = linesAt(lines, "warn");
    assert.equal(warnings.length, 2);
    assert.match(warnings[1]!, /^Connection <FakeConnection #1> has been/);
    assert.ok(kept.isValid);
  },
});
