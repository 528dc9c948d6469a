/**
 * {@linkcode PoolCounts}: the numbers behind `pool.stats()`. Each is a
 * plain field that the room where the thing happens increments; nothing is
 * allocated and nothing is called.
 *
 * @module
 */

/** The running counts of one pool. */
export class PoolCounts {
  /** Driver connections held by entries now. */
  open = 0;
  /** Checkouts holding an entry now. */
  checkedOut = 0;
  checkouts = 0;
  waits = 0;
  timeouts = 0;
  aborts = 0;
  creates = 0;
  createFailures = 0;
  invalidations = 0;
  recycles = 0;
  closes = 0;
}
