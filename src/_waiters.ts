/**
 * The FIFO wait queue shared by {@linkcode Semaphore} and the queue pool.
 *
 * - Waiters live in a doubly linked list; each waiter is its own node, so
 *   removal (abort, timeout) is O(1).
 * - {@linkcode WaiterQueue.grant} hands a value straight to the head waiter:
 *   no wake-then-retry, so nobody can barge.
 * - One deadline timer per queue, armed for the head waiter's deadline. All
 *   waiters of one queue share the same timeout, so FIFO order is deadline
 *   order and one timer is enough.
 * - Few clock readings for many waiters, on any clock: the first waiter of
 *   a batch reads the clock as it joins, the rest of the batch shares one
 *   reading taken a few microtask turns later; no deadline is ever earlier
 *   than `timeoutMs` after its waiter's arrival.
 * - One abort listener per distinct `AbortSignal`, whatever the number of
 *   waiters sharing it.
 * - A waiter is queued, then granted or cancelled, decided synchronously and
 *   only once: a value is never lost or granted twice.
 *
 * @module
 */

/** Longest delay `setTimeout` takes as is; longer ones are re-armed. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/**
 * Most microtask turns the stamp of a batch of
 * {@linkcode WaiterQueue.waitLazily} waiters waits for more of them to join.
 * Under load the waiters arrive in waves, one per round of the connections,
 * a few turns apart: a stamp that waits a few turns covers about two waves,
 * so the first waiter's exact reading and the stamp together cost about one
 * clock reading per wave.
 */
const STAMP_TURNS = 4;

/**
 * Most waiters one expiry step rejects before it lets their handlers run
 * (see {@linkcode WaiterQueue}'s `#expireBatch`).
 */
const EXPIRE_BATCH = 512;

/** One waiter: a node of the main list and of its signal's list. */
class Waiter<T, G> {
  prev: Waiter<T, G> | null = null;
  next: Waiter<T, G> | null = null;
  signalPrev: Waiter<T, G> | null = null;
  signalNext: Waiter<T, G> | null = null;
  group: SignalGroup<T, G> | null = null;
  resolve: (value: T | PromiseLike<T>) => void = noop;
  reject: (reason: unknown) => void = noop;
  /** `NaN` until stamped (see {@linkcode WaiterQueue.waitLazily}). */
  deadline: number;
  constructor(deadline: number) {
    this.deadline = deadline;
  }
}

/**
 * A waiter that carries a tag ({@linkcode WaiterQueue.headTag}): a class of
 * its own, so that the waiters of a queue without tags stay as small as
 * they were.
 */
class TaggedWaiter<T, G> extends Waiter<T, G> {
  readonly tag: G;
  constructor(deadline: number, tag: G) {
    super(deadline);
    this.tag = tag;
  }
}

function noop(): void {}

/** The waiter whose resolvers {@linkcode bindResolvers} stores (one shared executor, no closure per waiter). */
let binding: Waiter<unknown, unknown> | null = null;

function bindResolvers(
  // deno-lint-ignore no-explicit-any -- one executor shared by every Promise<T>.
  resolve: (value: any) => void,
  reject: (reason: unknown) => void,
): void {
  binding!.resolve = resolve;
  binding!.reject = reject;
}

/** The waiters that share one `AbortSignal`, and its one listener. */
class SignalGroup<T, G> {
  head: Waiter<T, G> | null = null;
  tail: Waiter<T, G> | null = null;
  readonly signal: AbortSignal;
  readonly onAbort: () => void;
  constructor(signal: AbortSignal, onAbort: () => void) {
    this.signal = signal;
    this.onAbort = onAbort;
  }
}

/**
 * A FIFO queue of waiters for values of type `T`, with deadlines and abort
 * signals.
 *
 * @typeParam G What a waiter may carry for the granting side
 *   ({@linkcode WaiterQueue.headTag}).
 */
export class WaiterQueue<T, G = never> {
  #head: Waiter<T, G> | null = null;
  #tail: Waiter<T, G> | null = null;
  #length = 0;
  #groups = new Map<AbortSignal, SignalGroup<T, G>>();
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #timerDue = Infinity;
  readonly #clock: (() => number) | undefined;
  readonly #timeoutError: (() => unknown) | undefined;
  readonly #onTimer = (): void => this.#expire();
  /** The clock reading the current expiry compares deadlines with. */
  #expireNow = 0;
  readonly #onExpireBatch = (): void => this.#expireBatch();
  /** The first waiter whose deadline is not stamped yet; the rest of the queue after it is unstamped too. */
  #unstamped: Waiter<T, G> | null = null;
  /** A batch of {@linkcode WaiterQueue.waitLazily} waiters is joining; its stamp is queued. */
  #batchOpen = false;
  /** Microtask turns the current batch's stamp may still wait. */
  #stampTurnsLeft = 0;
  #stampTimeoutMs = 0;
  readonly #onStamp = (): void => this.#stamp();
  readonly #onAbort: (() => void) | undefined;

  /** A queue without deadlines: every wait passes `Infinity` (the semaphore's). */
  constructor();
  /**
   * A queue whose waiters may have deadlines.
   *
   * @param clock The clock deadlines are measured on (milliseconds).
   * @param timeoutError Makes the rejection reason of a waiter whose deadline passed.
   * @param onAbort Called once for each waiter its signal rejects (a metric).
   */
  constructor(
    clock: () => number,
    timeoutError: () => unknown,
    onAbort?: () => void,
  );
  constructor(
    clock?: () => number,
    timeoutError?: () => unknown,
    onAbort?: () => void,
  ) {
    this.#clock = clock;
    this.#timeoutError = timeoutError;
    this.#onAbort = onAbort;
  }

  /** Number of queued waiters. */
  get length(): number {
    return this.#length;
  }

  /** The abort signal of the head waiter, if any (read before {@linkcode grant}). */
  get headSignal(): AbortSignal | undefined {
    return this.#head?.group?.signal;
  }

  /** The tag of the head waiter, if any (read before {@linkcode grant}). */
  get headTag(): G | undefined {
    const head = this.#head;
    return head instanceof TaggedWaiter ? head.tag as G : undefined;
  }

  /**
   * Queues a waiter at the tail. The caller has checked `signal.aborted`
   * already, in the same synchronous step.
   *
   * @param signal Aborting it rejects the waiter with `signal.reason`.
   * @param deadline Clock reading at which the waiter is rejected with the
   *   timeout error; `Infinity` waits forever. Deadlines must not decrease
   *   from one waiter to the next.
   * @param tag Carried with the waiter, for {@linkcode headTag}.
   */
  wait(
    signal: AbortSignal | undefined,
    deadline: number,
    tag?: G,
  ): Promise<T> {
    const promise = this.#enqueue(signal, deadline, tag);
    if (deadline < this.#timerDue) this.#arm(deadline);
    return promise;
  }

  /**
   * Queues a waiter whose deadline is `timeoutMs` after its arrival, read on
   * the queue's clock, whatever clock that is, with few readings: the first
   * waiter of a batch reads the clock as it joins; the waiters that join
   * after it share one reading taken when the batch ends, at most
   * {@linkcode STAMP_TURNS} microtask turns later (before any timer or I/O
   * runs). A waiter is therefore never rejected before `timeoutMs` have
   * passed since it joined; the first of a batch is exact, and so is the
   * rest whenever the clock did not move before the batch ended (a fake
   * clock moved after a timer or I/O, for instance); otherwise they may wait
   * longer by the time those microtask turns took. Every waiter of a queue
   * must use the same `timeoutMs`, and this or {@linkcode wait}, not both.
   *
   * @param signal Aborting it rejects the waiter with `signal.reason`.
   * @param timeoutMs Milliseconds the waiter may wait (finite).
   * @param tag Carried with the waiter, for {@linkcode headTag}.
   */
  waitLazily(
    signal: AbortSignal | undefined,
    timeoutMs: number,
    tag?: G,
  ): Promise<T> {
    if (this.#batchOpen) {
      const promise = this.#enqueue(signal, NaN, tag);
      this.#unstamped ??= this.#tail;
      return promise;
    }
    this.#batchOpen = true;
    this.#stampTurnsLeft = STAMP_TURNS - 1;
    this.#stampTimeoutMs = timeoutMs;
    queueMicrotask(this.#onStamp);
    const now = this.#now();
    const deadline = now + timeoutMs;
    const promise = this.#enqueue(signal, deadline, tag);
    if (deadline < this.#timerDue) this.#arm(deadline, now);
    return promise;
  }

  #enqueue(
    signal: AbortSignal | undefined,
    deadline: number,
    tag: G | undefined,
  ): Promise<T> {
    const waiter = tag === undefined || tag === null
      ? new Waiter<T, G>(deadline)
      : new TaggedWaiter<T, G>(deadline, tag);
    binding = waiter as Waiter<unknown, unknown>;
    const promise = new Promise<T>(bindResolvers);
    binding = null;
    const tail = this.#tail;
    waiter.prev = tail;
    if (tail === null) this.#head = waiter;
    else tail.next = waiter;
    this.#tail = waiter;
    this.#length++;
    if (signal !== undefined) this.#joinGroup(waiter, signal);
    return promise;
  }

  /**
   * Ends a batch, a few microtask turns after its first waiter joined (while
   * later waiters of the batch are still queued): one reading stamps the
   * waiters that joined after its first.
   */
  #stamp(): void {
    if (this.#unstamped !== null && this.#stampTurnsLeft > 0) {
      this.#stampTurnsLeft--;
      queueMicrotask(this.#onStamp);
      return;
    }
    this.#batchOpen = false;
    if (this.#unstamped === null) return;
    const now = this.#now();
    const deadline = now + this.#stampTimeoutMs;
    for (let w: Waiter<T, G> | null = this.#unstamped; w !== null; w = w.next) {
      w.deadline = deadline;
    }
    this.#unstamped = null;
    const head = this.#head;
    if (head !== null && head.deadline < this.#timerDue) {
      this.#arm(head.deadline, now);
    }
  }

  /**
   * Hands `value` to the head waiter.
   *
   * @returns `false` when no waiter is queued (the value was not taken).
   */
  grant(value: T | PromiseLike<T>): boolean {
    this.settleAborted();
    return this.grantSettled(value);
  }

  /**
   * {@linkcode grant} for a caller that has just called
   * {@linkcode settleAborted} (and read {@linkcode headSignal}).
   */
  grantSettled(value: T | PromiseLike<T>): boolean {
    const waiter = this.#head;
    if (waiter === null) return false;
    this.#unlink(waiter);
    waiter.resolve(value);
    return true;
  }

  /**
   * Rejects the head waiters whose signal has aborted but whose abort
   * listener has not run yet (a value released from an earlier listener of
   * the same signal, during its dispatch), so no value is handed to a
   * cancelled caller. Call it before reading {@linkcode headSignal} to grant.
   *
   * @returns The number of waiters left.
   */
  settleAborted(): number {
    for (let head = this.#head; head !== null; head = this.#head) {
      const group = head.group;
      if (group === null || !group.signal.aborted) break;
      this.#abortGroup(group);
    }
    return this.#length;
  }

  /**
   * Rejects every queued waiter with `reason`, head first (the pool was
   * closed).
   */
  rejectAll(reason: unknown): void {
    for (let head = this.#head; head !== null; head = this.#head) {
      this.#unlink(head);
      head.reject(reason);
    }
  }

  #unlink(waiter: Waiter<T, G>): void {
    const { prev, next } = waiter;
    if (waiter === this.#unstamped) this.#unstamped = next;
    if (prev === null) this.#head = next;
    else prev.next = next;
    if (next === null) this.#tail = prev;
    else next.prev = prev;
    waiter.prev = waiter.next = null;
    this.#length--;
    if (waiter.group !== null) this.#leaveGroup(waiter);
    if (this.#length === 0 && this.#timer !== undefined) this.#disarm();
  }

  #joinGroup(waiter: Waiter<T, G>, signal: AbortSignal): void {
    let group = this.#groups.get(signal);
    if (group === undefined) {
      const created: SignalGroup<T, G> = new SignalGroup<T, G>(
        signal,
        () => this.#abortGroup(created),
      );
      group = created;
      this.#groups.set(signal, group);
      signal.addEventListener("abort", group.onAbort, { once: true });
    }
    waiter.group = group;
    const tail = group.tail;
    waiter.signalPrev = tail;
    if (tail === null) group.head = waiter;
    else tail.signalNext = waiter;
    group.tail = waiter;
  }

  #leaveGroup(waiter: Waiter<T, G>): void {
    const group = waiter.group!;
    const { signalPrev: prev, signalNext: next } = waiter;
    if (prev === null) group.head = next;
    else prev.signalNext = next;
    if (next === null) group.tail = prev;
    else next.signalPrev = prev;
    waiter.signalPrev = waiter.signalNext = null;
    waiter.group = null;
    if (group.head === null) {
      group.signal.removeEventListener("abort", group.onAbort);
      this.#groups.delete(group.signal);
    }
  }

  #abortGroup(group: SignalGroup<T, G>): void {
    const reason = group.signal.reason;
    // Each unlink leaves the group; the last one removes the listener and the map entry.
    while (group.head !== null) {
      const waiter = group.head;
      this.#unlink(waiter);
      this.#onAbort?.();
      waiter.reject(reason);
    }
  }

  /** A clock reading; only a wait with a finite deadline takes one. */
  #now(): number {
    if (this.#clock === undefined) {
      throw new TypeError(
        "Cannot wait until a deadline: this wait queue has no clock",
      );
    }
    return this.#clock();
  }

  /** Arms the deadline timer for `due`; `now` is a clock reading just taken, if any. */
  #arm(due: number, now?: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (due === Infinity) {
      this.#timer = undefined;
      this.#timerDue = Infinity;
      return;
    }
    const delay = Math.min(
      Math.max(due - (now ?? this.#now()), 0),
      MAX_TIMER_DELAY,
    );
    this.#timerDue = due;
    this.#timer = setTimeout(this.#onTimer, delay);
  }

  #disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = Infinity;
  }

  #expire(): void {
    this.#timer = undefined;
    this.#timerDue = Infinity;
    this.#expireNow = this.#now();
    this.#expireBatch();
  }

  /**
   * Rejects up to {@linkcode EXPIRE_BATCH} due waiters, then continues in a
   * microtask queued behind their rejection handlers, so those run (and
   * drop their errors) before the next batch is made. In one synchronous
   * loop every error of a large storm would be alive at once, and the
   * young-generation collections copying them made the storm superlinear.
   * Everything still happens before the event loop runs anything else (no
   * timer can fire while the batches run, so at most one expiry runs).
   */
  #expireBatch(): void {
    const now = this.#expireNow;
    // The errors are made in a timer callback or a microtask, where a stack
    // shows only the queue's own frames: skip capturing it.
    const errorClass = Error as { stackTraceLimit?: number };
    const stackTraceLimit = errorClass.stackTraceLimit;
    errorClass.stackTraceLimit = 0;
    let budget = EXPIRE_BATCH;
    try {
      while (this.#head !== null && this.#head.deadline <= now) {
        if (budget-- === 0) {
          queueMicrotask(this.#onExpireBatch);
          return;
        }
        const waiter = this.#head;
        this.#unlink(waiter);
        let reason: unknown;
        try {
          // A waiter can expire only in a queue with a clock, which has both.
          reason = this.#timeoutError!();
        } catch (error) {
          reason = error;
        }
        waiter.reject(reason);
      }
    } finally {
      if (stackTraceLimit === undefined) delete errorClass.stackTraceLimit;
      else errorClass.stackTraceLimit = stackTraceLimit;
    }
    // Timers may fire early against the clock, and long delays are clamped:
    // re-arm for the head waiter, whose deadline may still be ahead.
    // An unstamped head (NaN) is armed by the pending stamp instead.
    const head = this.#head;
    if (head !== null && head.deadline === head.deadline) {
      this.#arm(head.deadline);
    }
  }
}
