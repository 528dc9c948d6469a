/**
 * Timers of the pool's own upkeep, which must never keep a process alive.
 * The core is web-platform only, so the runtime's way to unref a timer is
 * found at run time: the handle's `unref()` (Node, Bun), else
 * `globalThis.Deno.unrefTimer()` looked up structurally, without importing
 * anything Deno-specific. Elsewhere (browsers, workers) the timer stays as
 * it is.
 *
 * @module
 */

/** A timer handle, whatever the runtime's `setTimeout` returns. */
export type TimerHandle = ReturnType<typeof setTimeout>;

/** Deno's global, as far as this file needs it. */
interface DenoTimers {
  unrefTimer?: (id: number) => void;
}

/** A `setTimeout` that does not keep the process alive. */
export function unrefTimeout(fn: () => void, ms: number): TimerHandle {
  const handle = setTimeout(fn, ms);
  const nodeHandle = handle as unknown as { unref?: unknown };
  if (
    typeof nodeHandle === "object" && nodeHandle !== null &&
    typeof nodeHandle.unref === "function"
  ) {
    (nodeHandle.unref as () => void).call(nodeHandle);
    return handle;
  }
  const deno = (globalThis as { Deno?: DenoTimers }).Deno;
  if (typeof handle === "number" && typeof deno?.unrefTimer === "function") {
    deno.unrefTimer(handle);
  }
  return handle;
}
