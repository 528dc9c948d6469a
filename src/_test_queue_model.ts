/**
 * A small reference model of the queue pool's policy, for the model-based
 * test in `queue_pool_model_test.ts`. It knows only counts and order: which
 * entries are idle, how many entries are live, the FIFO queue of waiters
 * and the dispose generation. It makes every capacity decision the real
 * `QueuePool` makes (take an idle entry, grow, fail at once, wait; hand a
 * returned entry to the head waiter, keep it idle, or close it) and says
 * when a connection on an entry is stale. It drives nothing and awaits
 * nothing. Not published.
 *
 * @module
 */

/** The queue pool options the model needs. */
export interface QueueModelOptions {
  readonly poolSize: number;
  readonly maxOverflow: number;
  readonly timeoutMs: number | null;
  readonly useLifo: boolean;
}

/** What the model needs to know of an entry: the dispose generation it was made in. */
export interface ModelEntry {
  readonly generation: number;
}

/** How a `connect()` gets an entry. */
export type Acquired<E> =
  /** An idle entry, taken at once. */
  | { readonly kind: "idle"; readonly entry: E }
  /** Free capacity: a new entry (already counted as live). */
  | { readonly kind: "new" }
  /** No idle entry, no capacity and `timeoutMs: 0`: a `PoolTimeoutError` with these numbers. */
  | {
    readonly kind: "timeout";
    readonly size: number;
    readonly overflow: number;
    readonly checkedOut: number;
  }
  /** No idle entry and no capacity: the caller joins the tail of the queue. */
  | { readonly kind: "queued" };

/**
 * A queued waiter served while an entry came back or capacity was freed:
 * with that entry (a hand-off), or with `null` for new capacity (a new
 * entry, already counted as live).
 */
export interface Grant<E, W> {
  readonly waiter: W;
  readonly entry: E | null;
}

/** The queue policy of `AsyncAdaptedQueuePool` (`QueuePool`). */
export class QueueModel<E extends ModelEntry, W> {
  readonly options: QueueModelOptions;
  /** Idle entries, the one returned longest ago first. */
  idle: E[] = [];
  /** Entries that exist: idle, checked out, or being connected. */
  live = 0;
  /** Incremented by every `dispose()`. */
  generation = 0;
  /** Waiting `connect()` calls, oldest first. */
  readonly waiters: W[] = [];

  constructor(options: QueueModelOptions) {
    this.options = options;
  }

  /** Whether the number of live entries has a limit (`poolSize` 0 and `maxOverflow` -1 lift it). */
  get bounded(): boolean {
    return this.options.poolSize !== 0 && this.options.maxOverflow !== -1;
  }

  /** Whether one more entry may be created. */
  hasCapacity(): boolean {
    const { poolSize, maxOverflow } = this.options;
    return !this.bounded || this.live - poolSize < maxOverflow;
  }

  /** `checkedIn()`: idle entries. */
  checkedIn(): number {
    return this.idle.length;
  }

  /** `checkedOut()`: live entries that are not idle. */
  checkedOut(): number {
    return this.live - this.idle.length;
  }

  /** `overflow()`: live entries beyond `poolSize`, reported as 0 when `poolSize` is 0. */
  overflow(): number {
    const { poolSize } = this.options;
    return poolSize === 0 ? 0 : this.live - poolSize;
  }

  /** The idle entry the next `connect()` takes, if any. */
  nextIdle(): E | undefined {
    return this.options.useLifo ? this.idle.at(-1) : this.idle[0];
  }

  /** A `connect()`: an idle entry, else new capacity, else fail at once (`timeoutMs: 0`), else wait. */
  acquire(waiter: W): Acquired<E> {
    if (this.idle.length > 0) {
      const entry = this.options.useLifo
        ? this.idle.pop()!
        : this.idle.shift()!;
      return { kind: "idle", entry };
    }
    if (this.hasCapacity()) {
      this.live++;
      return { kind: "new" };
    }
    if (this.options.timeoutMs === 0) {
      return {
        kind: "timeout",
        size: this.options.poolSize,
        overflow: this.overflow(),
        checkedOut: this.checkedOut(),
      };
    }
    this.waiters.push(waiter);
    return { kind: "queued" };
  }

  /**
   * An entry comes back (returned, invalidated, detached, or after a failed
   * reconnect). An entry from before the last `dispose()` is closed; else it
   * goes to the head waiter; else it stays idle if fewer than `poolSize`
   * entries are idle (or `poolSize` is 0); else it is closed. Capacity freed
   * by a close goes to the head waiters at once (SQLAlchemy leaves them
   * waiting until their timeout).
   */
  giveBack(entry: E): Grant<E, W>[] {
    const { poolSize } = this.options;
    if (entry.generation !== this.generation) return this.#discard();
    const head = this.waiters.shift();
    if (head !== undefined) return [{ waiter: head, entry }];
    if (poolSize === 0 || this.idle.length < poolSize) {
      this.idle.push(entry);
      return [];
    }
    return this.#discard();
  }

  /** A new entry whose creator failed is discarded; its capacity is freed. */
  discardNew(): Grant<E, W>[] {
    return this.#discard();
  }

  /** A queued waiter is aborted: it leaves the queue. `false` if it was not queued. */
  abort(waiter: W): boolean {
    const index = this.waiters.indexOf(waiter);
    if (index === -1) return false;
    this.waiters.splice(index, 1);
    return true;
  }

  /**
   * `dispose()`: the idle entries are closed, and the entries out now belong
   * to the old generation (closed when they come back). Waiters keep
   * waiting, and are served from the freed capacity.
   */
  dispose(): Grant<E, W>[] {
    this.generation++;
    this.live -= this.idle.length;
    this.idle = [];
    return this.#serve();
  }

  #discard(): Grant<E, W>[] {
    this.live--;
    return this.#serve();
  }

  #serve(): Grant<E, W>[] {
    const grants: Grant<E, W>[] = [];
    while (this.waiters.length > 0 && this.hasCapacity()) {
      this.live++;
      grants.push({ waiter: this.waiters.shift()!, entry: null });
    }
    return grants;
  }
}

/** What decides whether a checkout keeps an existing entry's connection. */
export interface Freshness {
  /** The entry has a driver connection (not hard-invalidated, detached or failed). */
  readonly connected: boolean;
  /** Milliseconds since the connection was created, by the pool's clock. */
  readonly age: number;
  readonly recycleMs: number | null;
  /** When the connection was created, on a time that moves at every timestamp the pool takes. */
  readonly started: number;
  /** When the pool was last invalidated, on the same time (`-Infinity`: never). */
  readonly poolInvalidated: number;
  /** When the entry was last soft-invalidated, on the same time (`-Infinity`: never). */
  readonly softInvalidated: number;
}

/**
 * Why a checkout of an existing entry must (re)connect it, in the order the
 * pool checks: no connection, older than `recycleMs` (strictly), created
 * before the last pool-wide or soft invalidation (strictly). Empty: the
 * connection is reused.
 */
export function staleReasons(entry: Freshness): string[] {
  const reasons: string[] = [];
  if (!entry.connected) reasons.push("no connection");
  if (entry.recycleMs !== null && entry.age > entry.recycleMs) {
    reasons.push("recycle");
  }
  if (entry.poolInvalidated > entry.started) reasons.push("pool invalidation");
  if (entry.softInvalidated > entry.started) reasons.push("soft invalidation");
  return reasons;
}
