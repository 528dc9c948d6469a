/**
 * The connect timeout of the node-postgres adapter's creator: its one
 * option checked, and the limit passed to node-postgres as
 * `connectionTimeoutMillis`.
 *
 * - Connecting is bounded unless asked otherwise: node-postgres's own
 *   default is no limit, so a limit is always passed. It is, in this
 *   order, the user's `connectionTimeoutMillis`, the connection string's
 *   libpq `connect_timeout` (which node-postgres parses and ignores), then
 *   the creator's `connectTimeoutMs` option, 30 s by default.
 * - The user's configuration is never changed: a copy is made when the
 *   limit is added, and a configuration that already sets
 *   `connectionTimeoutMillis` is passed on as it is.
 * - Bad options, and a `connect_timeout` in the connection string that is
 *   not an integer, throw at once, when the creator is made: a `TypeError`
 *   for a wrong type or an unknown key, a `RangeError` for a value out of
 *   range.
 *
 * @module
 */

// @ts-types="npm:@types/pg@^8"
import type { ClientConfig } from "npm:pg@^8";

/** node-postgres's connect timeout when nothing else sets one. */
const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;

const CREATOR_ACTION = "Cannot create pg creator";

/** Checks the creator's options (`PgCreatorOptions`); returns the timeout (`null`: none). */
export function checkCreatorOptions(options: unknown): number | null {
  if (options === undefined) return DEFAULT_CONNECT_TIMEOUT_MS;
  if (
    options === null || typeof options !== "object" || Array.isArray(options)
  ) {
    throw new TypeError(
      `${CREATOR_ACTION}: options must be an object, received ${
        options === null
          ? "null"
          : Array.isArray(options)
          ? "an array"
          : typeof options
      }`,
    );
  }
  for (const [key, value] of Object.entries(options)) {
    if (key !== "connectTimeoutMs" && value !== undefined) {
      throw new TypeError(`${CREATOR_ACTION}: unknown option "${key}"`);
    }
  }
  const value: unknown = Reflect.get(options, "connectTimeoutMs");
  if (value === undefined) return DEFAULT_CONNECT_TIMEOUT_MS;
  if (value === null) return null;
  if (typeof value !== "number") {
    throw new TypeError(
      `${CREATOR_ACTION}: "connectTimeoutMs" must be a number or null, received ${
        typeof value === "string" ? `"${value}"` : typeof value
      }`,
    );
  }
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(
      `${CREATOR_ACTION}: "connectTimeoutMs" must be a finite number >= 0, received ${value}`,
    );
  }
  return value;
}

/**
 * The libpq `connect_timeout` parameter of a connection string, in ms:
 * `undefined` when absent, `0` (no limit) when zero or negative, and at
 * least 2 s, as libpq reads it. node-postgres parses the parameter but
 * does not use it.
 */
function connectTimeoutOfString(text: string): number | undefined {
  if (text.startsWith("/") || !text.includes("connect_timeout")) {
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(text, "postgres://base");
  } catch {
    return undefined; // node-postgres reports the malformed string itself
  }
  const value = url.searchParams.getAll("connect_timeout").at(-1);
  if (value === undefined) return undefined;
  if (!/^\s*[+-]?\d+\s*$/.test(value)) {
    throw new TypeError(
      `${CREATOR_ACTION}: "connect_timeout" in the connection string must be an integer number of seconds, received "${value}"`,
    );
  }
  const seconds = Number.parseInt(value, 10);
  return seconds <= 0 ? 0 : Math.max(seconds, 2) * 1_000;
}

/**
 * The client configuration with a connect timeout: the user's
 * `connectionTimeoutMillis` if set, else the connection string's
 * `connect_timeout`, else `fallbackMs` (`null`: none).
 */
export function withConnectTimeout(
  config: string | ClientConfig | undefined,
  fallbackMs: number | null,
): string | ClientConfig | undefined {
  if (config === undefined || config === null) {
    config = {};
  } else if (typeof config === "string") {
    config = { connectionString: config };
  } else if (config.connectionTimeoutMillis !== undefined) {
    return config;
  }
  const fromString = typeof config.connectionString === "string"
    ? connectTimeoutOfString(config.connectionString)
    : undefined;
  const timeoutMs = fromString ??
    (fallbackMs === null ? 0 : Math.max(1, Math.ceil(fallbackMs)));
  return { ...config, connectionTimeoutMillis: timeoutMs };
}
