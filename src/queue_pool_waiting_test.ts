/**
 * Tests of waiting for a connection on an exhausted `QueuePool`
 * (`src/queue_pool.ts` over the waiter queue of `src/_waiters.ts`): direct
 * hand-off to waiters in order, `timeoutMs`, capacity grants, and aborts
 * through `connect({ signal })` before, while and after waiting.
 *
 * @module
 */

import assert from "node:assert/strict";
import { PoolTimeoutError, QueuePool } from "../mod.ts";
import {
  FakeClock,
  type FakeConnection,
  fakeCreator,
  FakeDriver,
  type FakeEntry,
  type FakeProxy,
  recordingLogger,
} from "./_test_fake_driver.ts";
import { deferred, prng, sleep, tick, watch } from "./_test_helpers.ts";

/**
 * `promise`, or a failure if it is still pending after `ms` real ms: turns
 * a hang (a lost connection, with `timeoutMs: null`) into a test failure.
 * A watchdog, not a bound on how fast the pool is.
 */
async function watchdog<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: still pending after ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once `signal` has aborted. */
function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
}

// ---------------------------------------------------------------- Hand-off

Deno.test("QueuePool hands a returned connection to a waiting checkout without a new connection", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: 1_000,
    clock: clock.fn,
  });
  const held = await pool.connect();
  const driverConnection = held.dbapiConnection;
  const waiter = watch(pool.connect());
  await tick();
  assert.equal(waiter.settled, false);
  await held.close();
  assert.equal(pool.waiting(), 0); // handed over directly
  await using got = await waiter.promise;
  assert.equal(got.dbapiConnection, driverConnection);
  assert.equal(driver.counts.create, 1);
});

Deno.test("QueuePool hands returned connections to waiters in order; later callers queue behind them", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 2,
    maxOverflow: 0,
    timeoutMs: 10_000,
    clock: clock.fn,
  });
  let holding = [await pool.connect(), await pool.connect()];
  const served: string[] = [];
  const waiters = new Map<string, Promise<FakeProxy>>();
  const enqueue = (label: string) =>
    waiters.set(
      label,
      pool.connect().then((conn) => {
        served.push(label);
        return conn;
      }),
    );
  for (const label of ["W1", "W2", "W3", "W4"]) enqueue(label);
  // Return one: it goes straight to W1, never to the idle list.
  await holding[0]!.close();
  assert.equal(pool.checkedIn(), 0);
  assert.equal(pool.waiting(), 3);
  const w1 = await waiters.get("W1")!;
  enqueue("late"); // made while W2..W4 wait
  holding = [holding[1]!, w1];
  for (let i = 0; i < 4; i++) {
    const returned = holding.shift()!;
    await returned.close();
    assert.equal(pool.checkedIn(), 0);
    assert.equal(pool.waiting(), 3 - i);
    const label = ["W2", "W3", "W4", "late"][i]!;
    holding.push(await waiters.get(label)!);
  }
  assert.deepEqual(served, ["W1", "W2", "W3", "W4", "late"]);
  assert.equal(driver.counts.create, 2);
  for (const conn of holding) await conn.close();
  assert.equal(pool.checkedIn(), 2);
});

Deno.test("QueuePool grants capacity freed by a failed creator to the head waiter at once", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: 10_000,
    clock: clock.fn,
  });
  const creating = deferred();
  driver.gate = creating.promise;
  const failure = new Error("connection refused");
  driver.failNext.push(failure);
  const first = pool.connect();
  const waiter = watch(pool.connect());
  assert.equal(pool.waiting(), 1);
  driver.gate = null;
  creating.resolve();
  await assert.rejects(first, (error) => error === failure);
  // The fake clock never moves: only a capacity grant can serve the waiter.
  assert.equal(pool.waiting(), 0, "the freed capacity was not granted");
  await using got = await waiter.promise;
  assert.equal(got.dbapiConnection, driver.connections[0]);
  assert.equal(driver.counts.create, 2);
  assert.equal(pool.checkedOut(), 1);
  assert.equal(pool.overflow(), 0);
});

// ---------------------------------------------------------------- Timeouts

Deno.test("QueuePool with size 2 overflow 1 times out the 4th checkout after 100 ms", async () => {
  await using pool = new QueuePool(fakeCreator(), {
    poolSize: 2,
    maxOverflow: 1,
    timeoutMs: 100,
  });
  const held: FakeProxy[] = [];
  for (let i = 0; i < 3; i++) held.push(await pool.connect());
  const start = performance.now();
  const error = await pool.connect().then(
    () => assert.fail("the 4th checkout succeeded"),
    (error: unknown) => error,
  );
  const waited = performance.now() - start;
  assert(error instanceof PoolTimeoutError);
  assert.equal(error.name, "PoolTimeoutError");
  assert.equal(
    error.message,
    "QueuePool limit of size 2 overflow 1 reached, connection timed out, timeout 100 ms",
  );
  assert.equal(error.size, 2);
  assert.equal(error.overflow, 1);
  assert.equal(error.checkedOut, 3);
  assert.equal(error.timeoutMs, 100);
  assert(waited >= 100, `waited only ${waited} ms`);
  for (const conn of held) await conn.close();
});

Deno.test("QueuePool with maxOverflow 0 times out the 4th checkout, never early", async () => {
  const timeoutMs = 30;
  await using pool = new QueuePool(fakeCreator(), {
    poolSize: 3,
    maxOverflow: 0,
    timeoutMs,
  });
  const held: FakeProxy[] = [];
  for (let i = 0; i < 3; i++) held.push(await pool.connect());
  for (let round = 0; round < 5; round++) {
    const start = performance.now();
    await assert.rejects(pool.connect(), PoolTimeoutError);
    const waited = performance.now() - start;
    assert(waited >= timeoutMs, `waited only ${waited} ms`);
  }
  assert.equal(pool.checkedOut(), 3);
  for (const conn of held) await conn.close();
});

Deno.test("QueuePool with timeoutMs null waits until a connection is returned", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: null,
  });
  assert.equal(pool.timeout(), null);
  const held = await pool.connect();
  const waiter = watch(pool.connect());
  await sleep(50);
  assert.equal(waiter.settled, false);
  assert.equal(pool.waiting(), 1);
  const driverConnection = held.dbapiConnection;
  await held.close();
  assert.equal(pool.waiting(), 0); // handed over directly
  await using got = await waiter.promise;
  assert.equal(got.dbapiConnection, driverConnection);
});

Deno.test("QueuePool rejects waiters timing out together, each after at least timeoutMs", async () => {
  const timeoutMs = 30;
  await using pool = new QueuePool(fakeCreator(), {
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs,
  });
  await using _held = await pool.connect();
  const waits = await Promise.all(
    Array.from({ length: 50 }, () => {
      const start = performance.now();
      return pool.connect().then(
        () => assert.fail("a waiter was served"),
        (error: unknown) => {
          assert(error instanceof PoolTimeoutError);
          assert.equal(error.timeoutMs, timeoutMs);
          assert.equal(error.checkedOut, 1);
          return performance.now() - start;
        },
      );
    }),
  );
  for (const waited of waits) {
    assert(waited >= timeoutMs, `waited only ${waited} ms`);
  }
  assert.equal(pool.waiting(), 0);
});

/** Runs `n` waiters into a timeout on an exhausted pool; returns the elapsed ms. */
async function timeoutStorm(n: number, timeoutMs: number): Promise<number> {
  await using pool = new QueuePool(fakeCreator(), {
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs,
  });
  await using _held = await pool.connect();
  const shortest = { ms: Infinity };
  let rejected = 0;
  const started = performance.now();
  const all: Promise<void>[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    all[i] = pool.connect().then(
      () => assert.fail("a waiter was served"),
      (error: unknown) => {
        const waited = performance.now() - start;
        if (!(error instanceof PoolTimeoutError)) throw error;
        rejected++;
        if (waited < shortest.ms) shortest.ms = waited;
      },
    );
  }
  await Promise.all(all);
  const elapsed = performance.now() - started;
  assert.equal(rejected, n);
  assert(shortest.ms >= timeoutMs, `a waiter waited only ${shortest.ms} ms`);
  assert.equal(pool.waiting(), 0);
  return elapsed;
}

Deno.test("QueuePool times out a storm of 20000 waiters in linear time, none early", async () => {
  const timeoutMs = 20;
  await timeoutStorm(500, timeoutMs); // warm-up
  const small = await timeoutStorm(2_500, timeoutMs);
  const large = await timeoutStorm(20_000, timeoutMs);
  // Linear is about 8x (the per-waiter cost dominates the fixed timeout);
  // quadratic would be about 64x. Allow twice linear for noise.
  assert(
    large < 16 * small,
    `20000 waiters took ${large} ms, 2500 took ${small} ms`,
  );
});

Deno.test("QueuePool with timeoutMs above 2^31-1 does not time out early", async () => {
  const timeoutMs = 2 ** 31 + 1000;
  let readings = 0;
  const clock = (): number => {
    readings++;
    return performance.now(); // the real clock, counted
  };
  await using pool = new QueuePool(fakeCreator(), {
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs,
    clock,
  });
  assert.equal(pool.timeout(), timeoutMs);
  await using _held = await pool.connect();
  const controller = new AbortController();
  const waiter = watch(pool.connect({ signal: controller.signal }));
  const before = readings;
  await sleep(50);
  assert.equal(waiter.settled, false);
  assert.equal(pool.waiting(), 1);
  // An unclamped delay fires at once and keeps re-arming (reading the clock).
  assert.equal(readings, before, "the deadline timer fired while waiting");
  const reason = new Error("cleanup");
  controller.abort(reason);
  await assert.rejects(waiter.promise, (error) => error === reason);
});

// ------------------------------------------------------------------ Aborts

Deno.test("QueuePool.connect() with an aborted signal rejects with its reason and changes nothing", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 1,
    maxOverflow: 0,
  });
  const reason = { why: "already aborted" };
  const signal = AbortSignal.abort(reason);
  const before = pool.status();
  await assert.rejects(pool.connect({ signal }), (error) => error === reason);
  assert.equal(driver.counts.create, undefined);
  assert.equal(pool.status(), before);
  // Also on an exhausted pool: nothing is queued.
  const held = await pool.connect();
  const exhausted = pool.status();
  await assert.rejects(pool.connect({ signal }), (error) => error === reason);
  assert.equal(pool.waiting(), 0);
  assert.equal(pool.status(), exhausted);
  assert.equal(driver.counts.create, 1);
  await held.close();
});

Deno.test("QueuePool.connect() aborted while queued rejects with the reason; the next waiter gets the connection", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: 10_000,
    clock: clock.fn,
  });
  const held = await pool.connect();
  const controller = new AbortController();
  const reason = new Error("user gave up");
  const first = pool.connect({ signal: controller.signal });
  const second = watch(pool.connect());
  assert.equal(pool.waiting(), 2);
  controller.abort(reason);
  assert.equal(pool.waiting(), 1); // removed at once
  await assert.rejects(first, (error) => error === reason);
  const driverConnection = held.dbapiConnection;
  await held.close();
  assert.equal(pool.waiting(), 0); // handed over directly
  await using got = await second.promise;
  assert.equal(got.dbapiConnection, driverConnection);
  assert.equal(driver.counts.create, 1);
  assert.equal(pool.checkedOut(), 1);
  assert.equal(pool.waiting(), 0);
});

for (const withListener of [false, true]) {
  Deno.test(
    `QueuePool hands a connection released from an abort listener past the aborted waiter${
      withListener ? " (checkout listener)" : ""
    }`,
    async () => {
      const driver = new FakeDriver();
      const { logger, lines } = recordingLogger();
      await using pool = new QueuePool(driver.creator, {
        poolSize: 1,
        maxOverflow: 0,
        timeoutMs: null,
        logger,
      });
      if (withListener) pool.on("checkout", () => {});
      const held = await pool.connect();
      const controller = new AbortController();
      const reason = new Error("stop");
      let released: Promise<void> | null = null;
      // Registered before the waiter's own listener: it runs first, while the
      // aborted waiter is still queued.
      controller.signal.addEventListener("abort", () => {
        released = held.close();
      });
      const aborted = pool.connect({ signal: controller.signal });
      const next = pool.connect();
      controller.abort(reason);
      await assert.rejects(aborted, (error) => error === reason);
      await released;
      assert.equal(pool.waiting(), 0); // handed over to the next waiter
      await using got = await next;
      assert.equal(got.dbapiConnection, driver.connections[0]);
      assert.equal(pool.checkedOut(), 1);
      assert.equal(pool.waiting(), 0);
      assert.deepEqual(lines.filter((l) => l.level === "error"), []);
    },
  );
}

Deno.test("QueuePool.connect() aborted during a slow creator rejects promptly; the connection comes back", async () => {
  const driver = new FakeDriver();
  const creating = deferred();
  driver.gate = creating.promise;
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: 10_000,
    clock: clock.fn,
  });
  const checkins: string[] = [];
  pool.on("checkin", (conn) => {
    checkins.push(conn === null ? "null" : `connection ${conn.id}`);
  });
  const controller = new AbortController();
  const reason = new Error("abandoned");
  const abandoned = pool.connect({ signal: controller.signal });
  await tick();
  assert.equal(driver.counts.create, 1); // the creator is running
  controller.abort(reason);
  await assert.rejects(abandoned, (error) => error === reason);
  assert.equal(driver.connections.length, 0); // rejected before the creator finished
  assert.equal(pool.checkedOut(), 1); // the slot is still being connected
  const next = pool.connect(); // waits for the background checkout
  driver.gate = null;
  creating.resolve();
  await tick(); // the background checkout completes and is returned
  assert.equal(pool.waiting(), 0);
  await using got = await next;
  assert.equal(got.dbapiConnection, driver.connections[0]);
  assert.equal(driver.connections[0]!.open, true);
  assert.equal(driver.counts.create, 1);
  assert.deepEqual(checkins, ["connection 1"]); // the abandoned checkout was returned normally
  assert.equal(pool.checkedOut(), 1);
});

Deno.test("QueuePool waiter aborted after the grant, during its reconnect, rejects promptly; the full pool is usable again", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 2,
    maxOverflow: 0,
    timeoutMs: 10_000,
    clock: clock.fn,
  });
  const a = await pool.connect();
  const b = await pool.connect();
  const controller = new AbortController();
  const reason = new Error("abandoned");
  const waiter = pool.connect({ signal: controller.signal });
  const creating = deferred();
  driver.gate = creating.promise;
  await a.invalidate(); // the empty entry is granted to the waiter, which reconnects
  await tick();
  assert.equal(driver.counts.create, 3);
  assert.equal(pool.waiting(), 0);
  controller.abort(reason);
  await assert.rejects(waiter, (error) => error === reason);
  assert.equal(driver.connections.length, 2);
  driver.gate = null;
  creating.resolve();
  await tick(); // the background checkout completes and is returned
  assert.equal(pool.checkedIn(), 1);
  const full = [await pool.connect()];
  await b.close();
  full.push(await pool.connect());
  assert.equal(pool.checkedOut(), 2);
  assert.deepEqual(
    new Set(full.map((p) => p.dbapiConnection)),
    new Set([driver.connections[1], driver.connections[2]]),
  );
  for (const conn of full) await conn.close();
  assert.equal(pool.checkedOut(), 0);
  assert.equal(pool.checkedIn(), 2);
});

Deno.test("QueuePool waiters sharing one signal are all rejected by its abort; others are still served", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: 10_000,
    clock: clock.fn,
  });
  const held = await pool.connect();
  const controller = new AbortController();
  const reason = new Error("shutdown");
  const shared: Promise<FakeProxy>[] = [];
  const others: Promise<FakeProxy>[] = [];
  for (let i = 0; i < 100; i++) {
    shared.push(pool.connect({ signal: controller.signal }));
    if (i % 25 === 0) others.push(pool.connect());
  }
  assert.equal(pool.waiting(), 104);
  controller.abort(reason);
  assert.equal(pool.waiting(), 4);
  const results = await Promise.allSettled(shared);
  for (const result of results) {
    assert.equal(result.status, "rejected");
    assert.equal((result as PromiseRejectedResult).reason, reason);
  }
  await held.close();
  for (let i = 0; i < others.length; i++) {
    assert.equal(pool.waiting(), others.length - 1 - i); // handed over directly
    const conn = await others[i]!;
    assert.equal(conn.dbapiConnection, driver.connections[0]);
    await conn.close();
  }
  assert.equal(driver.counts.create, 1);
  assert.equal(pool.checkedIn(), 1);
});

for (const withListeners of [false, true]) {
  Deno.test(
    `QueuePool loses and double-grants nothing when random aborts race hand-offs${
      withListeners ? " (with listeners)" : ""
    }`,
    async () => {
      const seed = withListeners ? 0xdb9001 : 0xdb9000;
      const random = prng(seed);
      const driver = new FakeDriver({ createDelayMs: 1 });
      const { logger, lines } = recordingLogger();
      await using pool = new QueuePool(driver.creator, {
        poolSize: 4,
        maxOverflow: 0,
        timeoutMs: null,
        dialect: driver.dialect,
        logger,
      });
      // With listeners every checkout is slow-path and tracked by events,
      // including the ones completing in the background after an abort.
      const busy = new Map<FakeConnection, FakeEntry>();
      const entryConnection = new Map<FakeEntry, FakeConnection>();
      let checkouts = 0;
      let checkins = 0;
      if (withListeners) {
        pool.on("checkout", async (conn, entry) => {
          checkouts++;
          assert(
            !busy.has(conn),
            `seed ${seed}: connection #${conn.id} checked out twice`,
          );
          assert(conn.open, `seed ${seed}: checked out a closed connection`);
          busy.set(conn, entry);
          entryConnection.set(entry, conn);
          if (random() < 0.3) await Promise.resolve();
        });
        pool.on("checkin", (_conn, entry) => {
          checkins++;
          const conn = entryConnection.get(entry);
          if (conn !== undefined) busy.delete(conn);
          entryConnection.delete(entry);
        });
      }
      const held = new Set<FakeConnection>();
      const pending: Promise<unknown>[] = [];
      let served = 0;
      let rejected = 0;

      function makeSignal(): AbortSignal | undefined {
        const pick = random();
        if (pick < 0.25) return undefined;
        if (pick < 0.5) {
          const signal = AbortSignal.timeout(Math.floor(random() * 3));
          pending.push(aborted(signal));
          return signal;
        }
        const controller = new AbortController();
        const reason = new Error("cancelled");
        const when = random();
        if (when < 0.05) controller.abort(reason);
        else if (when < 0.4) queueMicrotask(() => controller.abort(reason));
        else {
          const delay = Math.floor(random() * 3);
          pending.push(
            new Promise<void>((resolve) =>
              setTimeout(() => {
                controller.abort(reason);
                resolve();
              }, delay)
            ),
          );
        }
        return controller.signal;
      }

      async function task(): Promise<void> {
        for (let i = 0; i < 20; i++) {
          const signal = makeSignal();
          let proxy: FakeProxy;
          try {
            proxy = await pool.connect(
              signal === undefined ? undefined : { signal },
            );
          } catch (error) {
            assert(
              signal?.aborted,
              `seed ${seed}: unexpected rejection ${error}`,
            );
            assert.equal(error, signal.reason);
            rejected++;
            continue;
          }
          const conn = proxy.dbapiConnection!;
          assert(conn.open, `seed ${seed}: granted a closed connection`);
          assert(
            !held.has(conn),
            `seed ${seed}: connection #${conn.id} granted twice`,
          );
          held.add(conn);
          served++;
          if (random() < 0.5) await Promise.resolve();
          else await tick();
          held.delete(conn);
          if (random() < 0.1) await proxy.invalidate();
          else await proxy.close();
        }
      }

      await watchdog(
        Promise.all(Array.from({ length: 200 }, task)),
        60_000,
        `seed ${seed}: the tasks`,
      );
      await Promise.all(pending);
      assert(served > 0, "nothing was served");
      assert(rejected > 0, "nothing was aborted");

      // The full pool can be checked out at once (waiting for any background checkout).
      const all = await watchdog(
        Promise.all([0, 1, 2, 3].map(() => pool.connect())),
        10_000,
        `seed ${seed}: checking out the full pool (a connection was lost)`,
      );
      assert.equal(pool.checkedOut(), 4);
      assert.equal(new Set(all.map((p) => p.dbapiConnection)).size, 4);
      for (const conn of all) assert(conn.dbapiConnection!.open);
      for (const conn of all) await conn.close();
      assert.equal(pool.checkedOut(), 0);
      assert.equal(pool.checkedIn(), 4);
      assert.equal(pool.overflow(), 0);
      assert.equal(pool.waiting(), 0);
      if (withListeners) {
        assert.equal(busy.size, 0);
        assert(checkouts >= served);
        assert.equal(checkins, checkouts); // every checkout, also abandoned ones, was returned
      }
      // No connection lost: every open driver connection was in the pool.
      await pool.dispose();
      assert.equal(driver.openCount, 0);
      assert.deepEqual(
        lines.filter((l) => l.level === "warn" || l.level === "error"),
        [],
      );
    },
  );
}
