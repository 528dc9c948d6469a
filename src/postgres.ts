/**
 * postgres.js adapter: a {@linkcode Dialect} for `npm:postgres` and a
 * creator that gives each pool slot its own single connection.
 *
 * Each connection made by {@linkcode postgresCreator} is a postgres.js
 * instance limited to one connection (`max: 1`), reserved with
 * `sql.reserve()`: the pool's connection object is that `ReservedSql`, a
 * normal tagged-template `sql` function bound to one server session.
 *
 * - `rollback` / `commit` send `ROLLBACK` / `COMMIT`, and nothing when the
 *   connection is known to be idle.
 * - `inTransaction` comes from the transaction status byte of the
 *   protocol's ReadyForQuery messages. postgres.js reads that byte but does
 *   not expose it, so the creator gives postgres.js its own socket (the
 *   documented `socket` option) and watches the messages on it. This works
 *   for plain TCP and Unix-socket connections; with TLS (`ssl`,
 *   `sslmode=…`) or a `socket` option of your own the status is unknown
 *   (`undefined`) and every return sends `ROLLBACK`.
 * - `isDisconnect` recognises real failures: SQLSTATE class 08, 57P01,
 *   57P02, 57P03 (and the other session-ending codes), `FATAL` errors,
 *   `ECONNRESET`, `EPIPE`, and postgres.js's `CONNECTION_CLOSED`,
 *   `CONNECTION_DESTROYED`, `CONNECTION_ENDED` and `CONNECT_TIMEOUT`.
 * - `isBusy` says whether a query made through the connection is still
 *   running, `isClosed` whether the session is known to be gone; both
 *   without a round trip, so the pool can refuse a busy return and replace
 *   a dead connection at checkout.
 * - `close` releases the connection and ends the instance (at most 5 s);
 *   `terminate` ends it at once.
 *
 * The creator opens every socket itself (also with TLS, where postgres.js
 * negotiates TLS over it, with several hosts, tried in turn, and around a
 * `socket` option of your own), so that no socket is ever opened for a
 * connection that is closed, being closed or whose creation failed: no
 * server session is left behind, and nothing keeps the process alive once
 * the pool is disposed. Making a connection is bounded by `connect_timeout`
 * (30 s by default), all attempts and hosts included.
 *
 * postgres.js's own array-type lookup (`fetch_types`) runs with its promise
 * dropped, so a connection cut during it ends the process with an unhandled
 * rejection. The creator turns it off and runs the same lookup itself, once
 * per creator, registering the array types as postgres.js would; with
 * `fetch_types: false` it skips the lookup (arrays then come back as text,
 * as with plain postgres.js).
 *
 * Once the server or the network closes a connection (or the dialect closes
 * it), its instance is ended and every later query made through it rejects
 * with a `CONNECTION_CLOSED` error, so that the pool sees the disconnect and
 * replaces the connection. (Plain postgres.js 3.4 crashes the process with
 * an uncaught `TypeError` when a query runs on a reserved connection whose
 * socket has closed; the connections made here are guarded against it.)
 *
 * @example With a pool
 * ```ts ignore
 * import { QueuePool } from "@dbpool/pool";
 * import { POSTGRES_DIALECT, postgresCreator } from "@dbpool/pool/postgres";
 *
 * await using pool = new QueuePool(
 *   postgresCreator("postgres://app:secret@localhost:5432/app"),
 *   { dialect: POSTGRES_DIALECT, poolSize: 10 },
 * );
 * await using conn = await pool.connect();
 * const sql = conn.driverConnection!;
 * const [{ now }] = await sql`SELECT now() AS now`;
 * console.log(now);
 * ```
 *
 * @example The dialect on its own
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { POSTGRES_DIALECT, postgresCreator } from "@dbpool/pool/postgres";
 *
 * const sql = await postgresCreator(Deno.env.get("DATABASE_URL"))();
 * assert.equal(POSTGRES_DIALECT.inTransaction(sql), false);
 * await sql`BEGIN`;
 * assert.equal(POSTGRES_DIALECT.inTransaction(sql), true);
 * await POSTGRES_DIALECT.rollback(sql);
 * assert.equal(await POSTGRES_DIALECT.ping(sql), true);
 * await POSTGRES_DIALECT.close(sql);
 * ```
 *
 * @module
 */

import net from "node:net";
import postgres from "npm:postgres@^3";
import type {
  Notice,
  Options,
  PostgresType,
  ReservedSql,
  Sql,
} from "npm:postgres@^3";
import type { Dialect } from "./dialect.ts";
import { isPostgresDisconnectError } from "./_postgres_errors.ts";
import {
  ARRAY_TYPES_QUERY,
  type ArrayType,
  registerArrayTypes,
  toArrayTypes,
} from "./_postgres_arrays.ts";

export type { Dialect } from "./dialect.ts";

/**
 * postgres.js's `ReservedSql` (`npm:postgres`): the driver connection made
 * by {@linkcode postgresCreator}, a tagged-template `sql` function bound to
 * one server session.
 *
 * @example
 * ```ts ignore
 * import type { PostgresReservedSql } from "@dbpool/pool/postgres";
 * import { postgresCreator } from "@dbpool/pool/postgres";
 *
 * const sql: PostgresReservedSql = await postgresCreator(Deno.env.get("DATABASE_URL"))();
 * console.log(await sql`SELECT 1 AS one`);
 * ```
 */
export type PostgresReservedSql = ReservedSql;

/**
 * postgres.js's options (`npm:postgres`), whatever the custom types: what
 * {@linkcode postgresCreator} accepts.
 *
 * @example
 * ```ts
 * import type { PostgresOptions } from "@dbpool/pool/postgres";
 *
 * const options: PostgresOptions = { connect_timeout: 5, prepare: true };
 * console.log(options.connect_timeout);
 * ```
 */
export type PostgresOptions = Options<Record<string, PostgresType>>;

/** How long {@linkcode PostgresDialect.close} waits for a graceful end, in seconds (postgres.js's unit). */
const CLOSE_GRACE_SECONDS = 5;

/** How long closing waits for the socket to be gone once ended, in ms. */
const SOCKET_CLOSE_WAIT_MS = 5_000;

/** postgres.js's default `connect_timeout`, in seconds. */
const DEFAULT_CONNECT_TIMEOUT_SECONDS = 30;

/** The longest pause between two rounds of connection attempts, in ms. */
const MAX_RETRY_PAUSE_MS = 500;

/** The SQLSTATE of "there is no transaction in progress" (a warning). */
const NO_ACTIVE_TRANSACTION = "25P01";

/** The start of this module's own errors about the creator's arguments. */
const ACTION = "Cannot create postgres.js connections";

/** The transaction status byte of ReadyForQuery. */
type TransactionStatus = "I" | "T" | "E";

/** A socket as the creator handles it (postgres.js's `socket` option may give any duplex). */
type AnySocket = net.Socket;

/** What the adapter knows about one connection made by the creator. */
interface EntryState {
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

const STATES = new WeakMap<object, EntryState>();

function newState(tracked: boolean): EntryState {
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

/**
 * Follows the PostgreSQL message stream on a socket (type byte, 4-byte
 * length, body) and records the status byte of each ReadyForQuery (`Z`),
 * and whether a COPY is in progress (`G`, `H` or `W` up to the next `Z`).
 */
function watchReadyForQuery(socket: AnySocket, state: EntryState): void {
  const header = new Uint8Array(5);
  let headerLength = 0;
  let remaining = 0; // body bytes still to skip
  let wantStatus = false; // the next body byte is a ReadyForQuery status
  socket.on("data", (chunk: Uint8Array) => {
    let i = 0;
    const length = chunk.length;
    while (i < length) {
      if (remaining > 0) {
        if (wantStatus) {
          const byte = chunk[i];
          state.status = byte === 0x49 ? "I" : byte === 0x54 ? "T" : "E";
          state.copying = false;
          wantStatus = false;
        }
        const skip = Math.min(remaining, length - i);
        i += skip;
        remaining -= skip;
        continue;
      }
      header[headerLength++] = chunk[i++]!;
      if (headerLength === 5) {
        headerLength = 0;
        const type = header[0];
        const messageLength = ((header[1]! << 24) | (header[2]! << 16) |
          (header[3]! << 8) | header[4]!) >>> 0;
        remaining = messageLength - 4;
        wantStatus = type === 0x5a && remaining > 0; // 'Z'
        // 'G' CopyInResponse, 'H' CopyOutResponse, 'W' CopyBothResponse
        if (type === 0x47 || type === 0x48 || type === 0x57) {
          state.copying = true;
        }
      }
    }
  });
}

function closedError(action: string): Error {
  return Object.assign(
    new Error(`Cannot ${action}: the connection is closed`),
    { code: "CONNECTION_CLOSED" },
  );
}

/** Whether the session is gone, being closed by the dialect, or was never made. */
function isGone(state: EntryState): boolean {
  return state.closed || state.ending !== null || state.failed;
}

type QueryHandler = ((query: unknown) => unknown) & { debug?: unknown };
type Settle = (value: unknown) => unknown;

/**
 * Counts the query in `state.running` from the moment postgres.js is asked
 * to run it until it settles. postgres.js settles a query by calling its
 * `resolve` / `reject` properties (replaced by its cursor iterator as it
 * goes), so those become accessors that wrap whatever is assigned to them.
 * Returns the function that starts the count (also called by the guarded
 * handler), or `null` if the query does not have that shape (another
 * postgres.js version: nothing is counted).
 */
function trackSettling(
  query: Promise<unknown>,
  state: EntryState,
): (() => void) | null {
  let resolve: unknown = Reflect.get(query, "resolve");
  let reject: unknown = Reflect.get(query, "reject");
  if (typeof resolve !== "function" || typeof reject !== "function") {
    return null;
  }
  let counted = false;
  const settled = (): void => {
    if (counted) {
      counted = false;
      state.running--;
    }
  };
  const resolveWrapper: Settle = (value) => {
    settled();
    return (resolve as Settle)(value);
  };
  const rejectWrapper: Settle = (reason) => {
    settled();
    return (reject as Settle)(reason);
  };
  Object.defineProperties(query, {
    resolve: {
      configurable: true,
      get: (): Settle => resolveWrapper,
      set: (fn: unknown): void => void (resolve = fn),
    },
    reject: {
      configurable: true,
      get: (): Settle => rejectWrapper,
      set: (fn: unknown): void => void (reject = fn),
    },
  });
  const start = (): void => {
    if (!counted) {
      counted = true;
      state.running++;
    }
  };
  // postgres.js asks for a query to run through `handle()` (from
  // `execute()`, `then()`, `forEach()`, …), and calls `handler` one
  // microtask later: count it from the request, so that a connection
  // returned right after `execute()` is already busy.
  const handle: unknown = Reflect.get(query, "handle");
  if (typeof handle === "function") {
    Reflect.set(query, "handle", function (this: unknown): unknown {
      if (Reflect.get(query, "executed") !== true) start();
      return Reflect.apply(handle, this, []);
    });
  }
  return start;
}

/**
 * Makes a postgres.js query reject with `CONNECTION_CLOSED` instead of
 * running when, at execution time, its session is gone, and counts it as
 * running (for {@linkcode PostgresDialect.isBusy}) while it runs.
 *
 * postgres.js 3.4 has a bug here: a query run on a reserved connection
 * after its socket closed writes to a `null` socket from a `setImmediate`
 * callback, an uncaught `TypeError` that ends the process. The query's
 * `handler` (postgres.js's `Query#handler`, called when it executes) is
 * wrapped; if a future version has no such property, nothing changes.
 */
function guardQuery(query: unknown, state: EntryState): unknown {
  if (!(query instanceof Promise)) return query; // sql("name") helpers
  const original: unknown = Reflect.get(query, "handler");
  if (typeof original !== "function") return query;
  const handler = original as QueryHandler;
  const start = trackSettling(query, state);
  const guarded: QueryHandler = (pending: unknown): unknown => {
    if (!isGone(state)) {
      start?.();
      return handler(pending);
    }
    const reject: unknown = pending !== null && typeof pending === "object"
      ? Reflect.get(pending, "reject")
      : undefined;
    if (typeof reject === "function") {
      reject(closedError("run the query"));
    }
    return undefined;
  };
  guarded.debug = handler.debug;
  Reflect.set(query, "handler", guarded);
  return query;
}

/**
 * Wraps a reserved connection so that every query made through it (tagged
 * template, `unsafe()`, `file()`, `notify()`) is guarded by
 * {@linkcode guardQuery}.
 */
function guardReserved(
  reserved: PostgresReservedSql,
  state: EntryState,
): PostgresReservedSql {
  return new Proxy(reserved, {
    apply(target, thisArg, args: unknown[]): unknown {
      return guardQuery(Reflect.apply(target, thisArg, args), state);
    },
    get(target, property): unknown {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== "function") return value;
      if (property === "unsafe" || property === "file") {
        return (...args: unknown[]): unknown =>
          guardQuery(Reflect.apply(value, target, args), state);
      }
      if (property === "notify") {
        return (...args: unknown[]): unknown =>
          isGone(state)
            ? Promise.reject(closedError("notify"))
            : Reflect.apply(value, target, args);
      }
      return value;
    },
  });
}

/** Waits at most `ms` for `promise`; clears its timer. */
async function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      promise,
      new Promise<void>((resolve) => timer = setTimeout(resolve, ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits `ms`, or rejects with `CONNECTION_CLOSED` as soon as `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(closedError("connect"));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Destroys the sockets still open; the ones already closed are dropped. */
function destroySockets(state: EntryState): void {
  for (const socket of state.sockets) {
    if (!socket.destroyed) socket.destroy();
  }
}

/** Releases (if needed) and ends the connection's instance. */
function shutdown(
  connection: PostgresReservedSql,
  state: EntryState,
  graceSeconds: number,
): Promise<void> {
  state.ending ??= (async () => {
    state.abort.abort();
    if (!state.closed && !state.released) {
      state.released = true;
      try {
        connection.release();
      } catch {
        // already released
      }
    }
    if (graceSeconds === 0) destroySockets(state);
    if (state.sql !== null) {
      await within(
        state.sql.end({ timeout: graceSeconds }).catch(() => {}),
        graceSeconds * 1_000 + SOCKET_CLOSE_WAIT_MS,
      );
    }
    destroySockets(state);
    await within(
      Promise.all([
        state.whenClosed,
        ...[...state.sockets].filter((socket) => !socket.closed).map(
          (socket) =>
            new Promise<void>((resolve) =>
              socket.once("close", () => resolve())
            ),
        ),
      ]).then(() => {}),
      SOCKET_CLOSE_WAIT_MS,
    );
  })();
  return state.ending;
}

/**
 * The {@linkcode Dialect} for postgres.js reserved connections.
 *
 * It gives its best on connections made by {@linkcode postgresCreator},
 * whose state it knows. On any other `ReservedSql` it still rolls back,
 * commits, pings and classifies errors, but `inTransaction` is `undefined`,
 * and `close` / `terminate` can only `release()` it to its own instance.
 * It holds no other state; use the shared {@linkcode POSTGRES_DIALECT}.
 *
 * @example Classifying errors
 * ```ts
 * import assert from "node:assert/strict";
 * import { POSTGRES_DIALECT } from "@dbpool/pool/postgres";
 *
 * const closed = Object.assign(new Error("write CONNECTION_CLOSED localhost:5432"), {
 *   code: "CONNECTION_CLOSED",
 * });
 * assert.equal(POSTGRES_DIALECT.isDisconnect(closed, null), true);
 * const unique = Object.assign(new Error("duplicate key"), { code: "23505" });
 * assert.equal(POSTGRES_DIALECT.isDisconnect(unique, null), false);
 * ```
 */
export class PostgresDialect implements Dialect<PostgresReservedSql> {
  /** Always `"postgres"`. */
  readonly name: string = "postgres";

  /**
   * Sends `ROLLBACK`, unless the connection is known to be idle.
   *
   * @param connection A reserved connection.
   * @throws {Error} The driver's error; `CONNECTION_CLOSED` at once when
   * the session is known to be gone.
   */
  async rollback(connection: PostgresReservedSql): Promise<void> {
    await this.#run(connection, "ROLLBACK", "roll back");
  }

  /**
   * Sends `COMMIT`, unless the connection is known to be idle.
   *
   * @param connection A reserved connection.
   * @throws {Error} The driver's error; `CONNECTION_CLOSED` at once when
   * the session is known to be gone.
   */
  async commit(connection: PostgresReservedSql): Promise<void> {
    await this.#run(connection, "COMMIT", "commit");
  }

  async #run(
    connection: PostgresReservedSql,
    statement: string,
    action: string,
  ): Promise<void> {
    const state = STATES.get(connection);
    if (state !== undefined && isGone(state)) throw closedError(action);
    if (this.inTransaction(connection) === false) return;
    if (state !== undefined) state.quiet = true;
    try {
      await connection.unsafe(statement);
    } finally {
      if (state !== undefined) state.quiet = false;
    }
  }

  /**
   * Releases the connection and ends its instance gracefully
   * (`sql.end({ timeout: 5 })`: running queries get 5 s, then the socket
   * is closed). Resolves when the socket is closed. Idempotent.
   *
   * @param connection A reserved connection.
   */
  async close(connection: PostgresReservedSql): Promise<void> {
    const state = STATES.get(connection);
    if (state === undefined) return connection.release();
    await shutdown(connection, state, CLOSE_GRACE_SECONDS);
  }

  /**
   * Ends the connection at once (`sql.end({ timeout: 0 })`, and the socket
   * destroyed when the creator made it), failing its pending queries.
   * Resolves when the socket is closed. Idempotent.
   *
   * @param connection A reserved connection.
   */
  async terminate(connection: PostgresReservedSql): Promise<void> {
    const state = STATES.get(connection);
    if (state === undefined) return connection.release();
    await shutdown(connection, state, 0);
  }

  /**
   * Checks the connection with `SELECT 1`. A connection whose session is
   * known to be gone gives `false` without touching the driver.
   *
   * @param connection A reserved connection.
   * @returns `true` when alive, `false` when disconnected.
   * @throws {Error} An error that is not a disconnect.
   */
  async ping(connection: PostgresReservedSql): Promise<boolean> {
    const state = STATES.get(connection);
    if (state !== undefined && isGone(state)) return false;
    try {
      await connection.unsafe("SELECT 1");
      return true;
    } catch (error) {
      if (this.isDisconnect(error, connection)) return false;
      throw error;
    }
  }

  /**
   * Whether `error` means the connection is gone: the session is known to
   * be closed, or the error has a SQLSTATE of class 08, 57P01, 57P02,
   * 57P03, 57P05, 25P03 or 25P04, `FATAL` or `PANIC` severity, a socket
   * code (`ECONNRESET`, `EPIPE`, …) or a postgres.js connection code
   * (`CONNECTION_CLOSED`, `CONNECTION_DESTROYED`, `CONNECTION_ENDED`,
   * `CONNECT_TIMEOUT`).
   *
   * @param error The error to classify.
   * @param connection The connection it came from, when known.
   * @returns `true` for a disconnect.
   */
  isDisconnect(
    error: unknown,
    connection: PostgresReservedSql | null,
  ): boolean {
    if (connection !== null) {
      const state = STATES.get(connection);
      if (state !== undefined && isGone(state)) return true;
    }
    return isPostgresDisconnectError(error);
  }

  /**
   * The transaction status of the last ReadyForQuery message, when the
   * creator could watch it (see the module documentation).
   *
   * @param connection A reserved connection.
   * @returns `false` when idle (`I`), `true` in a transaction (`T`) or a
   * failed one (`E`); `undefined` when unknown or the session is gone.
   */
  inTransaction(connection: PostgresReservedSql): boolean | undefined {
    const state = STATES.get(connection);
    if (
      state === undefined || !state.tracked || isGone(state) ||
      state.status === null
    ) {
      return undefined;
    }
    return state.status !== "I";
  }

  /**
   * Whether a query made through the connection is still running: postgres.js
   * has been asked to run it (it is sent, or queued behind another one on
   * this connection) and has not yet settled it, or, where the creator
   * watches the protocol (see the module documentation), a COPY is in
   * progress. A query settles when its last ReadyForQuery has been read; a
   * cursor runs until it is read to the end or closed. `false` once the
   * session is gone (nothing runs on it any more), and for a connection the
   * creator did not make. No round trip and no allocation: it reads counters
   * kept as the queries start and settle.
   *
   * @param connection A reserved connection.
   * @returns `true` while a query is outstanding.
   *
   * @example A connection is busy while its query runs
   * ```ts ignore
   * import assert from "node:assert/strict";
   * import { POSTGRES_DIALECT, postgresCreator } from "@dbpool/pool/postgres";
   *
   * const sql = await postgresCreator(Deno.env.get("DATABASE_URL"))();
   * const sleeping = sql`SELECT pg_sleep(0.3)`.execute();
   * await Promise.resolve(); // postgres.js sends a query one tick after execute()
   * assert.equal(POSTGRES_DIALECT.isBusy(sql), true);
   * await sleeping;
   * assert.equal(POSTGRES_DIALECT.isBusy(sql), false);
   * await POSTGRES_DIALECT.close(sql);
   * ```
   */
  isBusy(connection: PostgresReservedSql): boolean {
    const state = STATES.get(connection);
    if (state === undefined || isGone(state)) return false;
    return state.running > 0 || state.copying;
  }

  /**
   * Whether the connection's session is known to be gone: postgres.js has
   * seen its socket close (the server ended the session, the network failed),
   * or the dialect closed it. `false` for a connection the creator did not
   * make. No round trip and no allocation.
   *
   * @param connection A reserved connection.
   * @returns `true` once the session is gone.
   *
   * @example After the server ends the session
   * ```ts ignore
   * import assert from "node:assert/strict";
   * import { POSTGRES_DIALECT, postgresCreator } from "@dbpool/pool/postgres";
   *
   * const sql = await postgresCreator(Deno.env.get("DATABASE_URL"))();
   * assert.equal(POSTGRES_DIALECT.isClosed(sql), false);
   * await POSTGRES_DIALECT.close(sql);
   * assert.equal(POSTGRES_DIALECT.isClosed(sql), true);
   * ```
   */
  isClosed(connection: PostgresReservedSql): boolean {
    const state = STATES.get(connection);
    return state !== undefined && isGone(state);
  }
}

/**
 * The shared {@linkcode PostgresDialect}; pass it as the pool's `dialect`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { POSTGRES_DIALECT } from "@dbpool/pool/postgres";
 *
 * assert.equal(POSTGRES_DIALECT.name, "postgres");
 * ```
 */
export const POSTGRES_DIALECT: PostgresDialect = new PostgresDialect();

/** The few parsed options the creator reads (postgres.js `sql.options`). */
interface ParsedOptions {
  host: string[];
  port: number[];
  path: string | undefined;
  ssl: unknown;
  socket: unknown;
  fetchTypes: unknown;
  connectTimeout: unknown;
}

function readParsedOptions(sql: Sql): ParsedOptions {
  const options: unknown = sql.options;
  const get = (name: string): unknown =>
    options !== null && typeof options === "object"
      ? Reflect.get(options, name)
      : undefined;
  const host = get("host");
  const port = get("port");
  const path = get("path");
  return {
    host: Array.isArray(host) ? host.map(String) : [],
    port: Array.isArray(port) ? port.map(Number) : [],
    path: typeof path === "string" && path !== "" ? path : undefined,
    ssl: get("ssl"),
    socket: get("socket"),
    fetchTypes: get("fetch_types"),
    connectTimeout: get("connect_timeout"),
  };
}

/**
 * `href` with the password of its user information, and any `password=`
 * query value, replaced by `***`. The user information ends at the last `@`
 * of the authority (or of the whole URL, if the authority has a `:` but no
 * `@`: an unescaped `/`, `?` or `#` in the password).
 */
function redactPassword(href: string): string {
  let text = href;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(href);
  if (scheme !== null) {
    const start = scheme[0].length;
    const rest = href.slice(start);
    const end = rest.search(/[/?#]/);
    const authority = end === -1 ? rest : rest.slice(0, end);
    let at = authority.lastIndexOf("@");
    if (at === -1 && authority.includes(":")) at = rest.lastIndexOf("@");
    const colon = at === -1 ? -1 : rest.slice(0, at).indexOf(":");
    if (colon !== -1) {
      text = `${href.slice(0, start + colon + 1)}***${href.slice(start + at)}`;
    }
  }
  return text.replace(/([?&]password=)[^&#]*/gi, "$1***");
}

/** Parses the settings with postgres.js; its URL errors become ours, without the password. */
function parseSettings(
  href: string | undefined,
  settings: PostgresOptions,
): ParsedOptions {
  // postgres.js connects lazily, so this instance never opens a socket.
  try {
    return readParsedOptions(
      href === undefined ? postgres(settings) : postgres(href, settings),
    );
  } catch (error) {
    if (href === undefined) throw error;
    if (error instanceof URIError) {
      throw new TypeError(
        `${ACTION}: invalid percent-encoding in the user, password or host of "${
          redactPassword(href)
        }"`,
      );
    }
    if (error instanceof TypeError && /invalid url/i.test(error.message)) {
      throw new TypeError(`${ACTION}: invalid URL "${redactPassword(href)}"`);
    }
    throw error;
  }
}

/**
 * The `connect_timeout` to use, in seconds, or `null` for no limit
 * (postgres.js's `0`, `null` or `false`).
 */
function connectTimeoutSeconds(value: unknown): number | null {
  if (value === undefined) return DEFAULT_CONNECT_TIMEOUT_SECONDS;
  if (value === 0 || value === null || value === false) return null;
  if (typeof value === "number" && Number.isFinite(value) && value > 0) {
    return value;
  }
  throw new RangeError(
    `${ACTION}: "connect_timeout" must be a positive number of seconds, or 0 for no limit, received ${
      typeof value === "string" ? `"${value}"` : String(value)
    }`,
  );
}

/** Where the creator connects: a Unix socket, or hosts tried in turn. */
interface Target {
  readonly path: string | undefined;
  readonly hosts: readonly string[];
  readonly ports: readonly number[];
}

function describeTarget(target: Target): string {
  return target.path ??
    target.hosts.map((host, i) => `${host}:${target.ports[i]}`).join(",");
}

/** The pause before round `round` (1, 2, …) of connection attempts, in ms. */
function retryPauseMs(round: number): number {
  return Math.min(MAX_RETRY_PAUSE_MS, 10 * 2 ** round);
}

type SocketFactory = (options: unknown) => unknown;

function isSocketLike(value: unknown): value is AnySocket {
  return value !== null && typeof value === "object" &&
    typeof Reflect.get(value, "destroy") === "function" &&
    typeof Reflect.get(value, "once") === "function" &&
    typeof Reflect.get(value, "on") === "function";
}

/**
 * Opens a socket for postgres.js (its `socket` option), or refuses with
 * `CONNECTION_CLOSED` when the connection is closed, being closed or was
 * given up, so that no server session is ever left behind. Before the
 * connection is handed out, each call is an attempt at the session: the
 * hosts are tried in turn, with a short growing pause after each round.
 * Afterwards postgres.js only asks for a socket to cancel a query, which
 * goes to the session's host.
 */
async function openSocket(
  state: EntryState,
  target: Target,
  userSocket: SocketFactory | null,
  options: unknown,
): Promise<unknown> {
  if (isGone(state)) throw closedError("open a socket");
  const cancelling = state.ready;
  if (!cancelling) {
    const attempt = state.attempts++;
    const count = target.path === undefined ? target.hosts.length : 1;
    if (attempt > 0 && attempt % count === 0) {
      await pause(retryPauseMs(attempt / count), state.abort.signal);
    }
    state.hostIndex = attempt % count;
  }
  const host = target.hosts[state.hostIndex];
  const port = target.ports[state.hostIndex];
  let socket: unknown;
  if (userSocket !== null) {
    socket = await userSocket(options);
  } else {
    socket = target.path !== undefined
      ? net.connect(target.path)
      : net.connect(port!, host!);
    // postgres.js names the server in its errors, and picks the TLS server
    // name, from these fields.
    Object.assign(socket as AnySocket, { host, port });
  }
  if (!isSocketLike(socket)) return socket;
  if (isGone(state)) {
    socket.destroy();
    throw closedError("open a socket");
  }
  state.sockets.add(socket);
  socket.once("close", () => state.sockets.delete(socket));
  socket.on("error", (error: unknown) => state.lastError = error);
  if (state.tracked && !cancelling) watchReadyForQuery(socket, state);
  return socket;
}

/**
 * Returns a creator that opens one postgres.js connection each time it is
 * called: a new `postgres(url, options)` instance with `max: 1`, and its
 * connection reserved with `sql.reserve()`. Pass it to a pool with
 * {@linkcode POSTGRES_DIALECT}.
 *
 * `options` are postgres.js's, with these differences:
 *
 * - `max` is always `1`.
 * - `max_lifetime` defaults to `null` (postgres.js picks 30 to 60 minutes),
 *   so that connections are not closed behind the pool's back; use the
 *   pool's `recycleMs` instead.
 * - `connect_timeout` (seconds; from the options, the URL or
 *   `PGCONNECT_TIMEOUT`, 30 by default) bounds the whole making of a
 *   connection: every attempt, every host, the array-type lookup and the
 *   reservation. Past it the instance is ended, its sockets are destroyed
 *   and the creator rejects with a `CONNECT_TIMEOUT` error. `0` (or `null`,
 *   `false`) means no limit, as in postgres.js: then a server that accepts
 *   connections and never answers, or several hosts that are all down, are
 *   waited for, or retried, forever (with pauses of up to 0.5 s between
 *   rounds of attempts).
 * - `fetch_types` is honoured, but the creator does the lookup (see the
 *   module documentation): it runs once per creator, and the array types it
 *   finds are registered on each connection.
 * - `onclose` and `onnotice` are wrapped, and still called; the
 *   "there is no transaction in progress" warning caused by the dialect's
 *   own `ROLLBACK` is dropped.
 * - The creator opens the sockets itself, and calls a `socket` option of
 *   yours to do it (see the module documentation).
 *
 * If the connection cannot be made, the instance is ended and the error is
 * thrown.
 *
 * @param url A connection URL; unset uses `options` and the `PG*`
 * environment variables, as postgres.js does.
 * @param options postgres.js options.
 * @returns A function that opens one reserved connection.
 * @throws {TypeError} When `url` is not a valid URL, or has invalid
 * percent-encoding in its user, password or host; the message shows the URL
 * with its password replaced by `***`.
 * @throws {RangeError} When `connect_timeout` is not a positive number of
 * seconds or `0`.
 *
 * @example
 * ```ts ignore
 * import { postgresCreator } from "@dbpool/pool/postgres";
 *
 * const connect = postgresCreator(Deno.env.get("DATABASE_URL"), {
 *   connect_timeout: 5,
 *   connection: { application_name: "notes" },
 * });
 * const sql = await connect();
 * console.log(await sql`SELECT 1 AS one`);
 * sql.release();
 * ```
 *
 * @example Bad URLs are refused at once, without their password
 * ```ts
 * import assert from "node:assert/strict";
 * import { postgresCreator } from "@dbpool/pool/postgres";
 *
 * assert.throws(
 *   () => postgresCreator("postgres://app:pa%zzss@localhost/app"),
 *   (error: unknown) => {
 *     assert(error instanceof TypeError);
 *     assert.match(error.message, /percent-encoding/);
 *     assert.doesNotMatch(error.message, /pa%zzss/);
 *     return true;
 *   },
 * );
 * ```
 */
export function postgresCreator(
  url?: string | URL,
  options: PostgresOptions = {},
): () => Promise<PostgresReservedSql> {
  const href = url === undefined ? undefined : String(url);
  const settings: PostgresOptions = {
    "max_lifetime": null,
    ...options,
    max: 1,
  };
  const parsed = parseSettings(href, settings);
  const timeoutSeconds = connectTimeoutSeconds(parsed.connectTimeout);
  const fetchTypes = Boolean(parsed.fetchTypes);
  const userSocket = typeof parsed.socket === "function"
    ? parsed.socket as SocketFactory
    : null;
  const target: Target = {
    path: parsed.path,
    hosts: parsed.host.length > 0 ? parsed.host : ["localhost"],
    ports: parsed.port.length > 0 ? parsed.port : [5432],
  };
  const trackable = userSocket === null && !parsed.ssl;
  const userOnclose = options.onclose;
  const userOnnotice = options.onnotice;
  /** The server's array types, once looked up. */
  let arrayTypes: readonly ArrayType[] | null = null;

  return async function createPostgresConnection(): Promise<
    PostgresReservedSql
  > {
    const state = newState(trackable);
    const instanceOptions: PostgresOptions & { socket: SocketFactory } = {
      ...settings,
      "fetch_types": false,
      "connect_timeout": timeoutSeconds ?? 0,
      onclose(connectionId: number): void {
        state.closed = true;
        state.abort.abort();
        state.markClosed();
        // End the instance so that postgres.js does not open a new session
        // behind the pool's back (later queries are rejected by the guard).
        // `timeout: 0`: a query cut by the close stays "active" inside
        // postgres.js, and a plain end() would wait for it forever.
        state.sql?.end({ timeout: 0 }).catch(() => {});
        userOnclose?.(connectionId);
      },
      onnotice(notice: Notice): void {
        if (state.quiet && notice.code === NO_ACTIVE_TRANSACTION) return;
        if (userOnnotice !== undefined) return userOnnotice(notice);
        // deno-lint-ignore no-console -- postgres.js's own default for notices, kept for the ones the pool did not cause
        console.log(notice);
      },
      socket: (socketOptions: unknown): unknown =>
        openSocket(state, target, userSocket, socketOptions),
    };
    const sql = href === undefined
      ? postgres(instanceOptions)
      : postgres(href, instanceOptions);
    state.sql = sql;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      if (timeoutSeconds === null) return;
      timer = setTimeout(() => {
        const cause = state.lastError;
        reject(Object.assign(
          new Error(
            `Cannot connect to "${
              describeTarget(target)
            }": no session within connect_timeout (${timeoutSeconds} s)`,
            cause === undefined ? {} : { cause },
          ),
          { code: "CONNECT_TIMEOUT" },
        ));
      }, timeoutSeconds * 1_000);
    });
    try {
      // The first query opens the session (postgres.js's reserve() never
      // completes on a new connection without its own type lookup).
      const lookup = fetchTypes && arrayTypes === null;
      const setup = lookup
        ? sql.unsafe(ARRAY_TYPES_QUERY).values()
        : sql.unsafe("SELECT 1");
      const rows: unknown = await Promise.race([setup, timedOut]);
      if (lookup && Array.isArray(rows)) arrayTypes ??= toArrayTypes(rows);
      if (fetchTypes && arrayTypes !== null) {
        registerArrayTypes(sql.options, arrayTypes);
      }
      if (isGone(state)) throw closedError("connect");
      const reserved = await Promise.race([sql.reserve(), timedOut]);
      const guarded = guardReserved(reserved, state);
      state.ready = true;
      STATES.set(guarded, state);
      return guarded;
    } catch (error) {
      state.failed = true;
      state.abort.abort();
      destroySockets(state);
      await within(
        sql.end({ timeout: 0 }).catch(() => {}),
        SOCKET_CLOSE_WAIT_MS,
      );
      throw error;
    } finally {
      clearTimeout(timer);
    }
  };
}
