import assert from "node:assert/strict";
import { WaiterQueue } from "./_waiters.ts";
import { FakeClock } from "./_test_fake_driver.ts";
import { countListeners, sleep, watch } from "./_test_helpers.ts";

class Timeout extends Error {
  constructor() {
    super("timed out");
    this.name = "Timeout";
  }
}

function makeTimeout(): Timeout {
  return new Timeout();
}

Deno.test("WaiterQueue.grant() serves waiters in FIFO order", async () => {
  const queue = new WaiterQueue<number>(() => 0, makeTimeout);
  const order: number[] = [];
  const waiters = [1, 2, 3, 4].map((i) =>
    queue.wait(undefined, Infinity).then((value) => order.push(i * 10 + value))
  );
  assert.equal(queue.length, 4);
  for (let value = 1; value <= 4; value++) {
    assert.equal(queue.grant(value), true);
  }
  assert.equal(queue.length, 0);
  await Promise.all(waiters);
  assert.deepEqual(order, [11, 22, 33, 44]);
});

Deno.test("WaiterQueue.grant() returns false and keeps nothing when no waiter is queued", async () => {
  const queue = new WaiterQueue<string>(() => 0, makeTimeout);
  assert.equal(queue.grant("lost?"), false);
  const waiter = queue.wait(undefined, Infinity);
  assert.equal(queue.grant("value"), true);
  assert.equal(await waiter, "value");
  assert.equal(queue.grant("again"), false);
});

Deno.test("WaiterQueue.grant() of a promise resolves the waiter with its outcome", async () => {
  const queue = new WaiterQueue<string>(() => 0, makeTimeout);
  const resolved = queue.wait(undefined, Infinity);
  const rejected = queue.wait(undefined, Infinity);
  queue.grant(Promise.resolve("later"));
  const failure = new Error("checkout failed");
  queue.grant(Promise.reject(failure));
  assert.equal(await resolved, "later");
  await assert.rejects(rejected, (error) => error === failure);
});

Deno.test("WaiterQueue abort rejects with the reason unchanged and unlinks only that waiter", async () => {
  const queue = new WaiterQueue<number>(() => 0, makeTimeout);
  const controllers = Array.from({ length: 5 }, () => new AbortController());
  const waiters = controllers.map((c) => queue.wait(c.signal, Infinity));
  const reasons = [{ i: 0 }, { i: 2 }, { i: 4 }];
  controllers[2]!.abort(reasons[1]); // middle
  controllers[0]!.abort(reasons[0]); // head
  controllers[4]!.abort(reasons[2]); // tail
  assert.equal(queue.length, 2);
  await assert.rejects(waiters[0]!, (error) => error === reasons[0]);
  await assert.rejects(waiters[2]!, (error) => error === reasons[1]);
  await assert.rejects(waiters[4]!, (error) => error === reasons[2]);
  assert.equal(queue.headSignal, controllers[1]!.signal);
  queue.grant(1);
  assert.equal(queue.headSignal, controllers[3]!.signal);
  queue.grant(3);
  assert.equal(await waiters[1], 1);
  assert.equal(await waiters[3], 3);
  assert.equal(queue.headSignal, undefined);
  // A new waiter after the list was emptied from both ends still works.
  const last = queue.wait(undefined, Infinity);
  queue.grant(5);
  assert.equal(await last, 5);
});

Deno.test("WaiterQueue keeps one abort listener per signal and removes it when its waiters settle", async () => {
  const queue = new WaiterQueue<number>(() => 0, makeTimeout);
  const granted = new AbortController();
  const abortedSignal = new AbortController();
  const grantedCounts = countListeners(granted.signal);
  const abortedCounts = countListeners(abortedSignal.signal);
  const waiters: Promise<number>[] = [];
  for (let i = 0; i < 1_000; i++) {
    waiters.push(queue.wait(granted.signal, Infinity));
    waiters.push(queue.wait(abortedSignal.signal, Infinity));
  }
  assert.equal(grantedCounts.added, 1);
  assert.equal(abortedCounts.added, 1);
  const reason = new Error("all of them");
  abortedSignal.abort(reason);
  assert.equal(queue.length, 1_000);
  for (let i = 0; i < 1_000; i++) queue.grant(i);
  assert.equal(grantedCounts.removed, 1);
  const results = await Promise.allSettled(waiters);
  for (let i = 0; i < results.length; i++) {
    const result = results[i]!;
    if (i % 2 === 0) {
      assert.deepEqual(result, { status: "fulfilled", value: i / 2 });
    } else {
      assert.deepEqual(result, { status: "rejected", reason });
    }
  }
});

Deno.test("WaiterQueue.settleAborted() rejects head waiters whose signal aborted before their listener ran", async () => {
  const queue = new WaiterQueue<string>(() => 0, makeTimeout);
  const controller = new AbortController();
  const reason = new Error("stop");
  let grantedDuringDispatch: boolean | null = null;
  let leftDuringDispatch = -1;
  // Runs before the queue's own listener for this signal.
  controller.signal.addEventListener("abort", () => {
    leftDuringDispatch = queue.settleAborted();
    grantedDuringDispatch = queue.grant("value");
  });
  const first = queue.wait(controller.signal, Infinity);
  const second = queue.wait(controller.signal, Infinity);
  const plain = queue.wait(undefined, Infinity);
  controller.abort(reason);
  assert.equal(leftDuringDispatch, 1);
  assert.equal(grantedDuringDispatch, true);
  await assert.rejects(first, (error) => error === reason);
  await assert.rejects(second, (error) => error === reason);
  assert.equal(await plain, "value");
  assert.equal(queue.length, 0);
});

Deno.test("WaiterQueue.grant() skips aborted head waiters on its own", async () => {
  const queue = new WaiterQueue<string>(() => 0, makeTimeout);
  const controller = new AbortController();
  const reason = new Error("stop");
  let granted: boolean | null = null;
  controller.signal.addEventListener("abort", () => {
    granted = queue.grant("value");
  });
  const aborted = queue.wait(controller.signal, Infinity);
  controller.abort(reason);
  assert.equal(granted, false); // nobody else waits: the value was not taken
  await assert.rejects(aborted, (error) => error === reason);
});

Deno.test("WaiterQueue rejects a waiter once the clock reaches its deadline, not before", async () => {
  const clock = new FakeClock();
  const queue = new WaiterQueue<string>(clock.fn, makeTimeout);
  const waiter = watch(queue.wait(undefined, 5));
  // The timer fires after ~5 real ms, but the clock has not moved: re-armed.
  await sleep(30);
  assert.equal(waiter.settled, false);
  assert.equal(queue.length, 1);
  clock.advance(5); // == deadline
  await assert.rejects(waiter.promise, Timeout);
  assert.equal(queue.length, 0);
});

Deno.test("WaiterQueue honours fractional-millisecond deadlines", async () => {
  const clock = new FakeClock();
  clock.now = 100;
  const queue = new WaiterQueue<string>(clock.fn, makeTimeout);
  const waiter = watch(queue.wait(undefined, 100.5));
  clock.now = 100.4;
  await sleep(20);
  assert.equal(waiter.settled, false);
  clock.now = 100.5;
  await assert.rejects(waiter.promise, Timeout);
});

Deno.test("WaiterQueue expires only the waiters that are due and keeps the rest", async () => {
  const clock = new FakeClock();
  const queue = new WaiterQueue<string>(clock.fn, makeTimeout);
  const early = queue.wait(undefined, 1);
  const alsoEarly = queue.wait(undefined, 1);
  const late = watch(queue.wait(undefined, 1_000));
  clock.advance(1);
  await assert.rejects(early, Timeout);
  await assert.rejects(alsoEarly, Timeout);
  assert.equal(queue.length, 1);
  assert.equal(late.settled, false);
  queue.grant("late but served");
  assert.equal(await late.promise, "late but served");
});

Deno.test("WaiterQueue uses the timeout factory's thrown error as the reason", async () => {
  const clock = new FakeClock();
  const thrown = new Error("factory failed");
  const queue = new WaiterQueue<string>(clock.fn, () => {
    throw thrown;
  });
  const waiter = queue.wait(undefined, 0);
  await assert.rejects(waiter, (error) => error === thrown);
});

Deno.test("WaiterQueue does not fire a deadline beyond 2^31-1 ms early", async () => {
  let readings = 0;
  const clock = (): number => {
    readings++;
    return performance.now();
  };
  const queue = new WaiterQueue<string>(clock, makeTimeout);
  const controller = new AbortController();
  const waiter = watch(
    queue.wait(controller.signal, performance.now() + 2 ** 31 + 1_000),
  );
  const armed = readings;
  await sleep(50);
  assert.equal(waiter.settled, false);
  // setTimeout fires at once for delays above 2^31-1: the queue must clamp
  // them, not spin re-arming.
  assert.equal(readings, armed, "the deadline timer fired while waiting");
  const reason = new Error("cleanup");
  controller.abort(reason);
  await assert.rejects(waiter.promise, (error) => error === reason);
});

Deno.test("WaiterQueue with deadlines rejects none early by a real clock", async () => {
  const queue = new WaiterQueue<string>(() => performance.now(), makeTimeout);
  const timeoutMs = 15;
  const waits = await Promise.all(
    Array.from({ length: 200 }, () => {
      const start = performance.now();
      return queue.wait(undefined, start + timeoutMs).then(
        () => assert.fail("granted"),
        () => performance.now() - start,
      );
    }),
  );
  for (const waited of waits) assert(waited >= timeoutMs, `${waited} ms`);
});

Deno.test("WaiterQueue.waitLazily() stamps a whole batch with one clock reading taken after the waiters joined", async () => {
  let now = 0;
  let reads = 0;
  const queue = new WaiterQueue<number>(() => (reads++, now), () => "timeout");
  const waits = Array.from(
    { length: 100 },
    () => queue.waitLazily(undefined, 50),
  );
  const settled = Promise.allSettled(waits);
  assert.equal(reads, 1, "only the first waiter reads the clock as it joins");
  now = 7; // time passes before the stamp: it must not be earlier than the arrivals
  await Promise.resolve();
  assert.ok(
    reads >= 1 && reads <= 2,
    `one stamp (and one for the timer), got ${reads} readings`,
  );
  for (let i = 0; i < 100; i++) queue.grant(i);
  const outcomes = await settled;
  assert.ok(outcomes.every((o) => o.status === "fulfilled"));
});

Deno.test("WaiterQueue.waitLazily() keeps stamping correct when unstamped waiters are granted or aborted first", async () => {
  let now = 0;
  const queue = new WaiterQueue<string>(() => now, () => "timeout");
  const aborted = new AbortController();
  const first = queue.waitLazily(aborted.signal, 5);
  const second = queue.waitLazily(undefined, 5);
  const third = queue.waitLazily(undefined, 5);
  aborted.abort("gone"); // the unstamped head leaves
  assert.equal(queue.grant("value"), true); // so does the next one
  await assert.rejects(first, (reason) => reason === "gone");
  assert.equal(await second, "value");
  await sleep(0); // the stamp: the third waiter's deadline is 0 + 5
  now = 5;
  await assert.rejects(third, (reason) => reason === "timeout");
  assert.equal(queue.length, 0);
});

Deno.test("WaiterQueue.waitLazily() never rejects before timeoutMs of real time", async () => {
  const queue = new WaiterQueue<void>(() => performance.now(), () => "timeout");
  const started = performance.now();
  const waits = Array.from(
    { length: 50 },
    () => queue.waitLazily(undefined, 15),
  );
  const outcomes = await Promise.allSettled(waits);
  const waited = performance.now() - started;
  assert.ok(
    outcomes.every((o) => o.status === "rejected" && o.reason === "timeout"),
  );
  assert.ok(waited >= 15, `waited ${waited} ms, less than 15`);
});

Deno.test("WaiterQueue expires a storm in FIFO order, running rejection handlers between batches", async () => {
  const clock = new FakeClock();
  clock.now = 10;
  const queue = new WaiterQueue<string>(clock.fn, makeTimeout);
  const n = 5_000;
  const order: number[] = [];
  let mostOutstanding = 0;
  const waiters = Array.from(
    { length: n },
    (_, i) =>
      queue.wait(undefined, 10).then(
        () => assert.fail(`waiter ${i} was granted`),
        (error) => {
          assert(error instanceof Timeout);
          order.push(i);
          // Rejected so far (unlinked) minus handled so far: errors made
          // whose handlers have not run yet, all alive at once.
          const outstanding = n - queue.length - order.length;
          mostOutstanding = Math.max(mostOutstanding, outstanding);
        },
      ),
  );
  await Promise.all(waiters);
  assert.deepEqual(order, Array.from({ length: n }, (_, i) => i));
  assert.equal(queue.length, 0);
  assert(
    mostOutstanding < n / 4,
    `${mostOutstanding} of ${n} timeout errors were alive before any handler ran`,
  );
});

Deno.test("WaiterQueue hands a value released during an expiring storm to the oldest waiter left", async () => {
  const clock = new FakeClock();
  clock.now = 10;
  const queue = new WaiterQueue<string>(clock.fn, makeTimeout);
  const n = 5_000;
  const outcomes: string[] = new Array(n);
  let released = false;
  const waiters = Array.from(
    { length: n },
    (_, i) =>
      queue.wait(undefined, 10).then(
        (value) => {
          outcomes[i] = value;
        },
        () => {
          outcomes[i] = "timeout";
          if (!released) {
            released = true;
            // A caller's handler returns a connection mid-storm.
            assert.equal(queue.grant("released"), true);
          }
        },
      ),
  );
  await Promise.all(waiters);
  const served = outcomes.indexOf("released");
  assert(served > 0, "the released value was lost");
  assert.equal(outcomes.lastIndexOf("released"), served, "granted twice");
  assert.equal(
    outcomes.filter((outcome) => outcome === "timeout").length,
    n - 1,
  );
  assert.equal(queue.length, 0);
});

Deno.test("WaiterQueue does not expire a waiter that joined during a storm with a later deadline", async () => {
  const clock = new FakeClock();
  clock.now = 10;
  const queue = new WaiterQueue<string>(clock.fn, makeTimeout);
  const n = 5_000;
  let late: ReturnType<typeof watch<string>> | undefined;
  const storm = Array.from(
    { length: n },
    () =>
      queue.wait(undefined, 10).catch((error) => {
        assert(error instanceof Timeout);
        late ??= watch(queue.wait(undefined, 1_000));
      }),
  );
  await Promise.all(storm);
  assert(late !== undefined);
  assert.equal(queue.length, 1);
  await sleep(5);
  assert.equal(late.settled, false);
  assert.equal(queue.grant("served"), true);
  assert.equal(await late.promise, "served");
});

Deno.test("WaiterQueue.waitLazily() on an injected clock: the first waiter of a batch is stamped at its arrival, the rest never earlier than theirs", async () => {
  const clock = new FakeClock();
  const queue = new WaiterQueue<string>(clock.fn, makeTimeout);
  const first = watch(queue.waitLazily(undefined, 10));
  clock.advance(4); // before the batch's stamp
  const second = watch(queue.waitLazily(undefined, 10));
  await sleep(0); // the stamp: the second waiter's deadline is 4 + 10
  clock.advance(6); // 10: the first waiter's deadline, from its arrival
  await assert.rejects(first.promise, Timeout);
  assert.equal(second.settled, false);
  clock.advance(4); // 14
  await assert.rejects(second.promise, Timeout);
  assert.equal(queue.length, 0);
});
