import assert from "node:assert/strict";
import { QueuePool } from "../mod.ts";
import {
  FakeClock,
  type FakeConnection,
  FakeDisconnect,
  FakeDriver,
  recordingLogger,
} from "./_test_fake_driver.ts";

/** Resolves once `condition()` holds, turning the event loop meanwhile (a bounded poll). */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let turn = 0; turn < 2_000; turn++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  assert.fail(`never came true: ${what}`);
}

/**
 * Resolves with the connection of the next `close` event of `pool`. The
 * pool's timer does not keep the process alive, so the wait turns the
 * event loop itself.
 */
async function nextClose(
  pool: QueuePool<FakeConnection>,
): Promise<FakeConnection> {
  let closed: FakeConnection | null = null;
  using _watch = pool.on("close", (connection) => {
    closed ??= connection;
  });
  await until(() => closed !== null, "a close event");
  return closed!;
}

Deno.test("QueuePool with idleTimeoutMs closes a connection idle that long, with the close event", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    clock: clock.fn,
    idleTimeoutMs: 5,
  });
  const conn = await pool.connect();
  const driverConnection = conn.dbapiConnection;
  await conn.close();
  clock.advance(5);
  assert.equal(await nextClose(pool), driverConnection);
  await until(() => pool.checkedIn() === 0, "the idle list is empty");
  assert.equal(driverConnection!.open, false);
  assert.equal(pool.overflow(), -5);
});

Deno.test("QueuePool with idleTimeoutMs keeps a connection used more recently than that", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    clock: clock.fn,
    idleTimeoutMs: 5,
  });
  const older = await pool.connect();
  const newer = await pool.connect();
  const olderConnection = older.dbapiConnection;
  const newerConnection = newer.dbapiConnection!;
  await older.close();
  clock.advance(3);
  await newer.close();
  clock.advance(2);
  assert.equal(await nextClose(pool), olderConnection);
  assert.equal(newerConnection.open, true);
  assert.equal(pool.checkedIn(), 1);
  clock.advance(3);
  assert.equal(await nextClose(pool), newerConnection);
});

Deno.test("QueuePool with minIdle opens connections in the background after it starts", async () => {
  const driver = new FakeDriver({ async: true });
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    minIdle: 2,
  });
  assert.equal(driver.counts.create, undefined);
  await until(() => pool.checkedIn() === 2, "two idle connections");
  assert.equal(driver.counts.create, 2);
  assert.equal(pool.checkedOut(), 0);
});

Deno.test("QueuePool with idleTimeoutMs never closes below minIdle", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    clock: clock.fn,
    idleTimeoutMs: 5,
    minIdle: 1,
  });
  await until(() => pool.checkedIn() === 1, "one warm connection");
  const conns = [await pool.connect(), await pool.connect()];
  for (const conn of conns) await conn.close();
  assert.equal(pool.checkedIn(), 2);
  clock.advance(5);
  await nextClose(pool);
  await until(() => pool.checkedIn() === 1, "one idle connection left");
  clock.advance(50);
  assert.equal(pool.checkedIn(), 1);
  assert.equal(driver.counts.create, 2);
});

Deno.test("QueuePool with idleTimeoutMs closes an idle connection on time while a minIdle fill waits for a long backoff", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    clock: clock.fn,
    poolSize: 3,
    idleTimeoutMs: 5,
    minIdle: 1,
    createBackoffMs: 3_600_000,
  });
  await until(() => pool.checkedIn() === 1, "one warm connection");
  const conns = [await pool.connect(), await pool.connect()];
  // A failed creation: the fill it starts backs off for an hour.
  driver.failNext.push(new Error("refused"));
  await assert.rejects(pool.connect(), /refused/);
  await until(
    () => pool.stats().createFailures === 2,
    "the fill tried and met the backoff",
  );
  for (const conn of conns) await conn.close();
  assert.equal(pool.checkedIn(), 2);
  clock.advance(5);
  assert.equal(await nextClose(pool), driver.connections[0]);
  assert.equal(pool.checkedIn(), 1);
});

Deno.test("QueuePool with minIdle reopens in the background a warm connection that was invalidated", async () => {
  const driver = new FakeDriver({ async: true });
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 2,
    minIdle: 1,
  });
  await until(() => pool.checkedIn() === 1, "one warm connection");
  const conn = await pool.connect();
  await conn.invalidate();
  await until(() => driver.counts.create === 2, "a new warm connection");
  assert.equal(pool.checkedIn(), 1);
  await until(() => driver.openCount === 1, "the new connection open");
  await using again = await pool.connect();
  assert.equal(again.dbapiConnection, driver.connections[1]);
  assert.equal(driver.counts.create, 2);
});

Deno.test("QueuePool with minIdle logs a failed background creation and tries again after the backoff", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  const { logger, lines } = recordingLogger();
  driver.down = true;
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    clock: clock.fn,
    logger,
    minIdle: 1,
    createBackoffMs: 10,
  });
  await until(
    () => lines.some((l) => l.level === "warn"),
    "a warning for the failed creation",
  );
  assert.match(
    lines.find((l) => l.level === "warn")!.line,
    /^Exception creating a connection for minIdle: .*fake server is down/,
  );
  assert(
    lines.find((l) => l.level === "warn")!.context.error instanceof
      FakeDisconnect,
  );
  assert.equal(driver.counts.create, 1);
  driver.down = false;
  clock.advance(13);
  await until(
    () => pool.checkedIn() === 1,
    "the pool filled after the backoff",
  );
  assert.equal(driver.counts.create, 2);
});

Deno.test("QueuePool rejects a minIdle above poolSize with RangeError", () => {
  assert.throws(
    () => new QueuePool(() => ({}), { poolSize: 2, minIdle: 3 }),
    new RangeError(
      'Cannot create pool: "minIdle" must be at most "poolSize" (2), received 3',
    ),
  );
  assert.throws(
    () => new QueuePool(() => ({}), { minIdle: 1.5 }),
    RangeError,
  );
  assert.throws(
    () => new QueuePool(() => ({}), { minIdle: "1" as unknown as number }),
    TypeError,
  );
});
