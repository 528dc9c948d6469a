/**
 * {@linkcode IdleCloser}: `idleTimeoutMs` for the pools whose connections
 * stay where they are while idle (`StaticPool`, `AssertionPool`,
 * `SingletonContextPool`); the queue pool has its idle list and
 * `IdleKeeper` (`_idle_keeper.ts`).
 *
 * - The policy says when an entry goes idle ({@linkcode IdleCloser.idled})
 *   and which entries are idle now; the closer notes the time and keeps one
 *   timer per pool, armed for the earliest expiry.
 * - When it fires, every entry idle for `idleTimeoutMs` or longer is
 *   handed back to the policy, which lets go of it and closes it (`close`
 *   event); the next checkout opens a new connection, as after
 *   `dispose()`.
 * - Made only when the option is set; the timer never keeps a process
 *   alive (`_timers.ts`).
 *
 * @module
 */

import { errorText, type PoolLog } from "./_log.ts";
import type { PoolEntry } from "./_pool_entry.ts";
import { type TimerHandle, unrefTimeout } from "./_timers.ts";

/** What the closer needs from its pool's policy. */
export interface IdleCloserHost<C> {
  readonly log: PoolLog;
  readonly clock: () => number;
  /** The entries idle now, with an open connection. */
  idleEntries(): Iterable<PoolEntry<C>>;
  /** Closes an idle entry's connection, the policy letting go of it first. */
  close(entry: PoolEntry<C>): Promise<void>;
}

/** Closes the connections left idle for `idleTimeoutMs`. */
export class IdleCloser<C> {
  readonly #host: IdleCloserHost<C>;
  readonly #idleTimeoutMs: number;
  #timer: TimerHandle | null = null;
  /** When the armed timer fires (a clock reading). */
  #timerAt = Infinity;

  constructor(host: IdleCloserHost<C>, idleTimeoutMs: number) {
    this.#host = host;
    this.#idleTimeoutMs = idleTimeoutMs;
  }

  /** `entry` went idle now. */
  idled(entry: PoolEntry<C>): void {
    const now = this.#host.clock();
    entry.markIdle(now);
    this.#arm(now + this.#idleTimeoutMs);
  }

  /** Stops the timer (`dispose()`), until an entry goes idle again. */
  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Infinity;
  }

  #arm(at: number): void {
    if (this.#timer !== null && this.#timerAt <= at) return;
    this.stop();
    this.#timerAt = at;
    this.#timer = unrefTimeout(
      () => this.#run(),
      Math.max(0, at - this.#host.clock()),
    );
  }

  #run(): void {
    this.#timer = null;
    this.#timerAt = Infinity;
    const now = this.#host.clock();
    let next = Infinity;
    // A copy: closing changes what the policy keeps.
    for (const entry of [...this.#host.idleEntries()]) {
      const due = entry.idleSince + this.#idleTimeoutMs;
      if (due > now) {
        next = Math.min(next, due);
        continue;
      }
      closeIdle(this.#host.log, entry, now, this.#host.close(entry));
    }
    if (next !== Infinity) this.#arm(next);
  }
}

/**
 * The one step both idle upkeeps take for an entry idle too long: an info
 * line, and `closing` (the entry's close, already started) awaited with
 * its error logged, never thrown.
 */
export function closeIdle(
  log: PoolLog,
  entry: { readonly label: string; readonly idleSince: number },
  now: number,
  closing: Promise<void>,
): void {
  log.info(
    `Connection ${entry.label} idle for ${
      Math.round(now - entry.idleSince)
    } ms, longer than idleTimeoutMs; closing`,
  );
  closing.catch((error: unknown) =>
    log.error(`Exception closing an idle connection: ${errorText(error)}`, {
      error,
    })
  );
}
