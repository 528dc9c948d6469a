/**
 * The pool slot, {@linkcode PoolEntry}: implements `ConnectionPoolEntry`.
 *
 * @module
 */

import type { ConnectionPoolEntry, InvalidateOptions } from "./connection.ts";
import type { PoolCore } from "./_pool_core.ts";
import { connectionLabel } from "./_log.ts";

/**
 * A pool slot. It owns at most one driver connection at a time and survives
 * reconnects. The pool core reads and writes its state through the
 * internal accessors below; users see only `ConnectionPoolEntry`.
 */
export class PoolEntry<C> implements ConnectionPoolEntry<C> {
  readonly #core: PoolCore<C>;
  #conn: C | null = null;
  #label = "<none>";
  #info: Map<unknown, unknown> = new Map();
  readonly #recordInfo: Map<unknown, unknown> = new Map();
  /** Checkouts holding this entry (more than one only in `StaticPool`). */
  users = 0;
  /** Clock reading taken just before the creator was last called. */
  startTime = -Infinity;
  /** Set when a connection is created, cleared by the first validation round. */
  fresh = false;
  /** Clock reading of the last soft invalidation. */
  softTime = -Infinity;
  /** `true` until the entry's first checkout was delivered (failure then discards it). */
  isNew = true;
  /** The pool's dispose generation when the entry was made. */
  readonly generation: number;
  /** A connect in progress on this entry (shared by `StaticPool` checkouts). */
  connecting: Promise<void> | null = null;

  constructor(core: PoolCore<C>, generation: number) {
    this.#core = core;
    this.generation = generation;
  }

  /** The driver connection, or `null`. */
  get dbapiConnection(): C | null {
    return this.#conn;
  }

  /** The driver connection, or `null` (same as `dbapiConnection`). */
  get driverConnection(): C | null {
    return this.#conn;
  }

  /** Data whose lifetime is the current driver connection. */
  get info(): Map<unknown, unknown> {
    return this.#info;
  }

  /** Data whose lifetime is this slot. */
  get recordInfo(): Map<unknown, unknown> {
    return this.#recordInfo;
  }

  /** `true` while checked out. */
  get inUse(): boolean {
    return this.users > 0;
  }

  /** The label of the current connection, for log lines. */
  get label(): string {
    return this.#label;
  }

  /** Stores a new driver connection (the core calls this after the creator). */
  attach(connection: C, id: number): void {
    this.#conn = connection;
    this.#label = connectionLabel(connection, id);
    this.fresh = true;
  }

  /** Forgets the driver connection (closed, invalidated or detached). */
  forget(): void {
    this.#conn = null;
  }

  /** Starts a new `info` lifetime (before reconnecting). */
  clearInfo(): void {
    this.#info.clear();
  }

  invalidate(error?: unknown, options?: InvalidateOptions): Promise<void> {
    return this.#core.invalidateEntry(this, error, options?.soft === true);
  }

  close(): Promise<void> {
    return this.#core.closeConnection(this, false);
  }

  /** A short description for log lines: `<PoolEntry <conn>>`. */
  toString(): string {
    return `<PoolEntry ${this.#label}>`;
  }
}
