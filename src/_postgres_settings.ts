/**
 * The postgres.js adapter's reading of its creator's arguments: the URL and
 * options are parsed by postgres.js itself, so that the creator connects
 * where, and as, plain postgres.js would.
 *
 * - Parsing opens no socket: postgres.js connects lazily, and the instance
 *   made to parse is dropped unused.
 * - A URL never shows its password in an error from here: postgres.js's
 *   own URL errors, which quote the URL or come from decoding it, are
 *   replaced by a `TypeError` that shows the URL with its password as
 *   `***`. Other errors pass through unchanged.
 * - Bad arguments are refused here, when the creator is made: a malformed
 *   URL is a `TypeError`, a `connect_timeout` that is neither a positive
 *   number of seconds nor `0` (`null`, `false`) a `RangeError`.
 *
 * @module
 */

import postgres from "npm:postgres@^3";
import type { Options, PostgresType, Sql } from "npm:postgres@^3";

/** postgres.js's options, whatever the custom types (the public `PostgresOptions`). */
export type PostgresSettings = Options<Record<string, PostgresType>>;

/** postgres.js's default `connect_timeout`, in seconds. */
const DEFAULT_CONNECT_TIMEOUT_SECONDS = 30;

/** The start of this module's own errors about the creator's arguments. */
const ACTION = "Cannot create postgres.js connections";

/** The few parsed options the creator reads (postgres.js `sql.options`). */
export interface ParsedOptions {
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
export function parseSettings(
  href: string | undefined,
  settings: PostgresSettings,
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
export function connectTimeoutSeconds(value: unknown): number | null {
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
