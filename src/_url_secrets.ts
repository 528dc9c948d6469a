/**
 * Keeping passwords out of what `createPoolFromUrl()` shows: URLs printed
 * in its errors, and the errors the drivers throw when connecting.
 *
 * - {@linkcode redact} hides the password of a URL's user information and
 *   the value of every query parameter whose name contains `password`;
 *   everything else is kept as written. A URL whose password holds an
 *   unescaped `/`, `?` or `#` is hidden up to its last `@`, so that no
 *   part of the password shows.
 * - {@linkcode secretsOf} collects every password a pool's URL and driver
 *   settings hold, raw and percent-decoded, longest first, so that a
 *   password is never left half hidden because a shorter one was replaced
 *   inside it.
 * - {@linkcode scrub} replaces those passwords in an error's message, stack
 *   and string properties, and in its causes and aggregated errors a few
 *   levels deep, in place: the error keeps its class, code and identity.
 *   A frozen error is left as it is.
 *
 * @module
 */

const REDACTED = "***";
/** Query parameters whose name contains "password", and their values. */
const QUERY_PASSWORD = /([?&][^=&#]*password[^=&#]*=)([^&#]*)/gi;

/**
 * `text` with its password replaced by `***` (the whole of the public
 * `redactUrl()`).
 */
export function redact(text: string): string {
  const span = passwordSpan(text);
  const redacted = span === null
    ? text
    : `${text.slice(0, span[0])}${REDACTED}${text.slice(span[1])}`;
  return redacted.replace(QUERY_PASSWORD, `$1${REDACTED}`);
}

/**
 * Where the password of `scheme://user:password@host` starts and ends, or
 * `null`. The user information ends at the last `@` of the authority; if
 * the authority has a `:` but no `@`, the password may hold an unescaped
 * `/`, `?` or `#`, and it ends at the last `@` of the whole URL instead.
 */
function passwordSpan(text: string): [number, number] | null {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(text);
  if (scheme === null) return null;
  const start = scheme[0].length;
  const rest = text.slice(start);
  const end = rest.search(/[/?#]/);
  const authority = end === -1 ? rest : rest.slice(0, end);
  let at = authority.lastIndexOf("@");
  if (at === -1 && authority.includes(":")) at = rest.lastIndexOf("@");
  if (at === -1) return null;
  const colon = rest.slice(0, at).indexOf(":");
  return colon === -1 ? null : [start + colon + 1, start + at];
}

/** The driver settings that may hold a password. */
export interface SecretSettings {
  readonly pg?: { readonly password?: unknown } | undefined;
  readonly postgres?:
    | { readonly password?: unknown; readonly pass?: unknown }
    | undefined;
}

/** The passwords of a URL and of the driver settings, raw and decoded. */
export function secretsOf(href: string, options: SecretSettings): string[] {
  const secrets = new Set<string>();
  const add = (value: unknown): void => {
    if (typeof value !== "string" || value === "") return;
    secrets.add(value);
    try {
      secrets.add(decodeURIComponent(value));
    } catch {
      // not percent-encoded
    }
  };
  const span = passwordSpan(href);
  if (span !== null) add(href.slice(span[0], span[1]));
  for (const match of href.matchAll(QUERY_PASSWORD)) add(match[2]);
  add(options.pg?.password);
  add(options.postgres?.password);
  add(options.postgres?.pass);
  return [...secrets].sort((a, b) => b.length - a.length);
}

/** Replaces every secret in an error's text (and its causes'); returns it. */
export function scrub(
  error: unknown,
  secrets: readonly string[],
  depth = 0,
): unknown {
  if (secrets.length === 0 || depth > 3) return error;
  const hide = (text: string): string =>
    secrets.reduce((out, secret) => out.replaceAll(secret, REDACTED), text);
  if (error instanceof Error) {
    // The message, the stack and string properties such as `path`.
    for (const key of ["message", "stack", ...Object.keys(error)]) {
      const value: unknown = Reflect.get(error, key);
      if (typeof value === "string" && secrets.some((s) => value.includes(s))) {
        Reflect.set(error, key, hide(value)); // false on a frozen error
      }
    }
    scrub(error.cause, secrets, depth + 1);
    if (error instanceof AggregateError) {
      for (const inner of error.errors) scrub(inner, secrets, depth + 1);
    }
  }
  return error;
}

/** Wraps a creator so that its errors never carry a password. */
export function scrubbing<C>(
  create: () => Promise<C>,
  secrets: readonly string[],
): () => Promise<C> {
  return async function createConnection(): Promise<C> {
    try {
      return await create();
    } catch (error) {
      throw scrub(error, secrets);
    }
  };
}

/**
 * Returns `url` with its password replaced by `***`, for printing: the
 * password of the user information (`user:password@`) and the value of any
 * query parameter whose name contains `password` (`?password=…`,
 * `?sslpassword=…`). Everything else is kept as written.
 *
 * A malformed URL whose password holds an unescaped `/`, `?` or `#` is
 * redacted up to the last `@`, so that no part of the password shows.
 *
 * @param url The URL, as a string or a `URL`.
 * @returns The URL without its password.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { redactUrl } from "@dbpool/pool/url";
 *
 * assert.equal(
 *   redactUrl("postgres://app:s3cret@db.internal:5432/app?sslmode=require"),
 *   "postgres://app:***@db.internal:5432/app?sslmode=require",
 * );
 * assert.equal(redactUrl("postgres://db/app?password=s3cret"), "postgres://db/app?password=***");
 * assert.equal(redactUrl("sqlite:///tmp/app.db"), "sqlite:///tmp/app.db");
 * ```
 */
export function redactUrl(url: string | URL): string {
  return redact(String(url));
}
