/**
 * Small helpers shared by the unit tests: timing, promises, errors,
 * temporary directories, a seeded PRNG and a count of a signal's
 * listeners. Not published.
 *
 * @module
 */

import assert from "node:assert/strict";
import { poolInternals } from "./_pool_classes.ts";

/** Resolves after one macrotask, so queued microtasks and due timers have run. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Real time passing, to show that something does NOT happen meanwhile. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Watches a promise without consuming its rejection. */
export function watch<T>(promise: Promise<T>): {
  readonly settled: boolean;
  promise: Promise<T>;
} {
  const state = { settled: false, promise };
  promise.then(
    () => state.settled = true,
    () => state.settled = true,
  );
  return state;
}

/** A promise and the function that resolves it. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => resolve = r);
  return { promise, resolve };
}

/** The rejection of `promise`, which must reject. */
export async function rejection(
  promise: PromiseLike<unknown>,
): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("expected a rejection");
}

/**
 * Everything an error shows: message, stack, properties, causes (to check
 * that a secret appears nowhere in it). Not the pool's own `errorText()` in
 * `_log.ts`, which renders an error for a log line.
 */
export function inspectError(error: unknown): string {
  return `${String(error)}\n${Deno.inspect(error, { depth: 6 })}`;
}

/** A temporary directory whose name starts with `prefix`, removed on dispose. */
export async function tempDir(
  prefix: string,
): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

/** A small seeded PRNG (mulberry32) returning floats in [0, 1), so a failing run can be replayed. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Counts `addEventListener` and `removeEventListener` calls on a signal. */
export function countListeners(
  signal: AbortSignal,
): { added: number; removed: number } {
  const counts = { added: 0, removed: 0 };
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((...args: Parameters<typeof add>) => {
    counts.added++;
    return add(...args);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
    counts.removed++;
    return remove(...args);
  }) as typeof signal.removeEventListener;
  return counts;
}

/**
 * Turns off the pool's jitter (recycle and creation backoff), for tests of
 * exact thresholds: every random draw is `0`, so `recycleMs` is exact and
 * a backoff lasts 80% of its nominal length.
 */
export function withoutJitter<P extends object>(pool: P): P {
  poolInternals.engine(pool).context.random = () => 0;
  return pool;
}
