/**
 * node-postgres adapter: a {@linkcode Dialect} for `npm:pg`'s `Client` and
 * a creator that connects one client per pool slot.
 *
 * - `rollback` / `commit` send `ROLLBACK` / `COMMIT`, and nothing when the
 *   client is known to be idle.
 * - `inTransaction` comes from the transaction status of the protocol's last
 *   ReadyForQuery message (`I` idle, `T` in a transaction, `E` in a failed
 *   transaction), so returning an idle connection costs no round trip.
 * - `isDisconnect` recognises real failures: SQLSTATE class 08, 57P01,
 *   57P02, 57P03 (and the other session-ending codes), `FATAL` errors,
 *   `ECONNRESET`, `EPIPE`, and node-postgres's "Connection terminated"
 *   errors.
 * - `isBusy` says whether a query is outstanding (sent and not answered, or
 *   queued), and `isClosed` whether the driver has seen the session end,
 *   both from node-postgres's own state: the pool asks them on every return
 *   and checkout.
 * - `close` ends the client gracefully (at most 5 s), `terminate` destroys
 *   its socket at once.
 *
 * {@linkcode pgCreator} also attaches an `error` listener to each client:
 * node-postgres emits `error` when the server or the network drops an idle
 * client, and an unhandled `error` event would end the process. The error is
 * remembered, and makes `ping` return `false` without a round trip.
 *
 * @example With a pool
 * ```ts ignore
 * import { QueuePool } from "@dbpool/pool";
 * import { PG_DIALECT, pgCreator } from "@dbpool/pool/pg";
 *
 * await using pool = new QueuePool(
 *   pgCreator("postgres://app:secret@localhost:5432/app"),
 *   { dialect: PG_DIALECT, poolSize: 10, prePing: true },
 * );
 * await using conn = await pool.connect();
 * const { rows } = await conn.driverConnection!.query("SELECT now() AS now");
 * console.log(rows[0].now);
 * ```
 *
 * @example The dialect on its own
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { PG_DIALECT, pgCreator } from "@dbpool/pool/pg";
 *
 * const client = await pgCreator(Deno.env.get("DATABASE_URL"))();
 * assert.equal(PG_DIALECT.inTransaction(client), false);
 * await client.query("BEGIN");
 * assert.equal(PG_DIALECT.inTransaction(client), true);
 * await PG_DIALECT.rollback(client);
 * assert.equal(await PG_DIALECT.ping(client), true);
 * await PG_DIALECT.close(client);
 * ```
 *
 * @module
 */

// @ts-types="npm:@types/pg@^8"
import pg from "npm:pg@^8";
// @ts-types="npm:@types/pg@^8"
import type * as pgTypes from "npm:pg@^8";
import type { Dialect } from "./dialect.ts";
import { isPostgresDisconnectError } from "./_postgres_errors.ts";
import {
  awaitingReadyForQuery,
  endClient,
  hasQueryOutstanding,
  isDead,
  track,
  transactionStatus,
} from "./_pg_client_state.ts";
import {
  checkCreatorOptions,
  withConnectTimeout,
} from "./_pg_connect_timeout.ts";

export type { Dialect } from "./dialect.ts";

/**
 * node-postgres's `Client` (`npm:pg`, typed by `@types/pg`): the driver
 * connection of this adapter.
 *
 * @example
 * ```ts ignore
 * import type { PgClient } from "@dbpool/pool/pg";
 * import { pgCreator } from "@dbpool/pool/pg";
 *
 * const client: PgClient = await pgCreator(Deno.env.get("DATABASE_URL"))();
 * await client.end();
 * ```
 */
export type PgClient = pgTypes.Client;

/**
 * node-postgres's `ClientConfig` (`npm:pg`, typed by `@types/pg`): what
 * {@linkcode pgCreator} accepts besides a connection string.
 *
 * @example
 * ```ts
 * import type { PgClientConfig } from "@dbpool/pool/pg";
 *
 * const config: PgClientConfig = {
 *   host: "localhost",
 *   database: "app",
 *   connectionTimeoutMillis: 5_000,
 * };
 * console.log(config.database);
 * ```
 */
export type PgClientConfig = pgTypes.ClientConfig;

/** How long {@linkcode PgDialect.close} waits for a graceful end. */
const CLOSE_GRACE_MS = 5_000;

/**
 * The {@linkcode Dialect} for node-postgres clients (`npm:pg` `Client`).
 *
 * It works with any connected `pg.Client`; on clients not made by
 * {@linkcode pgCreator} it installs its listeners (an `error` recorder, a
 * ReadyForQuery status tracker) the first time it sees them. It holds no
 * other state; use the shared {@linkcode PG_DIALECT}.
 *
 * @example Classifying errors
 * ```ts
 * import assert from "node:assert/strict";
 * import { PG_DIALECT } from "@dbpool/pool/pg";
 *
 * const killed = Object.assign(new Error("terminating connection due to administrator command"), {
 *   code: "57P01",
 * });
 * assert.equal(PG_DIALECT.isDisconnect(killed, null), true);
 * assert.equal(PG_DIALECT.isDisconnect(new Error("Connection terminated unexpectedly"), null), true);
 * const duplicate = Object.assign(new Error("duplicate key"), { code: "23505" });
 * assert.equal(PG_DIALECT.isDisconnect(duplicate, null), false);
 * ```
 */
export class PgDialect implements Dialect<PgClient> {
  /** Always `"pg"`. */
  readonly name: string = "pg";

  /**
   * Sends `ROLLBACK`, unless the client is known to be idle.
   *
   * @param client A connected client.
   * @throws {Error} The driver's error (see {@linkcode PgDialect.isDisconnect}).
   */
  async rollback(client: PgClient): Promise<void> {
    if (this.inTransaction(client) === false) return;
    await client.query("ROLLBACK");
  }

  /**
   * Sends `COMMIT`, unless the client is known to be idle.
   *
   * @param client A connected client.
   * @throws {Error} The driver's error, e.g. a serialization failure.
   */
  async commit(client: PgClient): Promise<void> {
    if (this.inTransaction(client) === false) return;
    await client.query("COMMIT");
  }

  /**
   * Ends the client gracefully (`client.end()`: a Terminate message, then
   * the socket closes); after 5 s without an answer the socket is
   * destroyed. Closing an ended client does nothing.
   *
   * @param client The client.
   */
  async close(client: PgClient): Promise<void> {
    await endClient(client, CLOSE_GRACE_MS);
  }

  /**
   * Destroys the client's socket at once, failing its pending queries, and
   * resolves when the socket is closed.
   *
   * @param client The client.
   */
  async terminate(client: PgClient): Promise<void> {
    await endClient(client, 0);
  }

  /**
   * Checks the client with `SELECT 1`. A client whose socket already failed
   * (an `error` event, or node-postgres marked it not queryable) gives
   * `false` without a round trip.
   *
   * @param client The client.
   * @returns `true` when alive, `false` when disconnected.
   * @throws {Error} An error that is not a disconnect (e.g. a query on a
   * client that is busy with a COPY).
   */
  async ping(client: PgClient): Promise<boolean> {
    track(client);
    if (isDead(client)) return false;
    try {
      await client.query("SELECT 1");
      return true;
    } catch (error) {
      if (this.isDisconnect(error, client)) return false;
      throw error;
    }
  }

  /**
   * Whether `error` means the connection is gone: the client already failed
   * or was ended, or the error has a SQLSTATE of class 08, 57P01, 57P02,
   * 57P03, 57P05, 25P03 or 25P04, `FATAL` or `PANIC` severity, a socket
   * code (`ECONNRESET`, `EPIPE`, …), or a node-postgres "Connection
   * terminated" / "not queryable" message.
   *
   * @param error The error to classify.
   * @param client The client it came from, when known.
   * @returns `true` for a disconnect.
   */
  isDisconnect(error: unknown, client: PgClient | null): boolean {
    if (client !== null && isDead(client)) return true;
    return isPostgresDisconnectError(error);
  }

  /**
   * Whether the client has a query outstanding: sent and not yet answered
   * (node-postgres's active query, including a `BEGIN` or a long
   * `pg_sleep()` whose promise nobody awaited), or queued behind one.
   * Reads node-postgres's own bookkeeping: no round trip, no allocation.
   *
   * A query is answered once its rows and completion, or its error, have
   * been read: a failed query no longer counts as busy even if the
   * server's ReadyForQuery that follows its error is still in flight.
   * A closed client is never busy (node-postgres failed its queries).
   *
   * The pool asks on every return: a busy connection is terminated and
   * invalidated rather than pooled, since its next holder would inherit
   * the running query or the transaction it opens.
   *
   * @param client The client.
   * @returns `true` while a query is outstanding.
   *
   * @example A query left running
   * ```ts ignore
   * import assert from "node:assert/strict";
   * import { PG_DIALECT, pgCreator } from "@dbpool/pool/pg";
   *
   * const client = await pgCreator(Deno.env.get("DATABASE_URL"))();
   * const sleeping = client.query("SELECT pg_sleep(0.3)");
   * assert.equal(PG_DIALECT.isBusy(client), true);
   * await sleeping;
   * assert.equal(PG_DIALECT.isBusy(client), false);
   * await PG_DIALECT.close(client);
   * ```
   */
  isBusy(client: PgClient): boolean {
    return !isDead(client) && hasQueryOutstanding(client);
  }

  /**
   * Whether node-postgres has seen the session end: the client emitted
   * `error` (the server terminated the backend, the socket failed), it was
   * ended with `end()` (or is ending), node-postgres marked it not
   * queryable, or its socket is destroyed. Reads state the driver already
   * has: no round trip, no allocation.
   *
   * The pool asks at every checkout and replaces a closed client without a
   * `prePing` round trip. A connection the network lost silently (no FIN,
   * no RST yet) is not known closed; `prePing` finds it.
   *
   * @param client The client.
   * @returns `true` once the session is known to be over.
   *
   * @example After the server ended the session
   * ```ts ignore
   * import assert from "node:assert/strict";
   * import { PG_DIALECT, pgCreator } from "@dbpool/pool/pg";
   *
   * const client = await pgCreator(Deno.env.get("DATABASE_URL"))();
   * assert.equal(PG_DIALECT.isClosed(client), false);
   * const ended = new Promise((resolve) => client.once("end", resolve));
   * await client.query("SELECT pg_terminate_backend(pg_backend_pid())").catch(() => {});
   * await ended;
   * assert.equal(PG_DIALECT.isClosed(client), true);
   * ```
   */
  isClosed(client: PgClient): boolean {
    return isDead(client);
  }

  /**
   * The transaction status of the last ReadyForQuery message:
   * `client.getTransactionStatus()` (recent pg 8 releases), else the adapter's own
   * `readyForQuery` listener.
   *
   * While a ReadyForQuery is still to come, that status is stale and the
   * answer is `undefined`: during a query, and also after a failed query's
   * error has been read, since the server sends the ReadyForQuery that
   * follows an error separately. A failed `BEGIN; …` run as one query, say,
   * leaves the session in a failed transaction that only that message
   * reports; the pool's reset then sends `ROLLBACK`, which node-postgres
   * queues until the message has arrived.
   *
   * @param client The client.
   * @returns `false` when idle (`I`), `true` in a transaction (`T`) or a
   * failed one (`E`); `undefined` when unknown: before the first message,
   * while a ReadyForQuery is still to come, on a client that failed (so
   * that the pool's reset runs, fails and invalidates it), or on a client
   * first seen by the dialect.
   */
  inTransaction(client: PgClient): boolean | undefined {
    if (isDead(client)) return undefined;
    if (awaitingReadyForQuery(client)) return undefined;
    const status = transactionStatus(client);
    return status === null ? undefined : status !== "I";
  }
}

/**
 * The shared {@linkcode PgDialect}; pass it as the pool's `dialect`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PG_DIALECT } from "@dbpool/pool/pg";
 *
 * assert.equal(PG_DIALECT.name, "pg");
 * ```
 */
export const PG_DIALECT: PgDialect = new PgDialect();

/**
 * Options of {@linkcode pgCreator}, besides the driver's own
 * {@linkcode PgClientConfig}.
 *
 * @example Tying the driver's connect timeout to the pool's
 * ```ts ignore
 * import { QueuePool } from "@dbpool/pool";
 * import { PG_DIALECT, pgCreator, type PgCreatorOptions } from "@dbpool/pool/pg";
 *
 * const connectTimeoutMs = 5_000;
 * const options: PgCreatorOptions = { connectTimeoutMs };
 * await using pool = new QueuePool(
 *   pgCreator(Deno.env.get("DATABASE_URL"), options),
 *   { dialect: PG_DIALECT, connectTimeoutMs },
 * );
 * ```
 */
export interface PgCreatorOptions {
  /**
   * The most milliseconds one `connect()` may take (TCP connection,
   * startup and authentication) when the driver settings do not say:
   * passed to node-postgres as `connectionTimeoutMillis`, after which it
   * destroys the socket and `connect()` rejects. Used only when
   * `config.connectionTimeoutMillis` is not set and the connection string
   * has no `connect_timeout`. `null` leaves node-postgres without a limit
   * (its own default, under which a server that accepts the TCP connection
   * and never answers, such as a stopped postmaster, keeps `connect()`
   * pending forever). `0` fails at once (node-postgres reads `0` as no
   * limit, so 1 ms is passed).
   *
   * Pass the pool's `connectTimeoutMs` here to bound the driver as the
   * pool does; `createPoolFromUrl()` does this by itself.
   *
   * @default {30_000}
   */
  connectTimeoutMs?: number | null;
}

/** The error node-postgres destroys the socket with when connecting times out. */
const TIMEOUT_MESSAGE = "timeout expired";

/**
 * Returns a creator that connects a new node-postgres `Client` with
 * `config` each time it is called; pass it to a pool with
 * {@linkcode PG_DIALECT}.
 *
 * Each client gets an `error` listener (so that a server or network failure
 * while it sits idle in the pool is remembered instead of crashing the
 * process) and a ReadyForQuery status tracker. If `connect()` fails, the
 * client is destroyed and the error is thrown.
 *
 * Connecting is always bounded unless asked otherwise: node-postgres's own
 * default is no limit, so the creator passes `connectionTimeoutMillis`
 * itself. The limit is, in this order: `config.connectionTimeoutMillis`
 * when set (`0` there means no limit, as in node-postgres); the libpq
 * `connect_timeout` parameter of the connection string, in seconds, which
 * node-postgres itself ignores (`0` means no limit; at least 2 s, as in
 * libpq); `options.connectTimeoutMs`, 30 s by default (`null`: no limit).
 * On timeout the creator rejects with "Connection terminated due to
 * connection timeout" (pg-pool's wording; node-postgres's own "timeout
 * expired" error is its `cause`), a disconnect for
 * {@linkcode PgDialect.isDisconnect}.
 *
 * pg's own `statement_timeout`, `application_name`, `ssl`… work as usual.
 *
 * @param config A connection string or a {@linkcode PgClientConfig}; unset uses pg's
 * defaults and the `PG*` environment variables.
 * @param options See {@linkcode PgCreatorOptions}.
 * @returns A function that connects one client.
 * @throws {TypeError} For an unknown option, a `connectTimeoutMs` that is
 * not a number or `null`, or a `connect_timeout` in the connection string
 * that is not an integer.
 * @throws {RangeError} For a negative or infinite `connectTimeoutMs`.
 *
 * @example
 * ```ts ignore
 * import { pgCreator } from "@dbpool/pool/pg";
 *
 * const connect = pgCreator({
 *   connectionString: Deno.env.get("DATABASE_URL"),
 *   connectionTimeoutMillis: 5_000,
 *   application_name: "notes",
 * });
 * const client = await connect();
 * console.log((await client.query("SELECT 1 AS one")).rows);
 * await client.end();
 * ```
 */
export function pgCreator(
  config?: string | PgClientConfig,
  options?: PgCreatorOptions,
): () => Promise<PgClient> {
  const settings = withConnectTimeout(config, checkCreatorOptions(options));
  return async function createPgClient(): Promise<PgClient> {
    const client = new pg.Client(settings);
    track(client);
    try {
      await client.connect();
    } catch (error) {
      await endClient(client, 0).catch(() => {});
      if (error instanceof Error && error.message === TIMEOUT_MESSAGE) {
        // pg-pool's wording for the same event, which reads as a disconnect.
        throw new Error("Connection terminated due to connection timeout", {
          cause: error,
        });
      }
      throw error;
    }
    return client;
  };
}
