/**
 * Making connections for the postgres.js adapter: {@linkcode connector}
 * is the body of `postgresCreator()`.
 *
 * Each connection is its own postgres.js instance (`max: 1`) whose one
 * connection is reserved, guarded and registered with its state.
 *
 * - The URL and options are read once, when the creator is made; each call
 *   of the returned function makes one connection and shares nothing with
 *   the others but the array types, looked up once per creator (unless
 *   `fetch_types` is off) and registered on every connection.
 * - Making a connection is bounded by `connect_timeout` as a whole (every
 *   attempt and host, the array-type lookup and the reservation); `0`,
 *   `null` or `false` means no bound, as in postgres.js.
 * - A connection is handed out only once its session is open and reserved;
 *   when making it fails or times out, it is marked failed (so that no
 *   socket is opened for it any more), its sockets are destroyed and its
 *   instance ended, and the error is thrown. Nothing is left open behind.
 * - Once the server or the network closes the session, the instance is
 *   ended at once, so that postgres.js never opens a new session behind
 *   the pool's back. The user's `onclose` and `onnotice` are still called,
 *   except for the "there is no transaction in progress" warning caused by
 *   the dialect's own `ROLLBACK`.
 *
 * @module
 */

import postgres from "npm:postgres@^3";
import type { Notice, ReservedSql } from "npm:postgres@^3";
import {
  ARRAY_TYPES_QUERY,
  type ArrayType,
  registerArrayTypes,
  toArrayTypes,
} from "./_postgres_arrays.ts";
import {
  closedError,
  isGone,
  newState,
  STATES,
} from "./_postgres_entry_state.ts";
import { guardReserved } from "./_postgres_query_guard.ts";
import {
  connectTimeoutSeconds,
  parseSettings,
  type PostgresSettings,
} from "./_postgres_settings.ts";
import {
  destroySockets,
  SOCKET_CLOSE_WAIT_MS,
  within,
} from "./_postgres_shutdown.ts";
import {
  describeTarget,
  openSocket,
  type SocketFactory,
  type Target,
} from "./_postgres_socket.ts";

/** The SQLSTATE of "there is no transaction in progress" (a warning). */
const NO_ACTIVE_TRANSACTION = "25P01";

/**
 * Returns the function that makes one reserved connection per call, for
 * `url` (unset: the options and the `PG*` environment variables) and the
 * postgres.js `options`, as `postgresCreator()` documents it.
 *
 * @throws {TypeError} When `url` is not a valid URL, or has invalid
 * percent-encoding in its user, password or host.
 * @throws {RangeError} When `connect_timeout` is not a positive number of
 * seconds or `0`.
 */
export function connector(
  url: string | URL | undefined,
  options: PostgresSettings,
): () => Promise<ReservedSql> {
  const href = url === undefined ? undefined : String(url);
  const settings: PostgresSettings = {
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
    ReservedSql
  > {
    const state = newState(trackable);
    const instanceOptions: PostgresSettings & { socket: SocketFactory } = {
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
