/**
 * {@linkcode SingletonContextPool} (alias {@linkcode SingletonThreadPool}):
 * one connection per async context, for tests with in-memory SQLite.
 *
 * This entry point imports `node:async_hooks` (`AsyncLocalStorage`), which
 * Deno, Node and Bun provide; the main entry point stays web-only.
 *
 * @example One connection per task
 * ```ts
 * import assert from "node:assert/strict";
 * import { SingletonContextPool } from "@dbpool/pool/singleton";
 *
 * let made = 0;
 * await using pool = new SingletonContextPool(() => ({ id: ++made }));
 * const ids = await Promise.all([1, 2].map(() =>
 *   pool.run(async () => {
 *     await using outer = await pool.connect();
 *     await using inner = await pool.connect(); // same context: same proxy
 *     assert.equal(inner, outer);
 *     return outer.dbapiConnection!.id;
 *   })
 * ));
 * assert.notEqual(ids[0], ids[1]);
 * ```
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";
import type { PoolProxiedConnection } from "./connection.ts";
import {
  type ConnectOptions,
  type Creator,
  Pool,
  type PoolOptions,
} from "./pool.ts";
import { COMMON_OPTIONS, numberOption, type OptionTable } from "./_options.ts";
import { poolInternals, registerPoolClass } from "./_pool_classes.ts";
import type { Policy, PolicyGauges, PolicyHost } from "./_policy.ts";
import { IdleCloser } from "./_idle_closer.ts";
import type { PoolEntry } from "./_pool_entry.ts";
import {
  type ProxiedConnection,
  proxyInternals,
} from "./_proxied_connection.ts";

/**
 * Options of {@linkcode SingletonContextPool}.
 *
 * @typeParam C The driver connection type.
 *
 * @example
 * ```ts
 * import { SingletonContextPool, type SingletonContextPoolOptions } from "@dbpool/pool/singleton";
 *
 * const options: SingletonContextPoolOptions<object> = { poolSize: 3 };
 * await using pool = new SingletonContextPool(() => ({}), options);
 * ```
 */
export interface SingletonContextPoolOptions<C> extends PoolOptions<C> {
  /**
   * Connections kept (one per context). When a new context would bring the
   * number of stored connections to `poolSize` or more, **arbitrary** stored
   * connections are closed first, even ones in use (SQLAlchemy's
   * documented behaviour).
   *
   * @default {5}
   */
  poolSize?: number;
}

/** What one async context holds. */
interface Context<C> {
  entry: PoolEntry<C> | null;
  proxy: ProxiedConnection<C> | null;
  pending: Promise<ProxiedConnection<C>> | null;
}

let poolIds = 0;

/** One entry per context; a returned entry stays with its context. */
class SingletonPolicy<C, P> implements Policy<C, P> {
  readonly #host: PolicyHost<C, P>;
  readonly poolSize: number;
  readonly id: number = ++poolIds;
  readonly storage: AsyncLocalStorage<Context<C>> = new AsyncLocalStorage();
  readonly #all = new Set<PoolEntry<C>>();
  /** `idleTimeoutMs`; `null` when it is off. */
  readonly #closer: IdleCloser<C> | null;

  constructor(
    host: PolicyHost<C, P>,
    poolSize: number,
    idleTimeoutMs: number | null,
  ) {
    this.#host = host;
    this.poolSize = poolSize;
    this.#closer = idleTimeoutMs === null ? null : new IdleCloser({
      log: host.log,
      clock: host.clock,
      idleEntries: () =>
        [...this.#all].filter((entry) =>
          !entry.inUse && !entry.isOpening && entry.dbapiConnection !== null
        ),
      close: (entry) => {
        // Its context gets a new entry at its next checkout.
        this.#all.delete(entry);
        return entry.close();
      },
    }, idleTimeoutMs);
  }

  acquire(): PoolEntry<C> {
    const context = this.storage.getStore()!;
    const kept = context.entry;
    if (kept !== null && this.#all.has(kept)) return kept;
    this.#cleanup();
    const entry = this.#host.newEntry();
    this.#all.add(entry);
    context.entry = entry;
    return entry;
  }

  /**
   * Closes stored connections until there is room for one more: idle ones
   * first, then ones in use (SQLAlchemy's hazard), never one still connecting.
   */
  #cleanup(): void {
    for (const inUse of [false, true]) {
      for (const entry of this.#all) {
        if (this.#all.size < this.poolSize) return;
        if (entry.inUse !== inUse || entry.isOpening) continue;
        this.#all.delete(entry);
        this.#closeQuietly(entry);
      }
    }
  }

  #closeQuietly(entry: PoolEntry<C>): void {
    entry.close().catch((error: unknown) =>
      this.#host.log.error("Exception closing connection", { error })
    );
  }

  /** The entry stays with its context, unless it was checked out before the last `dispose()`. */
  release(entry: PoolEntry<C>): void | Promise<void> {
    if (this.#host.closesOnReturn(entry)) {
      this.#all.delete(entry);
      return entry.close();
    }
    if (!entry.inUse) this.#closer?.idled(entry);
  }

  discard(entry: PoolEntry<C>): void {
    this.#all.delete(entry);
  }

  async dispose(): Promise<void> {
    this.#closer?.stop();
    for (const entry of [...this.#all]) {
      if (entry.inUse) continue;
      this.#all.delete(entry);
      try {
        await entry.close();
      } catch (error) {
        this.#host.log.error("Exception closing connection", { error });
      }
    }
  }

  status(): string {
    return `SingletonThreadPool id:${this.id} size: ${this.#all.size}`;
  }

  gauges(): PolicyGauges {
    let idle = 0;
    for (const entry of this.#all) {
      if (!entry.inUse && entry.dbapiConnection !== null) idle++;
    }
    return {
      idle,
      pending: 0,
      max: this.poolSize,
      idleMax: this.poolSize,
      idleMin: 0,
    };
  }
}

function policyOf<C>(pool: object): SingletonPolicy<C, unknown> {
  return poolInternals.engine<C>(pool).policy as SingletonPolicy<C, unknown>;
}

/**
 * A pool that keeps one connection per async context (SQLAlchemy's
 * `SingletonThreadPool`, with "thread" read as "async context", tracked
 * with `AsyncLocalStorage`). In one context, `connect()` returns the proxy
 * already checked out there, with a nesting count: inner `close()` calls
 * do nothing; the outermost one resets and checks in, and `checkout` fires
 * once. After that the connection stays with its context for reuse.
 *
 * **Contexts.** {@linkcode SingletonContextPool.run} runs a function in a
 * context of its own: use it to give each task its own connection. A caller
 * outside any such context gets one entered into its current async context
 * (`AsyncLocalStorage.enterWith`), which code that it then runs or awaits
 * inherits; tasks started synchronously from one parent therefore share a
 * context (and a connection) unless each is wrapped in `run()`. This holds
 * on Deno and Node alike.
 *
 * Meant for tests with in-memory SQLite only: when a new context would bring
 * the stored connections to `poolSize`, arbitrary stored connections are
 * closed, even ones in use.
 *
 * @typeParam C The driver connection type.
 *
 * @example Nested checkouts share one proxy
 * ```ts
 * import assert from "node:assert/strict";
 * import { SingletonContextPool } from "@dbpool/pool/singleton";
 *
 * await using pool = new SingletonContextPool(() => ({ rollback() {} }));
 * await pool.run(async () => {
 *   const outer = await pool.connect();
 *   const inner = await pool.connect();
 *   assert.equal(inner, outer);
 *   await inner.close(); // nested: nothing happens
 *   assert(outer.isValid);
 *   await outer.close(); // outermost: reset and check in
 * });
 * assert.match(pool.status(), /^SingletonThreadPool id:\d+ size: 1$/);
 * ```
 */
export class SingletonContextPool<C> extends Pool<C> {
  /**
   * Makes a singleton pool.
   *
   * @param creator Makes a driver connection; receives the entry that will own it.
   * @param options The common pool options and `poolSize` (an integer >= 1).
   * @throws {TypeError} For options that are not a plain object, an unknown
   *   option key or a value of the wrong type.
   * @throws {RangeError} For a number out of range.
   */
  constructor(creator: Creator<C>, options?: SingletonContextPoolOptions<C>) {
    super(creator, options);
  }

  /**
   * Checks out this context's connection: the proxy already out in this
   * context (nested, no events), or a checkout of the context's entry.
   *
   * @param options `signal` to abort the checkout.
   * @returns The context's proxy.
   */
  override connect(
    options?: ConnectOptions,
  ): Promise<PoolProxiedConnection<C>> {
    const signal = options?.signal;
    if (signal?.aborted) {
      poolInternals.engine<C>(this).counts.aborts++;
      return Promise.reject(signal.reason);
    }
    const closed = poolInternals.engine<C>(this).closedError();
    if (closed !== null) return Promise.reject(closed);
    const policy = policyOf<C>(this);
    let context = policy.storage.getStore();
    if (context === undefined) {
      context = { entry: null, proxy: null, pending: null };
      policy.storage.enterWith(context);
    }
    const held = context.proxy;
    // A detached proxy has left the pool: the context forgets it, and the
    // next checkout gets a connection of its own.
    if (held !== null && !held.isDetached && !proxyInternals.isFinished(held)) {
      proxyInternals.nest(held);
      return Promise.resolve(held);
    }
    if (context.pending !== null) {
      return context.pending.then((proxy) => {
        proxyInternals.nest(proxy);
        return proxy;
      });
    }
    const holder = context;
    const pending = poolInternals.engine<C>(this).connect(signal).then(
      (proxy) => {
        holder.proxy = proxy;
        holder.pending = null;
        return proxy;
      },
      (error: unknown) => {
        holder.pending = null;
        throw error;
      },
    );
    holder.pending = pending;
    return pending;
  }

  /**
   * Runs `fn` in an async context of its own, so that its checkouts get a
   * connection of their own. An addition to SQLAlchemy's API: threads give
   * each caller a context for free; async tasks need to ask for one.
   *
   * @param fn The task.
   * @returns What `fn` returns.
   */
  run<T>(fn: () => T): T {
    return policyOf<C>(this).storage.run(
      { entry: null, proxy: null, pending: null },
      fn,
    );
  }
}

registerPoolClass(SingletonContextPool, {
  options: {
    ...COMMON_OPTIONS,
    poolSize: numberOption(5, 1, true),
  } as const satisfies OptionTable<SingletonContextPoolOptions<unknown>>,
  makePolicy: (host, options) =>
    new SingletonPolicy(host, options.poolSize, options.idleTimeoutMs),
});

export { SingletonContextPool as SingletonThreadPool };
// The types its public signatures use, so that this entry point documents
// itself on its own (type-only: nothing more is loaded).
export type {
  ConnectionPoolEntry,
  InvalidateOptions,
  ManagesConnection,
  PoolProxiedConnection,
} from "./connection.ts";
export type {
  CloseOptions,
  ConnectOptions,
  Creator,
  Pool,
  PoolOptions,
  PoolStats,
} from "./pool.ts";
export type {
  HandleErrorContext,
  ListenOptions,
  PoolEventMap,
  PoolEventName,
  PoolListener,
  PoolListenerFn,
  PoolResetState,
} from "./events.ts";
export type { Dialect } from "./dialect.ts";
export type { PoolLogger } from "./logger.ts";
