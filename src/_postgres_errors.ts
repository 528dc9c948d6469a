/**
 * Internal: disconnect classification shared by the node-postgres
 * (`./pg`) and postgres.js (`./postgres`) adapters.
 *
 * @module
 */

/**
 * SQLSTATEs (besides class 08, connection_exception) after which the
 * server has closed the session.
 */
const DISCONNECT_SQLSTATES: ReadonlySet<string> = new Set([
  "57P01", // admin_shutdown: pg_terminate_backend(), smart/fast shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now: the server is starting or shutting down
  "57P05", // idle_session_timeout (PostgreSQL 14+)
  "25P03", // idle_in_transaction_session_timeout (the session is closed)
  "25P04", // transaction_timeout (PostgreSQL 17+, the session is closed)
]);

/** Socket-level and driver-level error codes of a dead connection. */
const DISCONNECT_CODES: ReadonlySet<string> = new Set([
  // Node and Deno sockets
  "ECONNRESET",
  "EPIPE",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTCONN",
  "ERR_STREAM_DESTROYED",
  "ERR_STREAM_WRITE_AFTER_END",
  "ERR_SOCKET_CLOSED",
  // postgres.js (errors.js `connection()` codes)
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  "CONNECT_TIMEOUT",
]);

/** Names of Deno's own network errors (`Deno.errors.*`). */
const DISCONNECT_ERROR_NAMES: ReadonlySet<string> = new Set([
  "ConnectionReset",
  "ConnectionAborted",
  "ConnectionRefused",
  "BrokenPipe",
  "NotConnected",
]);

/** Messages of disconnect errors that carry no code. */
const DISCONNECT_MESSAGES: readonly RegExp[] = [
  // node-postgres (lib/client.js)
  /^Connection terminated/, // "…", "… unexpectedly", "… due to connection timeout"
  /Client has encountered a connection error and is not queryable/,
  /Client was closed and is not queryable/,
  // libpq wording (pg-native) and the server's own FATAL texts
  /server closed the connection unexpectedly/,
  /no connection to the server/,
  /terminating connection due to/,
  // Node's socket wording
  /This socket has been ended by the other party/,
];

/**
 * Whether `error` says that the PostgreSQL connection it came from is gone:
 * a SQLSTATE of class 08 or in {@linkcode DISCONNECT_SQLSTATES}, a `FATAL`
 * or `PANIC` server error, a socket error code, a postgres.js connection
 * code, or a node-postgres "Connection terminated" message. Follows `cause`
 * chains and `AggregateError`s a few levels deep.
 *
 * @param error The error to classify.
 * @returns `true` for a disconnect.
 */
export function isPostgresDisconnectError(error: unknown): boolean {
  return classify(error, 0);
}

function classify(error: unknown, depth: number): boolean {
  if (depth > 4) return false;
  if (typeof error === "string") return matchesMessage(error);
  if (error === null || typeof error !== "object") return false;

  const code: unknown = Reflect.get(error, "code");
  if (typeof code === "string") {
    if (/^08[0-9A-Z]{3}$/.test(code)) return true;
    if (DISCONNECT_SQLSTATES.has(code) || DISCONNECT_CODES.has(code)) {
      return true;
    }
  }
  const severity: unknown = Reflect.get(error, "severity");
  if (severity === "FATAL" || severity === "PANIC") return true;
  const name: unknown = Reflect.get(error, "name");
  if (typeof name === "string" && DISCONNECT_ERROR_NAMES.has(name)) return true;
  const message: unknown = Reflect.get(error, "message");
  if (typeof message === "string" && matchesMessage(message)) return true;

  if (error instanceof AggregateError) {
    if (error.errors.some((inner) => classify(inner, depth + 1))) return true;
  }
  const cause: unknown = Reflect.get(error, "cause");
  return cause !== undefined && cause !== error && classify(cause, depth + 1);
}

function matchesMessage(message: string): boolean {
  return DISCONNECT_MESSAGES.some((pattern) => pattern.test(message));
}
