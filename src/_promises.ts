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
