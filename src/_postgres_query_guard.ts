/**
 * The query guard of the postgres.js adapter: every query made through a
 * connection of the creator's passes through {@linkcode guardReserved}.
 *
 * - A query that starts once its session is gone rejects with a
 *   `CONNECTION_CLOSED` error instead of running, and so does `notify()`.
 *   postgres.js 3.4 would otherwise write to a `null` socket from a
 *   `setImmediate` callback, an uncaught `TypeError` that ends the process.
 * - A query counts in its state's `running` from the moment postgres.js is
 *   asked to run it until it settles, once, however many times it is
 *   started or settled: `running` never goes below zero and a settled
 *   query never stays counted.
 * - Only the postgres.js internals that are there are wrapped: with a
 *   version that lacks them, queries run unguarded and uncounted, and
 *   nothing else changes. Results, errors and the helpers that make no
 *   query (`sql("name")`, `sql.array()`, …) pass through unchanged.
 *
 * @module
 */

import type { ReservedSql } from "npm:postgres@^3";
import {
  closedError,
  type EntryState,
  isGone,
} from "./_postgres_entry_state.ts";

type QueryHandler = ((query: unknown) => unknown) & { debug?: unknown };
type Settle = (value: unknown) => unknown;

/**
 * Counts the query in `state.running` from the moment postgres.js is asked
 * to run it until it settles. postgres.js settles a query by calling its
 * `resolve` / `reject` properties (replaced by its cursor iterator as it
 * goes), so those become accessors that wrap whatever is assigned to them.
 * Returns the function that starts the count (also called by the guarded
 * handler), or `null` if the query does not have that shape (another
 * postgres.js version: nothing is counted).
 */
function trackSettling(
  query: Promise<unknown>,
  state: EntryState,
): (() => void) | null {
  let resolve: unknown = Reflect.get(query, "resolve");
  let reject: unknown = Reflect.get(query, "reject");
  if (typeof resolve !== "function" || typeof reject !== "function") {
    return null;
  }
  let counted = false;
  const settled = (): void => {
    if (counted) {
      counted = false;
      state.running--;
    }
  };
  const resolveWrapper: Settle = (value) => {
    settled();
    return (resolve as Settle)(value);
  };
  const rejectWrapper: Settle = (reason) => {
    settled();
    return (reject as Settle)(reason);
  };
  Object.defineProperties(query, {
    resolve: {
      configurable: true,
      get: (): Settle => resolveWrapper,
      set: (fn: unknown): void => void (resolve = fn),
    },
    reject: {
      configurable: true,
      get: (): Settle => rejectWrapper,
      set: (fn: unknown): void => void (reject = fn),
    },
  });
  const start = (): void => {
    if (!counted) {
      counted = true;
      state.running++;
    }
  };
  // postgres.js asks for a query to run through `handle()` (from
  // `execute()`, `then()`, `forEach()`, …), and calls `handler` one
  // microtask later: count it from the request, so that a connection
  // returned right after `execute()` is already busy.
  const handle: unknown = Reflect.get(query, "handle");
  if (typeof handle === "function") {
    Reflect.set(query, "handle", function (this: unknown): unknown {
      if (Reflect.get(query, "executed") !== true) start();
      return Reflect.apply(handle, this, []);
    });
  }
  return start;
}

/**
 * Makes a postgres.js query reject with `CONNECTION_CLOSED` instead of
 * running when, at execution time, its session is gone, and counts it as
 * running (for the dialect's `isBusy()`) while it runs.
 *
 * postgres.js 3.4 has a bug here: a query run on a reserved connection
 * after its socket closed writes to a `null` socket from a `setImmediate`
 * callback, an uncaught `TypeError` that ends the process. The query's
 * `handler` (postgres.js's `Query#handler`, called when it executes) is
 * wrapped; if a future version has no such property, nothing changes.
 */
function guardQuery(query: unknown, state: EntryState): unknown {
  if (!(query instanceof Promise)) return query; // sql("name") helpers
  const original: unknown = Reflect.get(query, "handler");
  if (typeof original !== "function") return query;
  const handler = original as QueryHandler;
  const start = trackSettling(query, state);
  const guarded: QueryHandler = (pending: unknown): unknown => {
    if (!isGone(state)) {
      start?.();
      return handler(pending);
    }
    const reject: unknown = pending !== null && typeof pending === "object"
      ? Reflect.get(pending, "reject")
      : undefined;
    if (typeof reject === "function") {
      reject(closedError("run the query"));
    }
    return undefined;
  };
  guarded.debug = handler.debug;
  Reflect.set(query, "handler", guarded);
  return query;
}

/**
 * Wraps a reserved connection so that every query made through it (tagged
 * template, `unsafe()`, `file()`, `notify()`) is guarded by
 * {@linkcode guardQuery}.
 */
export function guardReserved(
  reserved: ReservedSql,
  state: EntryState,
): ReservedSql {
  return new Proxy(reserved, {
    apply(target, thisArg, args: unknown[]): unknown {
      return guardQuery(Reflect.apply(target, thisArg, args), state);
    },
    get(target, property): unknown {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== "function") return value;
      if (property === "unsafe" || property === "file") {
        return (...args: unknown[]): unknown =>
          guardQuery(Reflect.apply(value, target, args), state);
      }
      if (property === "notify") {
        return (...args: unknown[]): unknown =>
          isGone(state)
            ? Promise.reject(closedError("notify"))
            : Reflect.apply(value, target, args);
      }
      return value;
    },
  });
}
