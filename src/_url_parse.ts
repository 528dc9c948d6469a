/**
 * Reading a database URL for `createPoolFromUrl()`: its scheme, the one
 * query parameter that is ours (`driver`), and what they select, a SQLite
 * database or a PostgreSQL URL for one of the two drivers.
 *
 * - Three families: `sqlite:` (including `sqlite::memory:` and
 *   SQLAlchemy's four-slash absolute form), `file:`, and `postgres://` or
 *   `postgresql://`. A string without a scheme, or with a one-letter one
 *   (a Windows drive), is a path to a SQLite file.
 * - Every in-memory spelling (`sqlite::memory:`, `sqlite://`,
 *   `sqlite:///:memory:`, `":memory:"`) comes out as {@linkcode MEMORY}, so
 *   that one comparison tells it from a file.
 * - `driver` is read and removed; a SQLite URL takes no other parameter,
 *   and a PostgreSQL URL keeps its other parameters, in their order and as
 *   written, for the driver.
 * - The caller's `driver` option, when given, must agree with the URL: it
 *   picks the driver of a PostgreSQL URL without a `driver` parameter, and
 *   any other disagreement (another scheme's driver, another `driver`
 *   parameter) is a `TypeError` naming both, so that a pool typed for one
 *   driver never holds another's connections.
 * - Parsing is pure: no driver is loaded and nothing is opened. What is
 *   refused here is refused with a `TypeError` whose message never shows
 *   the password. (Whether a PostgreSQL URL is valid as a whole is left to
 *   the caller and the driver.)
 *
 * @module
 */

import { redact } from "./_url_secrets.ts";

/** The drivers a URL can select, by the name of their entry point. */
export type DriverName = "pg" | "postgres" | "sqlite";

/** What a URL selects. */
export type UrlTarget =
  | { readonly driver: "sqlite"; readonly path: string | URL }
  | { readonly driver: "pg" | "postgres"; readonly href: string };

/** The start of the messages of `createPoolFromUrl()`'s own errors. */
export const ACTION: string = "Cannot create pool from URL";
const POSTGRES_DRIVERS: readonly string[] = ["pg", "postgres"];
/** Every value of the `driver` option, in the order messages list them. */
export const DRIVER_NAMES: readonly DriverName[] = ["pg", "postgres", "sqlite"];
const SUPPORTED_SCHEMES = `"sqlite", "file", "postgres" or "postgresql"`;
/** The SQLite path of an in-memory database, whatever the URL's spelling. */
export const MEMORY: string = ":memory:";

/** Splits `a=1&driver=pg` into the `driver` values and the other pairs. */
function takeDriver(
  query: string,
): { drivers: string[]; others: string[] } {
  const drivers: string[] = [];
  const others: string[] = [];
  for (const pair of query.split("&")) {
    if (pair === "") continue;
    const [key = "", value = ""] = pair.split(/=(.*)/s);
    const decode = (text: string): string => {
      try {
        return decodeURIComponent(text.replaceAll("+", " "));
      } catch {
        return text;
      }
    };
    if (decode(key) === "driver") drivers.push(decode(value));
    else others.push(pair);
  }
  return { drivers, others };
}

/** The one `driver` value of a query (default: the first allowed), checked. */
function pickDriver(
  drivers: readonly string[],
  scheme: string,
  allowed: readonly string[],
): string {
  if (drivers.length > 1) {
    throw new TypeError(
      `${ACTION}: the "driver" query parameter must be given at most once, received ${drivers.length}`,
    );
  }
  const driver = drivers[0] ?? allowed[0]!;
  if (!allowed.includes(driver)) {
    throw new TypeError(
      `${ACTION}: unknown driver "${driver}" for scheme "${scheme}", expected ${
        allowed.map((name) => `"${name}"`).join(" or ")
      }`,
    );
  }
  return driver;
}

/**
 * Refuses a `driver` option other than `"sqlite"` for a SQLite URL; `why`
 * says what makes it one.
 */
function expectSqlite(expected: DriverName | undefined, why: string): void {
  if (expected !== undefined && expected !== "sqlite") {
    throw new TypeError(
      `${ACTION}: option "driver" is "${expected}", but the URL selects "sqlite" (${why})`,
    );
  }
}

/** `sqlite:` URLs: `sqlite::memory:`, `sqlite://`, `sqlite:///abs`, `sqlite:rel`. */
function parseSqliteUrl(
  text: string,
  scheme: string,
  expected: DriverName | undefined,
): UrlTarget {
  const rest = text.slice(scheme.length + 1);
  const queryAt = rest.indexOf("?");
  let path = queryAt === -1 ? rest : rest.slice(0, queryAt);
  const { drivers, others } = takeDriver(
    queryAt === -1 ? "" : rest.slice(queryAt + 1),
  );
  pickDriver(drivers, scheme, ["sqlite"]);
  if (others.length > 0) {
    const key = others[0]!.split("=")[0];
    throw new TypeError(
      `${ACTION}: unsupported query parameter "${key}" in a sqlite URL, expected only "driver"`,
    );
  }
  expectSqlite(expected, `scheme "${scheme}"`);
  if (path.startsWith("//")) {
    const slash = path.indexOf("/", 2);
    const host = slash === -1 ? path.slice(2) : path.slice(2, slash);
    if (host !== "" && host !== "localhost") {
      throw new TypeError(
        `${ACTION}: a sqlite URL cannot name a host, received "${
          redact(`${scheme}://${host}`).slice(scheme.length + 3)
        }"`,
      );
    }
    path = slash === -1 ? "" : path.slice(slash);
    // SQLAlchemy's absolute form, sqlite:////abs/app.db, means /abs/app.db.
    if (path.startsWith("//")) path = path.slice(1);
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    throw new TypeError(
      `${ACTION}: invalid percent-encoding in the path of "${redact(text)}"`,
    );
  }
  if (decoded === "" || decoded === MEMORY || decoded === `/${MEMORY}`) {
    return { driver: "sqlite", path: MEMORY };
  }
  return { driver: "sqlite", path: decoded };
}

/** `file:` URLs: a SQLite database file. */
function parseFileUrl(
  text: string,
  scheme: string,
  expected: DriverName | undefined,
): UrlTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError(`${ACTION}: invalid URL "${redact(text)}"`);
  }
  const { drivers, others } = takeDriver(url.search.slice(1));
  pickDriver(drivers, scheme, ["sqlite"]);
  if (others.length > 0) {
    const key = others[0]!.split("=")[0];
    throw new TypeError(
      `${ACTION}: unsupported query parameter "${key}" in a file URL, expected only "driver"`,
    );
  }
  expectSqlite(expected, `scheme "${scheme}"`);
  url.search = "";
  url.hash = "";
  return { driver: "sqlite", path: url };
}

/**
 * `postgres://` and `postgresql://` URLs; `driver` is removed from the
 * query. Without one, the `driver` option (else `pg`) picks the driver.
 */
function parsePostgresUrl(
  text: string,
  scheme: string,
  expected: DriverName | undefined,
): UrlTarget {
  if (!text.slice(scheme.length + 1).startsWith("//")) {
    throw new TypeError(
      `${ACTION}: a ${scheme} URL must start with "${scheme}://"`,
    );
  }
  if (expected === "sqlite") {
    throw new TypeError(
      `${ACTION}: option "driver" is "sqlite", but the URL selects "pg" or "postgres" (scheme "${scheme}")`,
    );
  }
  const queryAt = text.indexOf("?");
  if (queryAt === -1) return { driver: expected ?? "pg", href: text };
  const { drivers, others } = takeDriver(text.slice(queryAt + 1));
  const picked = drivers.length === 0
    ? expected ?? "pg"
    : pickDriver(drivers, scheme, POSTGRES_DRIVERS) as "pg" | "postgres";
  if (expected !== undefined && picked !== expected) {
    throw new TypeError(
      `${ACTION}: option "driver" is "${expected}", but the URL selects "${picked}" (its "driver" query parameter)`,
    );
  }
  const base = text.slice(0, queryAt);
  return {
    driver: picked,
    href: others.length === 0 ? base : `${base}?${others.join("&")}`,
  };
}

/**
 * Reads the scheme and what it selects; `expected` is the caller's `driver`
 * option, already checked to be one of {@linkcode DRIVER_NAMES}.
 */
export function parseTarget(
  url: string | URL,
  expected?: DriverName,
): UrlTarget {
  if (typeof url !== "string" && !(url instanceof URL)) {
    throw new TypeError(
      `${ACTION}: "url" must be a string or a URL, received ${
        url === null ? "null" : typeof url
      }`,
    );
  }
  const text = url instanceof URL ? url.href : url;
  if (text.trim() === "") {
    throw new TypeError(`${ACTION}: "url" must not be empty`);
  }
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(text);
  // No scheme, or a Windows drive letter: a path to a SQLite file.
  if (match === null || match[1]!.length === 1) {
    expectSqlite(expected, "a file path");
    return { driver: "sqlite", path: text };
  }
  const scheme = match[1]!;
  switch (scheme.toLowerCase()) {
    case "sqlite":
      return parseSqliteUrl(text, scheme, expected);
    case "file":
      return parseFileUrl(text, scheme, expected);
    case "postgres":
    case "postgresql":
      return parsePostgresUrl(text, scheme, expected);
    default:
      throw new TypeError(
        `${ACTION}: unsupported scheme "${scheme}", expected ${SUPPORTED_SCHEMES}`,
      );
  }
}

/**
 * The name a URL's pool gives its metrics: `host:port/database` for
 * PostgreSQL (port 5432 and the user's name as the database when the URL
 * leaves them out, as libpq does), the file path for SQLite; never a
 * credential.
 */
export function metricsNameOf(target: UrlTarget): string {
  if (target.driver === "sqlite") {
    return target.path instanceof URL ? target.path.pathname : target.path;
  }
  const href = target.href;
  const queryAt = href.indexOf("?");
  const params = new URLSearchParams(queryAt === -1 ? "" : href.slice(queryAt));
  const rest = href.slice(
    href.indexOf("//") + 2,
    queryAt === -1 ? undefined : queryAt,
  );
  const slash = rest.indexOf("/");
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const at = authority.lastIndexOf("@");
  const user = at === -1
    ? params.get("user") ?? ""
    : authority.slice(0, at).split(":")[0]!;
  let host = authority.slice(at + 1) || params.get("host") || "localhost";
  if (!/:\d+$/.test(host) && !host.includes(",")) {
    host = `${host}:${params.get("port") ?? 5432}`;
  }
  const path = slash === -1 ? "" : rest.slice(slash + 1);
  const database = path || params.get("dbname") || user;
  return `${decodeOrKeep(host)}/${decodeOrKeep(database)}`;
}

/** `text` percent-decoded, or as is when its encoding is malformed. */
function decodeOrKeep(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
