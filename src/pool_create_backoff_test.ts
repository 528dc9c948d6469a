import assert from "node:assert/strict";
import { CreateBackoffError, NullPool, QueuePool } from "../mod.ts";
import {
  FakeClock,
  type FakeConnection,
  FakeDisconnect,
  FakeDriver,
} from "./_test_fake_driver.ts";
import { deferred, tick } from "./_test_helpers.ts";

/** A queue pool over `driver` with a fake clock and `createBackoffMs`. */
function backoffPool(
  driver: FakeDriver,
  clock: FakeClock,
  createBackoffMs: number | null,
): QueuePool<FakeConnection> {
  return new QueuePool(driver.creator, {
    dialect: driver.dialect,
    clock: clock.fn,
    createBackoffMs,
    poolSize: 2,
    maxOverflow: 2,
    timeoutMs: 0,
  });
}

function isBackoff(error: unknown): error is CreateBackoffError {
  return error instanceof CreateBackoffError;
}

Deno.test("without createBackoffMs every checkout that needs a connection calls the creator", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = backoffPool(driver, clock, null);
  driver.down = true;
  for (let i = 0; i < 5; i++) {
    await assert.rejects(pool.connect(), FakeDisconnect);
  }
  assert.equal(driver.counts.create, 5);
});

Deno.test("with createBackoffMs a failed creation makes the next checkouts fail fast with the last error as cause", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = backoffPool(driver, clock, 100);
  driver.down = true;
  await assert.rejects(pool.connect(), FakeDisconnect);
  for (let i = 0; i < 5; i++) {
    clock.advance(10);
    await assert.rejects(pool.connect(), (error) => {
      assert(isBackoff(error));
      assert.equal(error.name, "CreateBackoffError");
      assert(error.cause instanceof FakeDisconnect);
      assert(error.backoffMs >= 80 && error.backoffMs <= 120);
      assert(error.retryInMs > 0 && error.retryInMs <= error.backoffMs);
      assert.match(
        error.message,
        /^Cannot create a connection: backing off for \d+ ms after a failed creation \(createBackoffMs\)$/,
      );
      return true;
    });
  }
  assert.equal(driver.counts.create, 1);
  assert.equal(pool.checkedOut(), 0);
  assert.equal(pool.overflow(), -2);
});

Deno.test("with createBackoffMs the backoff doubles on each failure, with jitter, up to 30 s", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = backoffPool(driver, clock, 1_000);
  driver.down = true;
  await assert.rejects(pool.connect(), FakeDisconnect);
  const lengths: number[] = [];
  for (let round = 0; round < 8; round++) {
    const error = await pool.connect().then(
      () => assert.fail("expected a backoff"),
      (error: unknown) => error,
    );
    assert(isBackoff(error));
    lengths.push(error.backoffMs);
    clock.advance(error.retryInMs + 1);
    await assert.rejects(pool.connect(), FakeDisconnect);
  }
  assert.equal(driver.counts.create, 9);
  const nominal = [1, 2, 4, 8, 16, 30, 30, 30].map((s) => s * 1_000);
  lengths.forEach((length, i) => {
    assert(
      length >= nominal[i]! * 0.8 && length <= nominal[i]! * 1.2,
      `backoff ${i} is ${length} ms, nominal ${nominal[i]} ms`,
    );
  });
});

Deno.test("with createBackoffMs the first success after a backoff resets it", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = backoffPool(driver, clock, 100);
  driver.down = true;
  await assert.rejects(pool.connect(), FakeDisconnect);
  clock.advance(121);
  await assert.rejects(pool.connect(), FakeDisconnect);
  clock.advance(241);
  driver.down = false;
  await using _held = await pool.connect();
  driver.down = true;
  await assert.rejects(pool.connect(), FakeDisconnect);
  await assert.rejects(pool.connect(), (error) => {
    assert(isBackoff(error));
    assert(error.backoffMs <= 120, `backoff ${error.backoffMs} ms`);
    return true;
  });
});

Deno.test("with createBackoffMs idle connections are still handed out during a backoff", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = backoffPool(driver, clock, 100);
  const first = await pool.connect();
  const driverConnection = first.dbapiConnection;
  await first.close();
  driver.down = true;
  const held = await pool.connect();
  await assert.rejects(pool.connect(), FakeDisconnect);
  await assert.rejects(pool.connect(), CreateBackoffError);
  await held.close();
  await using again = await pool.connect();
  assert.equal(again.dbapiConnection, driverConnection);
});

Deno.test("with createBackoffMs creations failing together start one backoff, and one creation is tried when it ends", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = backoffPool(driver, clock, 100);
  driver.down = true;
  const gate = deferred();
  driver.gate = gate.promise;
  const together = [pool.connect(), pool.connect(), pool.connect()];
  await tick();
  gate.resolve();
  for (const attempt of together) {
    await assert.rejects(attempt, FakeDisconnect);
  }
  assert.equal(driver.counts.create, 3);
  await assert.rejects(pool.connect(), (error) => {
    assert(isBackoff(error));
    assert(
      error.backoffMs <= 120,
      `one failure, not three: ${error.backoffMs}`,
    );
    return true;
  });
  clock.advance(121);
  const probeGate = deferred();
  driver.gate = probeGate.promise;
  driver.down = false;
  const probe = pool.connect();
  await tick();
  await assert.rejects(pool.connect(), (error) => {
    assert(isBackoff(error));
    assert.equal(error.retryInMs, 0);
    return true;
  });
  probeGate.resolve();
  driver.gate = null;
  await using conn = await probe;
  await using second = await pool.connect();
  assert.notEqual(second.dbapiConnection, conn.dbapiConnection);
  assert.equal(driver.counts.create, 5);
});

Deno.test("with createBackoffMs a NullPool backs off too", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new NullPool(driver.creator, {
    dialect: driver.dialect,
    clock: clock.fn,
    createBackoffMs: 50,
  });
  driver.down = true;
  await assert.rejects(pool.connect(), FakeDisconnect);
  await assert.rejects(pool.connect(), CreateBackoffError);
  clock.advance(61);
  driver.down = false;
  await using _conn = await pool.connect();
  assert.equal(driver.counts.create, 2);
});
