/**
 * Instrumentation hooks (`@dbpool/pool/otel` uses them): attaching
 * {@linkcode PoolTimings} to a pool, and the name its metrics carry by
 * default.
 *
 * - A pool reports timings only while something is attached: its context
 *   holds `null` otherwise, and the checkout path pays one `null` check.
 * - Several observers may watch one pool; the context then holds one that
 *   calls each in turn.
 * - A duration goes to the observers attached when it ends (a checkout
 *   served, a connection returned or made), and a wait or a use is
 *   measured only if something was attached when it began: an observer
 *   detached meanwhile gets nothing more, one attached meanwhile gets it.
 *
 * @module
 */

import { errorText, type PoolLog } from "./_log.ts";
import { poolInternals } from "./_pool_classes.ts";
import type { PoolStats } from "./pool_stats.ts";
import type { PoolTimings } from "./_timings.ts";

/** Each context's observers, in the order they were attached. */
const observers = new WeakMap<object, PoolTimings[]>();

/** The kinds of duration a pool reports. */
type Kind = keyof PoolTimings;

/** Builds a `PoolTimings` whose every method is `make(kind)`. */
function timingsOf(make: (kind: Kind) => (ms: number) => void): PoolTimings {
  return { wait: make("wait"), use: make("use"), create: make("create") };
}

/** What `context.timings` must be for `list`. */
function combined(list: readonly PoolTimings[]): PoolTimings | null {
  if (list.length === 0) return null;
  if (list.length === 1) return list[0]!;
  return timingsOf((kind) => (ms) => {
    for (const timings of list) timings[kind](ms);
  });
}

/**
 * `timings`, made harmless: an observer that throws never fails a
 * checkout or a return. Its first error is logged; later ones are not.
 */
function guarded(timings: PoolTimings, log: PoolLog): PoolTimings {
  let logged = false;
  return timingsOf((kind) => (ms) => {
    try {
      timings[kind](ms);
    } catch (error) {
      if (logged) return;
      logged = true;
      log.error(
        `Exception in the pool's instrumentation (the pool goes on; later errors from it are not logged): ${
          errorText(error)
        }`,
        { error },
      );
    }
  });
}

/**
 * Has `pool` report its timings to `timings` until the returned function
 * is called (once; later calls do nothing). An error `timings` throws is
 * logged once and never reaches a checkout or a return.
 */
export function attachTimings(pool: object, observer: PoolTimings): () => void {
  const engine = poolInternals.engine<unknown>(pool);
  const context = engine.context;
  const timings = guarded(observer, engine.log);
  let list = observers.get(context);
  if (list === undefined) observers.set(context, list = []);
  list.push(timings);
  context.timings = combined(list);
  let attached = true;
  return (): void => {
    if (!attached) return;
    attached = false;
    const current = observers.get(context)!;
    const next = current.filter((item) => item !== timings);
    observers.set(context, next);
    context.timings = combined(next);
  };
}

/**
 * Names given to pools by what made them (`createPoolFromUrl`), keyed by
 * the pool's creator, which `recreate()` hands on to the new pool: a
 * recreated pool keeps the name.
 */
const givenNames = new WeakMap<object, string>();

/**
 * Names `pool` (and the pools `recreate()` makes from it) for its metrics
 * when no `loggingName` does: `createPoolFromUrl` passes
 * `host:port/database`, with a creator made for that pool alone.
 */
export function nameForMetrics(pool: object, name: string): void {
  givenNames.set(poolInternals.engine<unknown>(pool).context.creator, name);
}

/**
 * The name `pool`'s metrics carry by default: its `loggingName`, else the
 * name it was given where it was made, else its class name.
 */
export function defaultPoolName(pool: object): string {
  const engine = poolInternals.engine<unknown>(pool);
  const log = engine.log;
  return log.loggingName ?? givenNames.get(engine.context.creator) ??
    log.className;
}

/** What a pool's observable metrics read, at each collection. */
export interface PoolSnapshot {
  /** `pool.stats()`. */
  readonly stats: PoolStats;
  /** Most connections kept idle, or `null` when unbounded. */
  readonly idleMax: number | null;
  /** Fewest connections kept idle. */
  readonly idleMin: number;
}

/** Reads `pool`'s numbers now. */
export function poolSnapshot(pool: object): PoolSnapshot {
  const engine = poolInternals.engine<unknown>(pool);
  const { idleMax, idleMin } = engine.policy.gauges();
  return { stats: engine.stats(), idleMax, idleMin };
}
