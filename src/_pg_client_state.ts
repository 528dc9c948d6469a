/**
 * What the node-postgres adapter knows about each client, and ending a
 * client: read from node-postgres's own state where it has it, from the
 * adapter's listeners where it does not.
 *
 * - {@linkcode track} installs the adapter's listeners on a client once,
 *   whoever made the client: an `error` listener, so that a failure while
 *   the client sits idle is remembered instead of ending the process, and
 *   on its protocol connection a ReadyForQuery status tracker and a
 *   session-ending server error recorder.
 * - A client that failed stays failed: the first `error` event or
 *   session-ending server error is kept, and {@linkcode isDead} is `true`
 *   for it from then on.
 * - Every question (failed? busy? in a transaction?) is answered without
 *   a round trip, and without allocating once the client is tracked.
 *   node-postgres internals are read defensively: a missing one is ignored,
 *   and a deprecated getter that prints a warning is never read.
 * - {@linkcode endClient} never leaves a client half-open: past its grace
 *   period the socket is destroyed.
 *
 * @module
 */

// @ts-types="npm:@types/pg@^8"
import type { Client, Connection } from "npm:pg@^8";
import { isPostgresDisconnectError } from "./_postgres_errors.ts";

/** The transaction status byte of ReadyForQuery. */
export type TransactionStatus = "I" | "T" | "E";

/** What the adapter remembers about one client. */
export interface ClientState {
  /**
   * The first `error` event or session-ending server error, if any: the
   * client is then unusable.
   */
  error: unknown;
  /** Whether an `error` event or a session-ending server error was seen. */
  failed: boolean;
  /** The last ReadyForQuery status seen by our own listener. */
  status: TransactionStatus | null;
}

/**
 * node-postgres internals read defensively (pg 8.x `lib/client.js`); every
 * one may be missing, in which case it is ignored.
 */
interface ClientInternals {
  _ending?: unknown;
  _ended?: unknown;
  _queryable?: unknown;
  /** The query sent and not yet answered (pg 8 releases with the getter). */
  _activeQuery?: unknown;
  /** Queries waiting to be sent (pg 8 releases with the getter). */
  _queryQueue?: unknown;
  /** Pipeline mode: queries sent behind the active one. */
  _sentQueryQueue?: unknown;
  /** Older pg 8 releases: a plain property (later a deprecated getter). */
  activeQuery?: unknown;
  /** Older pg 8 releases: a plain property (later a deprecated getter). */
  queryQueue?: unknown;
  /** `false` from sending a query until its ReadyForQuery arrives. */
  readyForQuery?: unknown;
  connection?: unknown;
  getTransactionStatus?: unknown;
}

const STATES = new WeakMap<Client, ClientState>();

function asStatus(value: unknown): TransactionStatus | null {
  return value === "I" || value === "T" || value === "E" ? value : null;
}

/**
 * Installs the adapter's listeners on `client` once: an `error` listener
 * (remembers the error; keeps an idle client's failure from crashing the
 * process), and on the protocol connection a `readyForQuery` listener (the
 * transaction status, for pg versions without `getTransactionStatus()`)
 * and an `errorMessage` listener (a session-ending server error).
 */
export function track(client: Client): ClientState {
  let state = STATES.get(client);
  if (state !== undefined) return state;
  const created: ClientState = {
    error: undefined,
    failed: false,
    status: null,
  };
  state = created;
  STATES.set(client, state);
  client.on("error", (error: Error) => {
    if (!created.failed) {
      created.failed = true;
      created.error = error;
    }
  });
  const connection: unknown = Reflect.get(client, "connection");
  if (
    connection !== null && typeof connection === "object" &&
    typeof Reflect.get(connection, "on") === "function"
  ) {
    (connection as Connection).on(
      "readyForQuery",
      (message: unknown) => {
        if (message !== null && typeof message === "object") {
          created.status = asStatus(Reflect.get(message, "status"));
        }
      },
    );
    // A FATAL error ends the session even when node-postgres hands it to
    // the running query instead of emitting `error` (a backend terminated
    // mid-query): remember it before that query's promise settles.
    (connection as Connection).on(
      "errorMessage",
      (message: unknown) => {
        if (!created.failed && isPostgresDisconnectError(message)) {
          created.failed = true;
          created.error = message;
        }
      },
    );
  }
  return state;
}

/**
 * Whether the client is known to be unusable, without a round trip: an
 * `error` event was seen, node-postgres marked it not queryable, it was
 * ended (or is ending), or its socket is destroyed.
 */
export function isDead(client: Client): boolean {
  if (STATES.get(client)?.failed === true) return true;
  const internals = client as unknown as ClientInternals;
  if (
    internals._queryable === false || internals._ended === true ||
    internals._ending === true
  ) {
    return true;
  }
  const connection = internals.connection;
  if (connection === null || typeof connection !== "object") return false;
  const stream: unknown = Reflect.get(connection, "stream");
  return stream !== null && typeof stream === "object" &&
    Reflect.get(stream, "destroyed") === true;
}

/** Reads an own property only: never a prototype getter that warns. */
function own(internals: ClientInternals, key: keyof ClientInternals): unknown {
  return Object.hasOwn(internals, key) ? internals[key] : undefined;
}

/** The length of an array, `0` for anything else. */
function lengthOf(queue: unknown): number {
  return Array.isArray(queue) ? queue.length : 0;
}

/**
 * Whether node-postgres has a query sent and not yet answered, or queued
 * to be sent. Recent pg 8 releases keep these in `_activeQuery`,
 * `_queryQueue` and `_sentQueryQueue` (with `activeQuery` and `queryQueue`
 * as deprecated getters that print a warning, so they are never read);
 * older ones in the plain properties `activeQuery` and `queryQueue`.
 */
export function hasQueryOutstanding(client: Client): boolean {
  const internals = client as unknown as ClientInternals;
  const active = Object.hasOwn(internals, "_activeQuery")
    ? internals._activeQuery
    : own(internals, "activeQuery");
  if (active !== null && active !== undefined) return true;
  const queue = Object.hasOwn(internals, "_queryQueue")
    ? internals._queryQueue
    : own(internals, "queryQueue");
  return lengthOf(queue) > 0 || lengthOf(own(internals, "_sentQueryQueue")) > 0;
}

/**
 * Whether a ReadyForQuery is still to come, so that the last status is
 * stale: node-postgres clears `readyForQuery` when it sends a query and
 * sets it again when the ReadyForQuery message arrives.
 */
export function awaitingReadyForQuery(client: Client): boolean {
  const internals = client as unknown as ClientInternals;
  return own(internals, "readyForQuery") === false;
}

/**
 * The status of the last ReadyForQuery: `client.getTransactionStatus()`
 * (recent pg 8 releases), else the adapter's own listener; `null` before
 * the first one.
 */
export function transactionStatus(client: Client): TransactionStatus | null {
  const internals = client as unknown as ClientInternals;
  if (typeof internals.getTransactionStatus === "function") {
    const status = asStatus(internals.getTransactionStatus.call(client));
    if (status !== null) return status;
  }
  return track(client).status;
}

/** Ends the client: gracefully within `graceMs`, then by destroying the socket. */
export async function endClient(
  client: Client,
  graceMs: number,
): Promise<void> {
  track(client); // errors during the shutdown must not crash the process
  const ended = client.end();
  const destroy = (): void => {
    const connection: unknown = Reflect.get(client, "connection");
    const stream: unknown =
      connection !== null && typeof connection === "object"
        ? Reflect.get(connection, "stream")
        : null;
    if (stream !== null && typeof stream === "object") {
      const fn: unknown = Reflect.get(stream, "destroy");
      if (typeof fn === "function") fn.call(stream);
    }
  };
  if (graceMs <= 0) {
    destroy();
    await ended;
    return;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      ended,
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          destroy();
          resolve();
        }, graceMs);
      }),
    ]);
    await ended;
  } finally {
    clearTimeout(timer);
  }
}
