/**
 * Test helper: counts the unhandled promise rejections that happen while a
 * test runs, instead of letting the first one end the test process.
 *
 * Only for the duration of the count: {@linkcode countUnhandledRejections}
 * adds an `unhandledrejection` listener that records each event and calls
 * `preventDefault()` on it, and disposing the counter removes the listener,
 * so rejections outside the count still surface (and fail the run) as
 * usual.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { countUnhandledRejections } from "./_unhandled_rejections.ts";
 *
 * using unhandled = countUnhandledRejections();
 * await doSomethingRisky();
 * await unhandled.settle();
 * assert.deepEqual(unhandled.reasons, []);
 * ```
 *
 * @module
 */

/** A running count, as returned by {@linkcode countUnhandledRejections}. */
export interface UnhandledRejections extends Disposable {
  /** How many rejections went unhandled so far. */
  readonly count: number;
  /** Their reasons, in order. */
  readonly reasons: readonly unknown[];
  /**
   * Lets the runtime report the rejections left unhandled so far: it does
   * so once the microtasks of the current task have run, so this waits two
   * turns of the event loop.
   */
  settle(): Promise<void>;
}

/**
 * Starts counting unhandled rejections; dispose of the result to stop.
 *
 * @returns The count.
 */
export function countUnhandledRejections(): UnhandledRejections {
  const reasons: unknown[] = [];
  const listener = (event: PromiseRejectionEvent): void => {
    reasons.push(event.reason);
    event.preventDefault();
  };
  globalThis.addEventListener("unhandledrejection", listener);
  const turn = (): Promise<void> =>
    new Promise((resolve) => setTimeout(resolve, 0));
  return {
    get count(): number {
      return reasons.length;
    },
    reasons,
    async settle(): Promise<void> {
      await turn();
      await turn();
    },
    [Symbol.dispose](): void {
      globalThis.removeEventListener("unhandledrejection", listener);
    },
  };
}

/** The reasons, as text for an assertion message. */
export function describeReasons(reasons: readonly unknown[]): string {
  return reasons.map((reason) =>
    reason instanceof Error
      ? `${reason.name}: ${reason.message}`
      : String(reason)
  ).join("\n");
}
