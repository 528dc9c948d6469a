/**
 * {@linkcode Shutdown}: `pool.close()`, a shutdown that drains.
 *
 * - From the call on, checkouts are refused with `PoolClosedError`; the
 *   policy rejects its waiting callers with it at once.
 * - The idle connections are closed at once (the policy's `dispose()`);
 *   checked-out ones are closed as they come back, after their reset (the
 *   same way back as after `dispose()`); a connection being created is
 *   closed when it arrives.
 * - Past `timeoutMs`, the proxies still out are invalidated: their
 *   connections are terminated (`dialect.terminate`, else `close`), the
 *   `invalidate` and `checkin` events fire, and the proxies become invalid.
 * - It resolves once no entry has a connection opening or open. A creator
 *   still running then is bounded by `connectTimeoutMs`.
 *
 * @module
 */

import { PoolClosedError } from "./errors.ts";
import type { Checkin } from "./_checkin.ts";
import { errorText, type PoolLog } from "./_log.ts";
import type { PoolContext } from "./_pool_context.ts";

/** The shutdown of one pool, started by its first `close()`. */
export class Shutdown<C> {
  /** The error waiting callers were rejected with. */
  readonly error: PoolClosedError;
  /** Settles when nothing is open; what every `close()` call returns. */
  readonly done: Promise<void>;
  readonly #className: string;

  /**
   * Starts the shutdown: `rejectWaiters` and `dispose` are called now.
   *
   * @param dispose Closes the idle connections (the engine's dispose).
   */
  constructor(
    context: PoolContext<C>,
    returns: Checkin<C>,
    timeoutMs: number,
    rejectWaiters: (error: PoolClosedError) => void,
    dispose: () => Promise<void>,
  ) {
    this.#className = context.log.className;
    this.error = this.refusal();
    rejectWaiters(this.error);
    this.done = this.#drain(context, returns, timeoutMs, dispose);
  }

  /** A new `PoolClosedError` for a refused checkout. */
  refusal(): PoolClosedError {
    return new PoolClosedError(`Cannot connect: ${this.#className} is closed`);
  }

  async #drain(
    context: PoolContext<C>,
    returns: Checkin<C>,
    timeoutMs: number,
    dispose: () => Promise<void>,
  ): Promise<void> {
    const log: PoolLog = context.log;
    try {
      await dispose();
    } catch (error) {
      log.error(
        `Exception closing idle connections during close(): ${
          errorText(error)
        }`,
        { error },
      );
    }
    const drained = context.whenDrained();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      drained.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      const reason = new PoolClosedError(
        `${this.#className} was closed and the connection was still checked out after ${timeoutMs} ms`,
      );
      let count = 0;
      returns.forEachOut(() => count++);
      log.warn(
        `Pool closed with ${count} connection(s) still checked out after ${timeoutMs} ms; terminating them`,
      );
      const terminating: Promise<void>[] = [];
      returns.forEachOut((proxy) => {
        if (proxy.isValid) {
          terminating.push(
            proxy.invalidate(reason).catch((error: unknown) =>
              log.secondary(error)
            ),
          );
        }
      });
      await Promise.all(terminating);
      await drained;
    }
    log.info(`Pool closed`);
  }
}
