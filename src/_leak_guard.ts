/**
 * The garbage-collection safety net, {@linkcode LeakGuard}: it notices a
 * checked-out proxy that was garbage-collected without being returned.
 *
 * - It never returns, resets or reuses a leaked connection, and fires no
 *   event: the owner is told which entry leaked, and terminates its
 *   connection and frees its slot. The warning is the signal to fix the
 *   caller.
 * - It costs no `FinalizationRegistry` registration per checkout. Each
 *   delivered proxy is kept in a bounded list, and one throwaway sentinel
 *   object is registered when the list starts filling. At the next
 *   garbage collection the sentinel's callback sweeps the list: the proxies
 *   still checked out are registered, and the list's references dropped. A
 *   leaked proxy is then collected (and reported) by a later collection.
 *   Proxies returned before the sweep, nearly all of them, are never
 *   registered.
 * - The value held for a registered proxy is its entry, which holds no
 *   reference to the proxy, so the proxy stays collectable.
 * - It can list the proxies still out ({@linkcode LeakGuard.forEachOut},
 *   for `pool.close()`): the recent list; the proxies registered at the
 *   last sweep, kept until the next one (which a sentinel then triggers
 *   at the next collection); and a weak reference to each proxy still out
 *   after that, dropped at a later sweep once it is back or gone. A weak
 *   reference is made only for a proxy out across two sweeps: one made
 *   for every proxy out at a sweep halved the throughput under load.
 *
 * @module
 */

/** Held value of the sentinel whose collection triggers a sweep. */
const SWEEP: unique symbol = Symbol("sweep");

/** Most proxies kept between two sweeps. */
const SWEEP_AFTER = 1024;

/**
 * Watches delivered proxies for garbage collection while they are out.
 *
 * @typeParam P The proxy type.
 * @typeParam H What is held for a registered proxy and reported when it
 *   is collected (the entry).
 */
export class LeakGuard<P extends object, H> {
  readonly #heldOf: (proxy: P) => H | null;
  readonly #onLeak: (held: H) => void;
  #finalizer: FinalizationRegistry<H | typeof SWEEP> | null = null;
  /** Proxies delivered since the last sweep (strong references until it). */
  readonly #recent: (P | undefined)[] = [];
  #recentCount = 0;
  /** Proxies registered with the finalizer and not yet unregistered. */
  #registered = 0;
  /** Proxies registered at the last sweep (strong references until the next). */
  #survivors: P[] = [];
  /** Weak references to proxies out across two sweeps, pruned at each sweep. */
  #registeredRefs: Set<WeakRef<P>> = new Set();

  /**
   * @param heldOf What to hold for a proxy still checked out at a sweep,
   *   or `null` for one that is no longer out (returned, detached).
   * @param onLeak Called with the held value of a proxy collected while
   *   still registered.
   */
  constructor(heldOf: (proxy: P) => H | null, onLeak: (held: H) => void) {
    this.#heldOf = heldOf;
    this.#onLeak = onLeak;
  }

  /** Starts watching a proxy that was just delivered. */
  track(proxy: P): void {
    if (this.#recentCount === 0) this.#registry().register({}, SWEEP);
    this.#recent[this.#recentCount++] = proxy;
    if (this.#recentCount === SWEEP_AFTER) this.sweep();
  }

  /** Stops watching a proxy that is no longer out (returned, detached, failed). */
  untrack(proxy: P): void {
    if (this.#registered > 0 && this.#finalizer!.unregister(proxy)) {
      this.#registered--;
    }
  }

  /** Calls `fn` for each watched proxy still checked out (not returned, not detached). */
  forEachOut(fn: (proxy: P) => void): void {
    const out: P[] = [];
    for (let i = 0; i < this.#recentCount; i++) {
      const proxy = this.#recent[i]!;
      if (this.#heldOf(proxy) !== null) out.push(proxy);
    }
    for (const proxy of this.#survivors) {
      if (this.#heldOf(proxy) !== null) out.push(proxy);
    }
    for (const ref of this.#registeredRefs) {
      const proxy = ref.deref();
      if (proxy !== undefined && this.#heldOf(proxy) !== null) out.push(proxy);
    }
    for (const proxy of new Set(out)) fn(proxy);
  }

  /** Registers the recent proxies still checked out, and forgets the list. */
  sweep(): void {
    for (const ref of this.#registeredRefs) {
      const proxy = ref.deref();
      if (proxy === undefined || this.#heldOf(proxy) === null) {
        this.#registeredRefs.delete(ref);
      }
    }
    const survivors = this.#survivors;
    this.#survivors = [];
    for (const proxy of survivors) {
      if (this.#heldOf(proxy) !== null) {
        this.#registeredRefs.add(new WeakRef(proxy));
      }
    }
    const recent = this.#recent;
    const count = this.#recentCount;
    this.#recentCount = 0;
    for (let i = 0; i < count; i++) {
      const proxy = recent[i]!;
      recent[i] = undefined;
      const held = this.#heldOf(proxy);
      if (held !== null) {
        this.#registry().register(proxy, held, proxy);
        this.#registered++;
        this.#survivors.push(proxy);
      }
    }
    // The survivors are dropped at the next sweep, even with no checkout.
    if (this.#survivors.length > 0) this.#registry().register({}, SWEEP);
  }

  #registry(): FinalizationRegistry<H | typeof SWEEP> {
    return this.#finalizer ??= new FinalizationRegistry((held) => {
      if (held === SWEEP) this.sweep();
      else this.#onLeak(held);
    });
  }
}
