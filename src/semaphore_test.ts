import assert from "node:assert/strict";
import { Semaphore } from "../mod.ts";
import { tick } from "./_test_helpers.ts";

/** Records the order in which acquisitions resolve. */
function acquireAs(
  semaphore: Semaphore,
  label: string,
  order: string[],
  signal?: AbortSignal,
): Promise<void> {
  return semaphore.acquire(signal === undefined ? undefined : { signal }).then(
    () => {
      order.push(label);
    },
  );
}

Deno.test("Semaphore.acquire() takes free permits at once", async () => {
  const semaphore = new Semaphore(2);
  assert.equal(semaphore.available, 2);
  await semaphore.acquire();
  await semaphore.acquire({ signal: new AbortController().signal });
  assert.equal(semaphore.available, 0);
  assert.equal(semaphore.waiting, 0);
  semaphore.release();
  semaphore.release();
  assert.equal(semaphore.available, 2);
});

Deno.test("Semaphore.acquire() serves waiters in FIFO order", async () => {
  const semaphore = new Semaphore(1);
  await semaphore.acquire();
  const order: string[] = [];
  const waiters = ["a", "b", "c", "d", "e"].map((label) =>
    acquireAs(semaphore, label, order)
  );
  assert.equal(semaphore.waiting, 5);
  for (let i = 0; i < 5; i++) {
    semaphore.release();
    await waiters[i];
  }
  assert.deepEqual(order, ["a", "b", "c", "d", "e"]);
  semaphore.release();
  assert.equal(semaphore.available, 1);
});

Deno.test("Semaphore.release() hands the permit over directly, never raising available while waiters queue", async () => {
  const semaphore = new Semaphore(2);
  await semaphore.acquire();
  await semaphore.acquire();
  const order: string[] = [];
  const first = acquireAs(semaphore, "W1", order);
  const second = acquireAs(semaphore, "W2", order);
  semaphore.release();
  assert.equal(semaphore.available, 0);
  assert.equal(semaphore.waiting, 1);
  assert.equal(semaphore.tryAcquire(), false); // nobody can barge in
  semaphore.release();
  assert.equal(semaphore.available, 0);
  assert.equal(semaphore.waiting, 0);
  await Promise.all([first, second]);
  assert.deepEqual(order, ["W1", "W2"]);
  semaphore.release();
  semaphore.release();
  assert.equal(semaphore.available, 2);
});

Deno.test("Semaphore.acquire() made while waiters queue is served after them", async () => {
  const semaphore = new Semaphore(1);
  await semaphore.acquire();
  const order: string[] = [];
  const waiters = [
    acquireAs(semaphore, "W1", order),
    acquireAs(semaphore, "W2", order),
  ];
  semaphore.release(); // to W1
  await waiters[0];
  waiters.push(acquireAs(semaphore, "late", order)); // W2 still queued
  semaphore.release();
  semaphore.release();
  await Promise.all(waiters);
  assert.deepEqual(order, ["W1", "W2", "late"]);
  semaphore.release();
  assert.equal(semaphore.available, 1);
});

Deno.test("Semaphore.acquire() aborted while queued rejects with the reason unchanged; the others keep their order", async () => {
  const semaphore = new Semaphore(1);
  await semaphore.acquire();
  const order: string[] = [];
  const controllers = Array.from({ length: 5 }, () => new AbortController());
  const waiters = controllers.map((controller, i) =>
    acquireAs(semaphore, `W${i + 1}`, order, controller.signal)
  );
  const reason = { cancelled: "W3" };
  controllers[2]!.abort(reason);
  assert.equal(semaphore.waiting, 4); // removed at once
  await assert.rejects(waiters[2]!, (error) => error === reason);
  const reasonHead = new Error("W1 gave up");
  controllers[0]!.abort(reasonHead);
  await assert.rejects(waiters[0]!, (error) => error === reasonHead);
  assert.equal(semaphore.waiting, 3);
  for (const i of [1, 3, 4]) {
    semaphore.release();
    await waiters[i];
  }
  assert.deepEqual(order, ["W2", "W4", "W5"]);
  assert.equal(semaphore.available, 0);
  // Aborting after the grant changes nothing.
  controllers[1]!.abort(new Error("too late"));
  semaphore.release();
  assert.equal(semaphore.available, 1);
});

Deno.test("Semaphore.acquire() with an aborted signal rejects with its reason and takes no permit", async () => {
  const semaphore = new Semaphore(1);
  const reason = new Error("already aborted");
  await assert.rejects(
    semaphore.acquire({ signal: AbortSignal.abort(reason) }),
    (error) => error === reason,
  );
  assert.equal(semaphore.available, 1);
  assert.equal(semaphore.waiting, 0);
});

Deno.test("Semaphore waiters sharing one signal are all rejected by its abort; others still get permits", async () => {
  const semaphore = new Semaphore(1);
  await semaphore.acquire();
  const controller = new AbortController();
  const shared: Promise<void>[] = [];
  const order: string[] = [];
  const others: Promise<void>[] = [];
  for (let i = 0; i < 1_000; i++) {
    shared.push(semaphore.acquire({ signal: controller.signal }));
    if (i % 250 === 0) others.push(acquireAs(semaphore, `other${i}`, order));
  }
  assert.equal(semaphore.waiting, 1_004);
  const reason = new Error("shutdown");
  controller.abort(reason);
  assert.equal(semaphore.waiting, 4);
  for (const result of await Promise.allSettled(shared)) {
    assert.equal(result.status, "rejected");
    assert.equal((result as PromiseRejectedResult).reason, reason);
  }
  for (const other of others) {
    semaphore.release();
    await other;
  }
  assert.deepEqual(order, ["other0", "other250", "other500", "other750"]);
  semaphore.release();
  assert.equal(semaphore.available, 1);
});

Deno.test("Semaphore keeps one abort listener per shared signal and removes it when the waits settle", async () => {
  const semaphore = new Semaphore(0);
  const controller = new AbortController();
  const signal = controller.signal;
  let added = 0;
  let removed = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((...args: Parameters<typeof add>) => {
    added++;
    return add(...args);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
    removed++;
    return remove(...args);
  }) as typeof signal.removeEventListener;
  const waiters = Array.from(
    { length: 100 },
    () => semaphore.acquire({ signal }),
  );
  assert.equal(added, 1);
  for (let i = 0; i < 100; i++) semaphore.release();
  await Promise.all(waiters);
  assert.equal(removed, 1);
  assert.equal(semaphore.available, 0);
});

Deno.test("Semaphore.release() from an earlier abort listener skips the aborted waiter", async () => {
  const semaphore = new Semaphore(1);
  await semaphore.acquire();
  const controller = new AbortController();
  // Registered before the semaphore's listener: it runs first, while the
  // aborted waiter is still queued.
  controller.signal.addEventListener("abort", () => semaphore.release());
  const reason = new Error("stop");
  const aborted = semaphore.acquire({ signal: controller.signal });
  const order: string[] = [];
  const next = acquireAs(semaphore, "next", order);
  controller.abort(reason);
  await assert.rejects(aborted, (error) => error === reason);
  await next;
  assert.deepEqual(order, ["next"]);
  assert.equal(semaphore.waiting, 0);
  assert.equal(semaphore.available, 0);
  semaphore.release();
  assert.equal(semaphore.available, 1);
});

Deno.test("Semaphore.tryAcquire() takes a free permit or returns false", () => {
  const semaphore = new Semaphore(2);
  assert.equal(semaphore.tryAcquire(), true);
  assert.equal(semaphore.tryAcquire(), true);
  assert.equal(semaphore.available, 0);
  assert.equal(semaphore.tryAcquire(), false);
  assert.equal(semaphore.available, 0);
  semaphore.release();
  assert.equal(semaphore.tryAcquire(), true);
  assert.equal(new Semaphore(0).tryAcquire(), false);
});

Deno.test("Semaphore.acquire() on zero permits waits for a release", async () => {
  const semaphore = new Semaphore(0);
  let done = false;
  const waiter = semaphore.acquire().then(() => done = true);
  await tick();
  assert.equal(done, false);
  assert.equal(semaphore.waiting, 1);
  semaphore.release();
  await waiter;
  assert.equal(done, true);
  assert.equal(semaphore.available, 0);
});

Deno.test("Semaphore constructor rejects a non-number with TypeError", () => {
  for (const permits of ["3", undefined, null, 3n, {}]) {
    assert.throws(
      () => new Semaphore(permits as unknown as number),
      (error: unknown) => {
        assert(error instanceof TypeError, String(permits));
        assert.match(error.message, /"permits"/);
        return true;
      },
    );
  }
});

Deno.test("Semaphore constructor rejects negative, fractional or infinite permits with RangeError", () => {
  for (const permits of [-1, 1.5, NaN, Infinity, -Infinity]) {
    assert.throws(
      () => new Semaphore(permits),
      (error: unknown) => {
        assert(error instanceof RangeError, String(permits));
        assert.match(error.message, /"permits"/);
        assert(error.message.endsWith(`received ${permits}`), error.message);
        return true;
      },
    );
  }
  assert.equal(new Semaphore(0).available, 0);
});

Deno.test("Semaphore.release() beyond the permits acquired throws RangeError and changes nothing", async () => {
  const semaphore = new Semaphore(1);
  const overRelease = (error: unknown): boolean => {
    assert(error instanceof RangeError);
    assert.equal(
      error.message,
      "Cannot release semaphore: released more times than acquired (permits: 1)",
    );
    return true;
  };
  assert.throws(() => semaphore.release(), overRelease);
  assert.equal(semaphore.available, 1);
  await semaphore.acquire();
  semaphore.release();
  assert.throws(() => semaphore.release(), overRelease);
  assert.equal(semaphore.available, 1);
  const none = new Semaphore(0);
  assert.throws(() => none.release(), RangeError);
  assert.equal(none.available, 0);
});
