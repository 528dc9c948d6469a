/**
 * pg-pool over stub clients, for the checkout benchmarks: the same
 * acquire/release work as with real clients, without a database.
 *
 * @module
 */

import { EventEmitter } from "node:events";
import PgPoolModule from "npm:pg-pool@^3.10.0";

/**
 * Stand-in for `pg.Client`: what pg-pool 3.x calls on a client is
 * `connect(cb)`, `end(cb)`, the `EventEmitter` methods, and the
 * `_queryable` / `_ending` flags it reads on release.
 */
class FakePgClient extends EventEmitter {
  _queryable = true;
  _ending = false;
  connect(callback: (error?: Error) => void): void {
    callback();
  }
  end(callback?: () => void): void {
    this._ending = true;
    this.emit("end");
    callback?.();
  }
}

/** A client checked out of pg-pool. */
export interface PgPoolClient {
  release(error?: Error): void;
}

/** What the benchmarks use of a pg-pool `Pool`. */
export interface PgPoolLike {
  connect(): Promise<PgPoolClient>;
  end(): Promise<void>;
  readonly idleCount: number;
}

const PgPool = PgPoolModule as unknown as new (
  options: { max: number; Client: typeof FakePgClient },
) => PgPoolLike;

/** A pg-pool of at most `max` stub clients. */
export function stubPgPool(max: number): PgPoolLike {
  return new PgPool({ max, Client: FakePgClient });
}
