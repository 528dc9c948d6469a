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

import type { Options, PostgresType, ReservedSql } from "npm:postgres@^3";
import type { Dialect } from "./dialect.ts";
import { isPostgresDisconnectError } from "./_postgres_errors.ts";
import { connector } from "./_postgres_connector.ts";
import { closedError, isGone, STATES } from "./_postgres_entry_state.ts";
import { shutdown } from "./_postgres_shutdown.ts";

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
  return connector(url, options);
}
