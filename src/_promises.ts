/**
 * Small helpers for values that may or may not be promises. The pool awaits
 * only real promises, so a synchronous driver, creator or listener costs no
 * extra microtask.
 *
 * @module
 */

/** A settled promise, shared by every path that has nothing to wait for. */
export const RESOLVED: Promise<void> = Promise.resolve();

/** Whether `value` is a native promise (the only kind the pool awaits without adopting it). */
export function isPromise(value: unknown): value is Promise<unknown> {
  return value instanceof Promise;
}

/** Whether `value` has a `then` method (a native promise or another thenable). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") &&
    value !== null && typeof (value as { then?: unknown }).then === "function";
}

/** Does nothing; handles an outcome that is deliberately ignored. */
export function ignore(): void {}

/**
 * Settles like `work`, or rejects with the error `timedOut()` makes once
 * `timeoutMs` have passed first; the late outcome of `work` is then
 * ignored. `null` returns `work` itself.
 */
export function withTimeout<T>(
  work: Promise<T>,
  timeoutMs: number | null,
  timedOut: () => unknown,
): Promise<T> {
  if (timeoutMs === null) return work;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      work.then(ignore, ignore);
      reject(timedOut());
    }, timeoutMs);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * Settles like `work`, except that it rejects with `signal.reason` as soon
 * as `signal` aborts. `work` is not interrupted: it runs on, and its late
 * outcome goes to `lateValue` or `lateError` instead. The abort listener
 * is removed once `work` settles.
 */
export function raceAbort<T>(
  work: Promise<T>,
  signal: AbortSignal,
  lateValue: (value: T) => void,
  lateError: (error: unknown) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let aborted = false;
    const onAbort = (): void => {
      aborted = true;
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        if (aborted) lateValue(value);
        else resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        if (aborted) lateError(error);
        else reject(error);
      },
    );
  });
}
