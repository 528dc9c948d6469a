/**
 * What the postgres.js adapter knows about each connection its creator
 * makes, and the lookup from a connection to that knowledge.
 *
 * - Each connection the creator makes has one {@linkcode EntryState},
 *   created before its postgres.js instance and shared by the socket
 *   factory, the query guard, the creator and the dialect. It is registered
 *   in {@linkcode STATES} under the guarded connection when the connection
 *   is handed out; a connection the creator did not make has no state, and
 *   the dialect then relies only on what postgres.js itself offers.
 * - Being gone ({@linkcode isGone}) is for good: once the session has
 *   closed, the dialect has started to end it, or making it failed, the
 *   connection never becomes usable again. Nothing runs on it and no socket
 *   is opened for it any more.
 * - `sockets` holds exactly the sockets opened for the connection and not
 *   yet closed; `running` counts the queries asked to run and not yet
 *   settled, and is never negative.
 * - `status` and `copying` are only written when `tracked`, that is when
 *   the creator can read the protocol on the sockets (no TLS, no `socket`
 *   option of the user's).
 *
 * @module
 */

import type { Socket } from "node:net";
import type { Sql } from "npm:postgres@^3";

/** The transaction status byte of ReadyForQuery. */
export type TransactionStatus = "I" | "T" | "E";

/** A socket as the creator handles it (postgres.js's `socket` option may give any duplex). */
export type AnySocket = Socket;

/** What the adapter knows about one connection made by the creator. */
export interface EntryState {
  /** The postgres.js instance (`max: 1`) the connection belongs to. */
  sql: Sql | null;
  /** Whether ReadyForQuery messages are watched on the sockets. */
  tracked: boolean;
  /** The last ReadyForQuery status, when tracked. */
  status: TransactionStatus | null;
  /** Set by a CopyInResponse/CopyOutResponse/CopyBothResponse, cleared by the next ReadyForQuery, when tracked. */
  copying: boolean;
  /** Queries made through the connection that postgres.js has been asked to run and has not settled. */
  running: number;
  /** The sockets opened by the creator's socket factory and not yet closed. */
  sockets: Set<AnySocket>;
  /** Whether the server session is gone (postgres.js `onclose`). */
  closed: boolean;
  /** Resolves when the session is gone. */
  whenClosed: Promise<void>;
  /** Resolves {@linkcode EntryState.whenClosed}. */
  markClosed: () => void;
  /** Whether making the connection failed or was given up (no socket may be opened any more). */
  failed: boolean;
  /** Whether the connection was handed out (later sockets are cancel requests). */
  ready: boolean;
  /** Socket factory calls made to establish the session. */
  attempts: number;
  /** The host (index) of the latest session attempt. */
  hostIndex: number;
  /** The latest socket error, for the connect-timeout error's `cause`. */
  lastError: unknown;
  /** Aborted when the connection is given up or closed: ends retry pauses. */
  abort: AbortController;
  /** Whether the connection has been released to its instance. */
  released: boolean;
  /** Set while the dialect runs its own ROLLBACK/COMMIT. */
  quiet: boolean;
  /** The shutdown in progress, if any. */
  ending: Promise<void> | null;
}

/** The state of each connection the creator handed out, by connection. */
export const STATES: WeakMap<object, EntryState> = new WeakMap();

/** A fresh state: nothing opened yet, not gone. */
export function newState(tracked: boolean): EntryState {
  let markClosed = (): void => {};
  const whenClosed = new Promise<void>((resolve) => markClosed = resolve);
  return {
    sql: null,
    tracked,
    status: null,
    copying: false,
    running: 0,
    sockets: new Set(),
    closed: false,
    whenClosed,
    markClosed,
    failed: false,
    ready: false,
    attempts: 0,
    hostIndex: 0,
    lastError: undefined,
    abort: new AbortController(),
    released: false,
    quiet: false,
    ending: null,
  };
}

/** The `CONNECTION_CLOSED` error of an action tried on a gone connection. */
export function closedError(action: string): Error {
  return Object.assign(
    new Error(`Cannot ${action}: the connection is closed`),
    { code: "CONNECTION_CLOSED" },
  );
}

/** Whether the session is gone, being closed by the dialect, or was never made. */
export function isGone(state: EntryState): boolean {
  return state.closed || state.ending !== null || state.failed;
}
