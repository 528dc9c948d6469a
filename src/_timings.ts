/**
 * {@linkcode PoolTimings}: the durations a pool reports while it is
 * instrumented (see `_instrumentation.ts`).
 *
 * @module
 */

/**
 * Durations one pool reports, in milliseconds of its clock; never negative
 * (a given clock set back counts as no time).
 */
export interface PoolTimings {
  /** A `connect()` call resolved `ms` after it was made. */
  wait(ms: number): void;
  /** A checked-out connection came back `ms` after its `connect()` resolved. */
  use(ms: number): void;
  /** The creator made a connection in `ms`. */
  create(ms: number): void;
}
