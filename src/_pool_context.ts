/**
 * {@linkcode PoolContext}: what every entry of one pool shares. The engine
 * makes one per pool and hands it to each entry it creates; an entry reads
 * it and asks it, and never reaches the engine.
 *
 * - The fixed things: the creator, the dialect, the log, the listeners, the
 *   clock, `recycleMs`, `connectTimeoutMs` and `validationTimeoutMs`.
 * - The clock readings used as timestamps, made strictly increasing.
 * - The pool invalidation time, and whether any connection can be stale
 *   yet (checkouts skip the staleness check until one can).
 * - The first-connect gate: `firstConnect` runs once per pool, before any
 *   `connect` listener, and new connections' listeners are serialised until
 *   one run of both has succeeded.
 * - Opening a driver connection (the creator, bounded by
 *   `connectTimeoutMs`) and closing one through the dialect (logged, its
 *   error swallowed): the raw driver calls. What happens to an entry around
 *   them (events, state) is the entry's business.
 * - The creation backoff (`createBackoffMs`): after a creator call fails,
 *   creations fail fast with `CreateBackoffError` until the backoff ends;
 *   then one creation is tried while the others still fail fast.
 *
 * It imports no other part of the engine, so entries, the engine and the
 * policies can all depend on it without a cycle.
 *
 * @module
 */

import type { ConnectionPoolEntry, Creator } from "./connection.ts";
import type { Dialect } from "./dialect.ts";
import type { InstanceListeners } from "./_listeners.ts";
import type { PoolTimings } from "./_timings.ts";
import type { PoolLog } from "./_log.ts";
import { ConnectTimeoutError, CreateBackoffError } from "./errors.ts";
import { PoolCounts } from "./_counts.ts";
import { ignore, isPromise, isThenable } from "./_promises.ts";

/**
 * Step added to a clock reading that did not move: timestamps are compared
 * with a strict `>`, so "created at T" and "invalidated at T" must differ.
 */
const CLOCK_STEP = 0.001;

/** Longest creation backoff, in milliseconds, unless `createBackoffMs` is longer. */
const MAX_BACKOFF_MS = 30_000;

/** Jitter of a creation backoff: its length is multiplied by 1 ± this. */
const BACKOFF_JITTER = 0.2;

/**
 * Recycle jitter: each connection's `recycleMs` is shortened by a random
 * share of up to this, drawn when it opens, so connections opened together
 * do not all expire together.
 */
const RECYCLE_JITTER = 0.025;

/** The creator's result, if it can be a connection; `TypeError` otherwise. */
function checkCreated<C>(made: unknown): C {
  if (
    (typeof made === "object" && made !== null) || typeof made === "function"
  ) {
    return made as C;
  }
  throw new TypeError(
    `Cannot connect: the creator must return a connection object or a promise of one, received ${
      made === null ? "null" : typeof made
    }`,
  );
}

/** The fixed parts of a {@linkcode PoolContext}. */
export interface PoolContextInit<C> {
  readonly creator: Creator<C>;
  readonly dialect: Dialect<C>;
  readonly log: PoolLog;
  readonly events: InstanceListeners;
  readonly clock: () => number;
  /** Age in milliseconds past which a connection is replaced at checkout; `null` never. */
  readonly recycleMs: number | null;
  /** Most milliseconds one creator call may take, or `null`. */
  readonly connectTimeoutMs: number | null;
  /** Most milliseconds a pre-ping or a reset on return may take, or `null`. */
  readonly validationTimeoutMs: number | null;
  /** First creation backoff in milliseconds, or `null` for none. */
  readonly createBackoffMs: number | null;
}

/** What every entry of one pool shares. */
export class PoolContext<C> {
  readonly creator: Creator<C>;
  readonly dialect: Dialect<C>;
  readonly log: PoolLog;
  readonly events: InstanceListeners;
  /** The pool's clock, in milliseconds. */
  readonly clock: () => number;
  /** `recycleMs`, with `Infinity` for "never". */
  readonly recycleMs: number;
  readonly connectTimeoutMs: number | null;
  readonly validationTimeoutMs: number | null;
  /** The numbers behind `pool.stats()`. */
  readonly counts: PoolCounts = new PoolCounts();
  readonly createBackoffMs: number | null;
  /**
   * The source of randomness (jitter), in `[0, 1)`; replaceable by tests
   * inside the package only.
   */
  random: () => number = Math.random;
  /**
   * Where durations go while the pool is instrumented (see
   * `_instrumentation.ts`); `null` otherwise.
   */
  timings: PoolTimings | null = null;
  /** Nominal length of the last backoff (before jitter); `0` after a success. */
  #backoffNominal = 0;
  /** Length of the backoff in progress, jitter included. */
  #backoffMs = 0;
  /** When the backoff in progress began, and when it ends (clock readings). */
  #backoffFrom = -Infinity;
  #backoffUntil = -Infinity;
  /** The error of the last failed creation. */
  #backoffCause: unknown = undefined;
  /** `true` from a failed creation to the next successful one. */
  #failing = false;
  /** A creation tried after a backoff ended is in flight: the others fail fast. */
  #probing = false;
  #invalidatedAt = -Infinity;
  #mayBeStale: boolean;
  #lastReading = -Infinity;
  #connectionIds = 0;
  #firstConnectDone = false;
  /** Connections opening or open, owned by the pool's entries (see {@linkcode whenDrained}). */
  #live = 0;
  #onDrained: (() => void) | null = null;
  #gatePassed = false;
  #gateRun: Promise<void> | null = null;

  constructor(init: PoolContextInit<C>) {
    this.creator = init.creator;
    this.dialect = init.dialect;
    this.log = init.log;
    this.events = init.events;
    this.clock = init.clock;
    this.recycleMs = init.recycleMs ?? Infinity;
    this.connectTimeoutMs = init.connectTimeoutMs;
    this.validationTimeoutMs = init.validationTimeoutMs;
    this.createBackoffMs = init.createBackoffMs;
    this.#mayBeStale = this.recycleMs !== Infinity;
  }

  /** A clock reading strictly greater than every earlier one, for timestamps. */
  now(): number {
    let reading = this.clock();
    if (reading <= this.#lastReading) reading = this.#lastReading + CLOCK_STEP;
    this.#lastReading = reading;
    return reading;
  }

  /** An entry starts opening a connection: it counts as open until {@linkcode connectionGone}. */
  connectionOpening(): void {
    this.#live++;
  }

  /** An entry's connection failed to open, was closed, terminated or detached. */
  connectionGone(): void {
    if (--this.#live === 0 && this.#onDrained !== null) {
      const drained = this.#onDrained;
      this.#onDrained = null;
      drained();
    }
  }

  /**
   * Resolves once no entry has a connection opening or open (at once when
   * none has). Detached connections belong to their proxy and do not count.
   */
  whenDrained(): Promise<void> {
    if (this.#live === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const earlier = this.#onDrained;
      this.#onDrained = earlier === null ? resolve : () => {
        earlier();
        resolve();
      };
    });
  }

  /**
   * The age past which one new connection is recycled: `recycleMs`
   * shortened by a random 0 to 2.5%, or `Infinity`.
   */
  drawRecycleMs(): number {
    const recycleMs = this.recycleMs;
    if (recycleMs === Infinity) return recycleMs;
    return recycleMs * (1 - RECYCLE_JITTER * this.random());
  }

  /** A number for the next driver connection's log label. */
  nextConnectionId(): number {
    return ++this.#connectionIds;
  }

  /** The pool invalidation time: connections opened before it are replaced at checkout. */
  get invalidatedAt(): number {
    return this.#invalidatedAt;
  }

  /**
   * `false` until a connection can be stale (recycling is on, or a
   * pool-wide or soft invalidation happened): checkouts then skip the
   * staleness check.
   */
  get mayBeStale(): boolean {
    return this.#mayBeStale;
  }

  /** Notes that some connection was soft-invalidated. */
  softInvalidated(): void {
    this.#mayBeStale = true;
  }

  /**
   * Pool-wide invalidation: moves the pool invalidation time to now,
   * unless the connection that reported the problem was opened before the
   * last pool-wide invalidation (a burst of errors from old connections
   * must not keep moving it and needlessly replace newer ones).
   *
   * @param openedAt When the reporting connection was opened; `null` when
   *   there is none (or it was detached), which always moves the time.
   */
  invalidatePool(openedAt: number | null): void {
    if (openedAt === null || this.#invalidatedAt < openedAt) {
      this.#invalidatedAt = this.now();
      this.#mayBeStale = true;
    }
  }

  /**
   * Fires the listeners of a new driver connection: `firstConnect` for the
   * pool's first (once per pool; run again on the next new connection if it
   * threw), then `connect`. Until one run of both has succeeded, runs are
   * serialised: a second new connection waits for the run in progress
   * before its own listeners start, so no `connect` listener runs before
   * `firstConnect` has finished.
   */
  fireConnect(
    connection: C,
    entry: ConnectionPoolEntry<C>,
  ): void | Promise<void> {
    if (this.#gatePassed) return this.events.fire("connect", connection, entry);
    return this.#fireConnectGated(connection, entry);
  }

  async #fireConnectGated(
    connection: C,
    entry: ConnectionPoolEntry<C>,
  ): Promise<void> {
    while (this.#gateRun !== null) {
      try {
        await this.#gateRun;
      } catch {
        // That run's own caller gets its error.
      }
    }
    if (this.#gatePassed) {
      const fired = this.events.fire("connect", connection, entry);
      if (fired) await fired;
      return;
    }
    const run = (async () => {
      if (!this.#firstConnectDone) {
        const first = this.events.fire("firstConnect", connection, entry);
        if (first) await first;
        this.#firstConnectDone = true;
      }
      const fired = this.events.fire("connect", connection, entry);
      if (fired) await fired;
      this.#gatePassed = true;
    })();
    this.#gateRun = run;
    try {
      await run;
    } finally {
      this.#gateRun = null;
    }
  }

  /**
   * Calls the creator for `entry`: a connection, or a promise of one
   * bounded by `connectTimeoutMs` (past it, `ConnectTimeoutError`, and a
   * connection that arrives later is closed, never handed out). A thenable
   * that is not a native promise is adopted; a result that is not an object
   * or a function is a `TypeError`. With `createBackoffMs`, a call during
   * a backoff throws `CreateBackoffError` without calling the creator.
   */
  createDriver(entry: ConnectionPoolEntry<C>): C | Promise<C> {
    if (this.createBackoffMs === null) return this.#create(entry);
    return this.#createWithBackoff(entry);
  }

  /** {@linkcode PoolContext.createDriver} with `createBackoffMs` set. */
  #createWithBackoff(entry: ConnectionPoolEntry<C>): C | Promise<C> {
    const startedAt = this.now();
    let probe = false;
    if (this.#failing) {
      if (this.#probing || startedAt < this.#backoffUntil) {
        throw new CreateBackoffError(
          `Cannot create a connection: backing off for ${
            Math.round(this.#backoffMs)
          } ms after a failed creation (createBackoffMs)`,
          {
            backoffMs: this.#backoffMs,
            retryInMs: Math.max(0, this.#backoffUntil - startedAt),
            cause: this.#backoffCause,
          },
        );
      }
      probe = this.#probing = true;
    }
    let made: C | Promise<C>;
    try {
      made = this.#create(entry);
    } catch (error) {
      this.#createFailed(error, startedAt, probe);
      throw error;
    }
    if (!isPromise(made)) {
      this.#createSucceeded(probe);
      return made;
    }
    return made.then((connection) => {
      this.#createSucceeded(probe);
      return connection;
    }, (error: unknown) => {
      this.#createFailed(error, startedAt, probe);
      throw error;
    });
  }

  #createSucceeded(probe: boolean): void {
    if (probe) this.#probing = false;
    this.#failing = false;
    this.#backoffNominal = 0;
    this.#backoffCause = undefined;
  }

  /**
   * A creation failed: a new backoff starts, twice as long as the last one
   * (with jitter, capped), unless one already began after this creation
   * started (creations in flight together count as one failure).
   */
  #createFailed(error: unknown, startedAt: number, probe: boolean): void {
    if (probe) this.#probing = false;
    this.#backoffCause = error;
    if (this.#failing && startedAt < this.#backoffFrom) return;
    this.#failing = true;
    const first = this.createBackoffMs!;
    const nominal = this.#backoffNominal === 0
      ? first
      : Math.min(this.#backoffNominal * 2, Math.max(MAX_BACKOFF_MS, first));
    this.#backoffNominal = nominal;
    this.#backoffMs = nominal *
      (1 - BACKOFF_JITTER + 2 * BACKOFF_JITTER * this.random());
    this.#backoffFrom = this.now();
    this.#backoffUntil = this.#backoffFrom + this.#backoffMs;
    if (this.log.infoOn) {
      this.log.info(
        `Connection creation failed; backing off for ${
          Math.round(this.#backoffMs)
        } ms`,
        { error },
      );
    }
  }

  /** The creator call, checked and bounded by `connectTimeoutMs`. */
  #create(entry: ConnectionPoolEntry<C>): C | Promise<C> {
    const made: unknown = this.creator(entry);
    if (!isThenable(made)) return checkCreated<C>(made);
    const pending = Promise.resolve(made);
    const timeoutMs = this.connectTimeoutMs;
    if (timeoutMs === null) return pending.then((c) => checkCreated<C>(c));
    return new Promise<C>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        reject(
          new ConnectTimeoutError(
            `${this.log.className}: creating a connection took longer than connectTimeoutMs (${timeoutMs} ms)`,
            { timeoutMs },
          ),
        );
        pending.then((late) => this.#closeLate(late), ignore);
      }, timeoutMs);
      pending.then(
        (created) => {
          if (timedOut) return;
          clearTimeout(timer);
          try {
            resolve(checkCreated<C>(created));
          } catch (error) {
            reject(error);
          }
        },
        (error: unknown) => {
          if (timedOut) return;
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /** A connection that arrived after its creation timed out: closed, never handed out. */
  #closeLate(late: unknown): void {
    let connection: C;
    try {
      connection = checkCreated<C>(late);
    } catch {
      return;
    }
    this.log.warn(
      `A connection arrived after connectTimeoutMs (${this.connectTimeoutMs} ms) had run out; closing it`,
    );
    void this.closeDriver(connection, "<late>", true);
  }

  /**
   * Closes (or terminates) a driver connection through the dialect;
   * `terminate` falls back to `close` when the dialect has none. The
   * driver's error is logged and swallowed: the pool keeps working.
   */
  async closeDriver(
    connection: C,
    label: string,
    terminate: boolean,
  ): Promise<void> {
    const dialect = this.dialect;
    this.counts.closes++;
    this.log.debug(
      terminate
        ? `Hard-closing connection ${label}`
        : `Closing connection ${label}`,
      { connection },
    );
    try {
      const closed = terminate && dialect.terminate !== undefined
        ? dialect.terminate(connection)
        : dialect.close?.(connection);
      if (isPromise(closed)) await closed;
    } catch (error) {
      this.log.error(
        terminate
          ? `Exception terminating connection ${label}`
          : `Exception closing connection ${label}`,
        { connection, error },
      );
    }
  }
}
