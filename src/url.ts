/**
 * {@linkcode createPoolFromUrl}: a pool and its driver adapter chosen from a
 * database URL, as SQLAlchemy's `create_pool_from_url()` does.
 *
 * | URL | pool | driver |
 * | --- | --- | --- |
 * | `sqlite::memory:`, `sqlite://`, `sqlite:///:memory:`, `":memory:"` | `StaticPool` (one shared in-memory database) | `node:sqlite` |
 * | `sqlite:///abs/app.db`, `sqlite:app.db`, `file:///abs/app.db`, a plain path | `QueuePool`, WAL mode by default | `node:sqlite` |
 * | `postgres://…`, `postgresql://…` | `QueuePool` | node-postgres (`npm:pg`) |
 * | `postgres://…?driver=postgres` | `QueuePool` | postgres.js (`npm:postgres`) |
 *
 * The adapters are loaded with dynamic `import()`: importing this module
 * loads neither `npm:pg` nor `npm:postgres`, only the one a URL needs.
 *
 * Passwords stay out of sight: the errors thrown here and the drivers'
 * connection errors have the password replaced by `***`, and the pool's
 * `status()`, `String(pool)` and log lines never contain the URL. Use
 * {@linkcode redactUrl} to print a URL.
 *
 * @example An in-memory SQLite database shared by every checkout
 * ```ts
 * import assert from "node:assert/strict";
 * import { createPoolFromUrl } from "@dbpool/pool/url";
 *
 * await using pool = await createPoolFromUrl("sqlite::memory:");
 * {
 *   await using conn = await pool.connect();
 *   conn.driverConnection!.exec("CREATE TABLE notes (body TEXT)");
 * }
 * await using conn = await pool.connect();
 * const row = conn.driverConnection!.prepare("SELECT count(*) AS n FROM notes").get();
 * assert.equal(row?.n, 0);
 * ```
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { Creator, Pool } from "./pool.ts";
import { QueuePool, type QueuePoolOptions } from "./queue_pool.ts";
import { StaticPool } from "./static_pool.ts";
import type { SqliteConnectOptions } from "./sqlite.ts";
import type { PgClient, PgClientConfig } from "./pg.ts";
import type { PostgresOptions, PostgresReservedSql } from "./postgres.ts";

// The types of the public signatures, re-exported for the docs (type-only:
// importing this module still loads no driver).
export type { ConnectOptions, Creator, Pool, PoolOptions } from "./pool.ts";
export type { QueuePoolOptions } from "./queue_pool.ts";
export type {
  ConnectionPoolEntry,
  InvalidateOptions,
  ManagesConnection,
  PoolProxiedConnection,
} from "./connection.ts";
export type {
  ListenOptions,
  PoolEventMap,
  PoolEventName,
  PoolListener,
  PoolListenerFn,
  PoolResetState,
} from "./events.ts";
export type { Dialect } from "./dialect.ts";
export type { PoolLogger } from "./logger.ts";
export type { SqliteConnectOptions } from "./sqlite.ts";
export type { PgClient, PgClientConfig } from "./pg.ts";
export type { PostgresOptions, PostgresReservedSql } from "./postgres.ts";

/**
 * Options of {@linkcode createPoolFromUrl}: the queue pool's options
 * (passed to the pool, which validates them) plus the settings of each
 * driver.
 *
 * The driver settings are used only when the URL selects that driver, so
 * one options object can serve several URLs. The pool's `dialect` is not
 * an option: it comes from the URL.
 *
 * For `sqlite::memory:` the pool is a `StaticPool`, which rejects the
 * queue pool's options (`poolSize`, `maxOverflow`, `timeoutMs`,
 * `useLifo`) with a `TypeError`, as SQLAlchemy's `create_engine()` does.
 *
 * @typeParam C The driver connection type.
 *
 * @example A PostgreSQL pool with a connect timeout
 * ```ts
 * import type { CreatePoolFromUrlOptions } from "@dbpool/pool/url";
 *
 * const options: CreatePoolFromUrlOptions = {
 *   poolSize: 10,
 *   maxOverflow: 5,
 *   timeoutMs: 5_000,
 *   prePing: true,
 *   connectTimeoutMs: 5_000,
 *   pg: { application_name: "notes" },
 *   sqlite: { busyTimeoutMs: 1_000 },
 * };
 * console.log(options.poolSize);
 * ```
 */
export interface CreatePoolFromUrlOptions<C = unknown>
  extends Omit<QueuePoolOptions<C>, "dialect"> {
  /**
   * Per-connection settings for SQLite URLs (see `sqliteCreator` in
   * `@dbpool/pool/sqlite`). For a database file, `journalMode` defaults to
   * `"wal"` (readers are then not blocked by the writer), unless
   * `readOnly` is set; pass `journalMode` to choose another mode.
   *
   * @default {{ journalMode: "wal" }} for a file, `{}` in memory
   */
  sqlite?: SqliteConnectOptions;
  /**
   * node-postgres `Client` settings for `postgres://` URLs without
   * `?driver=postgres`, e.g. `application_name`, `ssl`. The URL is the
   * connection string; these settings are applied on top of it.
   *
   * Connecting is bounded by `connectionTimeoutMillis` when set here, else
   * by the URL's `connect_timeout` parameter (seconds, as in libpq), else
   * by the pool's `connectTimeoutMs` (30 s by default; `null` leaves
   * node-postgres without a limit).
   *
   * @default {{}}
   */
  pg?: Omit<PgClientConfig, "connectionString">;
  /**
   * postgres.js settings for `postgres://…?driver=postgres` URLs (see
   * `postgresCreator` in `@dbpool/pool/postgres`; `max` is always 1).
   *
   * Connecting is bounded by `connect_timeout` (seconds) when set here or
   * in the URL, else by the pool's `connectTimeoutMs` when given (`null`
   * leaves postgres.js without a limit), else by postgres.js's own default,
   * 30 s.
   *
   * @default {{}}
   */
  postgres?: PostgresOptions;
}

/**
 * What {@linkcode createPoolFromUrl} returns for a URL known only at run
 * time: a pool of `node:sqlite` databases, node-postgres clients or
 * postgres.js reserved connections. Tell them apart by the connection
 * (`conn.driverConnection instanceof DatabaseSync`, …), or pass a literal
 * URL to get the precise type.
 *
 * @example Narrowing by the connection
 * ```ts
 * import assert from "node:assert/strict";
 * import { DatabaseSync } from "node:sqlite";
 * import { createPoolFromUrl, type PoolFromUrl } from "@dbpool/pool/url";
 *
 * const url: string = "sqlite::memory:"; // e.g. read from the environment
 * await using pool: PoolFromUrl = await createPoolFromUrl(url);
 * await using conn = await pool.connect();
 * const db = conn.driverConnection;
 * if (db instanceof DatabaseSync) {
 *   assert.deepEqual({ ...db.prepare("SELECT 1 AS one").get() }, { one: 1 });
 * }
 * ```
 */
export type PoolFromUrl =
  | Pool<DatabaseSync>
  | Pool<PgClient>
  | Pool<PostgresReservedSql>;

/** What a URL selects. */
type Target =
  | { readonly driver: "sqlite"; readonly path: string | URL }
  | { readonly driver: "pg" | "postgres"; readonly href: string };

const ACTION = "Cannot create pool from URL";
const DRIVER_OPTION_KEYS: readonly string[] = ["sqlite", "pg", "postgres"];
const POSTGRES_DRIVERS: readonly string[] = ["pg", "postgres"];
const SUPPORTED_SCHEMES = `"sqlite", "file", "postgres" or "postgresql"`;
const MEMORY = ":memory:";
const REDACTED = "***";
/** Query parameters whose name contains "password", and their values. */
const QUERY_PASSWORD = /([?&][^=&#]*password[^=&#]*=)([^&#]*)/gi;

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
  const text = String(url);
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

/** The passwords of a URL and of the driver settings, raw and decoded. */
function secretsOf(href: string, options: CreatePoolFromUrlOptions): string[] {
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
  add((options.pg as { password?: unknown } | undefined)?.password);
  add(options.postgres?.password);
  add(options.postgres?.pass);
  return [...secrets].sort((a, b) => b.length - a.length);
}

/** Replaces every secret in an error's text (and its causes'); returns it. */
function scrub(error: unknown, secrets: readonly string[], depth = 0): unknown {
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
function scrubbing<C>(
  create: () => Promise<C>,
  secrets: readonly string[],
): Creator<C> {
  return async function createConnection(): Promise<C> {
    try {
      return await create();
    } catch (error) {
      throw scrub(error, secrets);
    }
  };
}

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

/** `sqlite:` URLs: `sqlite::memory:`, `sqlite://`, `sqlite:///abs`, `sqlite:rel`. */
function parseSqliteUrl(text: string, scheme: string): Target {
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
  if (path.startsWith("//")) {
    const slash = path.indexOf("/", 2);
    const host = slash === -1 ? path.slice(2) : path.slice(2, slash);
    if (host !== "" && host !== "localhost") {
      throw new TypeError(
        `${ACTION}: a sqlite URL cannot name a host, received "${
          redactUrl(`${scheme}://${host}`).slice(scheme.length + 3)
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
      `${ACTION}: invalid percent-encoding in the path of "${redactUrl(text)}"`,
    );
  }
  if (decoded === "" || decoded === MEMORY || decoded === `/${MEMORY}`) {
    return { driver: "sqlite", path: MEMORY };
  }
  return { driver: "sqlite", path: decoded };
}

/** `file:` URLs: a SQLite database file. */
function parseFileUrl(text: string, scheme: string): Target {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError(`${ACTION}: invalid URL "${redactUrl(text)}"`);
  }
  const { drivers, others } = takeDriver(url.search.slice(1));
  pickDriver(drivers, scheme, ["sqlite"]);
  if (others.length > 0) {
    const key = others[0]!.split("=")[0];
    throw new TypeError(
      `${ACTION}: unsupported query parameter "${key}" in a file URL, expected only "driver"`,
    );
  }
  url.search = "";
  url.hash = "";
  return { driver: "sqlite", path: url };
}

/** `postgres://` and `postgresql://` URLs; `driver` is removed from the query. */
function parsePostgresUrl(text: string, scheme: string): Target {
  if (!text.slice(scheme.length + 1).startsWith("//")) {
    throw new TypeError(
      `${ACTION}: a ${scheme} URL must start with "${scheme}://"`,
    );
  }
  const queryAt = text.indexOf("?");
  if (queryAt === -1) return { driver: "pg", href: text };
  const { drivers, others } = takeDriver(text.slice(queryAt + 1));
  const driver = pickDriver(drivers, scheme, POSTGRES_DRIVERS) as
    | "pg"
    | "postgres";
  const base = text.slice(0, queryAt);
  return {
    driver,
    href: others.length === 0 ? base : `${base}?${others.join("&")}`,
  };
}

/** Reads the scheme and what it selects. */
function parseTarget(url: string | URL): Target {
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
    return { driver: "sqlite", path: text };
  }
  const scheme = match[1]!;
  switch (scheme.toLowerCase()) {
    case "sqlite":
      return parseSqliteUrl(text, scheme);
    case "file":
      return parseFileUrl(text, scheme);
    case "postgres":
    case "postgresql":
      return parsePostgresUrl(text, scheme);
    default:
      throw new TypeError(
        `${ACTION}: unsupported scheme "${scheme}", expected ${SUPPORTED_SCHEMES}`,
      );
  }
}

/** Splits the options into the pool's and the drivers'; checks the shapes. */
function splitOptions(
  options: unknown,
): {
  driverOptions: CreatePoolFromUrlOptions;
  poolOptions: Record<string, unknown>;
} {
  if (options === undefined) return { driverOptions: {}, poolOptions: {} };
  if (
    options === null || typeof options !== "object" || Array.isArray(options)
  ) {
    throw new TypeError(
      `${ACTION}: "options" must be an object, received ${
        options === null
          ? "null"
          : Array.isArray(options)
          ? "an array"
          : typeof options
      }`,
    );
  }
  const poolOptions: Record<string, unknown> = { ...options };
  const driverOptions: Record<string, unknown> = {};
  for (const key of DRIVER_OPTION_KEYS) {
    const value = poolOptions[key];
    delete poolOptions[key];
    if (value === undefined) continue;
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new TypeError(
        `${ACTION}: "${key}" must be an object, received ${
          value === null ? "null" : typeof value
        }`,
      );
    }
    driverOptions[key] = value;
  }
  if (poolOptions.dialect !== undefined) {
    throw new TypeError(
      `${ACTION}: unknown option "dialect": the dialect comes from the URL`,
    );
  }
  if (
    (driverOptions.pg as Record<string, unknown> | undefined)
      ?.connectionString !== undefined
  ) {
    throw new TypeError(
      `${ACTION}: unknown option "pg.connectionString": the URL is the connection string`,
    );
  }
  return {
    driverOptions: driverOptions as CreatePoolFromUrlOptions,
    poolOptions,
  };
}

/**
 * The pool's `connectTimeoutMs`, for the driver: passed on when valid; a
 * wrong value is left for the pool to reject, with its own message.
 */
function driverConnectTimeout(
  value: unknown,
): { connectTimeoutMs?: number | null } {
  return value === null ||
      (typeof value === "number" && Number.isFinite(value) && value >= 0)
    ? { connectTimeoutMs: value }
    : {};
}

/**
 * The postgres.js settings with the pool's `connectTimeoutMs` as
 * `connect_timeout` (seconds; `0` disables it), when the pool option was
 * given and neither the settings nor the URL set `connect_timeout`.
 * postgres.js's own default is 30 s, the same as the pool's.
 */
function postgresSettings(
  href: string,
  settings: PostgresOptions | undefined,
  connectTimeoutMs: unknown,
): PostgresOptions | undefined {
  const timeout = driverConnectTimeout(connectTimeoutMs);
  if (
    timeout.connectTimeoutMs === undefined ||
    settings?.connect_timeout !== undefined ||
    /[?&]connect_timeout=/.test(href)
  ) {
    return settings;
  }
  const ms = timeout.connectTimeoutMs;
  return {
    ...settings,
    "connect_timeout": ms === null ? 0 : Math.max(ms, 1) / 1_000,
  };
}

/**
 * Makes a pool for a database URL, choosing the pool class and the driver
 * adapter as SQLAlchemy's `create_pool_from_url()` does; no connection is
 * made until the first `connect()`.
 *
 * - `sqlite::memory:` (also `sqlite://`, `sqlite:///:memory:` and the plain
 *   string `":memory:"`): a `StaticPool` over `node:sqlite`, so every
 *   checkout sees the same in-memory database.
 * - `sqlite:///abs/app.db`, `sqlite:rel/app.db`, `file:///abs/app.db` or a
 *   plain file path: a `QueuePool` over `node:sqlite`, in WAL mode unless
 *   `options.sqlite` says otherwise. Unlike SQLAlchemy, where three slashes
 *   start a relative path, `sqlite:///tmp/app.db` is the absolute path
 *   `/tmp/app.db`, as in a `file:` URL (SQLAlchemy's four-slash form means
 *   the same); write `sqlite:app.db` for a relative path. The path is
 *   percent-decoded.
 * - `postgres://…` or `postgresql://…`: a `QueuePool` over node-postgres;
 *   with `?driver=postgres`, over postgres.js. The `driver` parameter is
 *   removed before the URL reaches the driver; the other query parameters
 *   (`sslmode`, `application_name`, …) are the driver's.
 *
 * The only query parameter read here is `driver`, which names the adapter's
 * entry point: `sqlite` (the only one for SQLite URLs), `pg` (the default
 * for PostgreSQL) or `postgres`. Pool settings are options, not query
 * parameters.
 *
 * The password of the URL (and of `options.pg` / `options.postgres`) is
 * replaced by `***` in the errors thrown here and in the drivers' errors
 * when connecting; the pool's `status()`, `String(pool)` and log lines
 * never include the URL.
 *
 * @param url The database URL or path.
 * @param options The pool's options and the driver settings.
 * @returns A new pool; dispose of it with `await using` or `dispose()`.
 * @throws {TypeError} For an unsupported scheme (named in the message, the
 * URL never is), an unknown `driver`, an invalid PostgreSQL URL, an unknown
 * option, or an option of the wrong type (from the pool or the driver
 * adapter).
 * @throws {RangeError} For an option out of range.
 *
 * @example A SQLite file in WAL mode
 * ```ts
 * import assert from "node:assert/strict";
 * import { createPoolFromUrl } from "@dbpool/pool/url";
 *
 * const dir = await Deno.makeTempDir();
 * {
 *   await using pool = await createPoolFromUrl(`sqlite://${dir}/app.db`, { poolSize: 4 });
 *   await using conn = await pool.connect();
 *   const row = conn.driverConnection!.prepare("PRAGMA journal_mode").get();
 *   assert.equal(row?.journal_mode, "wal");
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @example PostgreSQL through node-postgres, or postgres.js
 * ```ts ignore
 * import { createPoolFromUrl } from "@dbpool/pool/url";
 *
 * await using pool = await createPoolFromUrl("postgres://app:secret@localhost/app", {
 *   poolSize: 10,
 *   connectTimeoutMs: 5_000,
 * });
 * await using conn = await pool.connect({ signal: AbortSignal.timeout(10_000) });
 * console.log((await conn.driverConnection!.query("SELECT 1 AS one")).rows);
 *
 * await using other = await createPoolFromUrl("postgres://app:secret@localhost/app?driver=postgres");
 * await using sql = await other.connect();
 * console.log(await sql.driverConnection!`SELECT 1 AS one`);
 * ```
 */
export function createPoolFromUrl(
  url: `sqlite:${string}` | `file:${string}`,
  options?: CreatePoolFromUrlOptions<DatabaseSync>,
): Promise<Pool<DatabaseSync>>;
/**
 * A PostgreSQL URL with `driver=postgres` in its query: a queue pool over
 * postgres.js, whose connections are `ReservedSql` functions.
 *
 * @param url The database URL.
 * @param options The pool's options and the driver settings.
 * @returns A new pool.
 */
export function createPoolFromUrl(
  url: `${"postgres" | "postgresql"}://${string}driver=postgres${string}`,
  options?: CreatePoolFromUrlOptions<PostgresReservedSql>,
): Promise<Pool<PostgresReservedSql>>;
/**
 * A PostgreSQL URL: a queue pool over node-postgres `Client`s.
 *
 * @param url The database URL.
 * @param options The pool's options and the driver settings.
 * @returns A new pool.
 */
export function createPoolFromUrl(
  url: `${"postgres" | "postgresql"}://${string}`,
  options?: CreatePoolFromUrlOptions<PgClient>,
): Promise<Pool<PgClient>>;
/**
 * Any URL or path: the pool is one of the three kinds, to be told apart
 * by its connections (see {@linkcode PoolFromUrl}).
 *
 * @param url The database URL or path.
 * @param options The pool's options and the driver settings.
 * @returns A new pool.
 */
export function createPoolFromUrl(
  url: string | URL,
  options?: CreatePoolFromUrlOptions,
): Promise<PoolFromUrl>;
export async function createPoolFromUrl(
  url: string | URL,
  options?: CreatePoolFromUrlOptions<never>,
): Promise<PoolFromUrl> {
  const target = parseTarget(url);
  const { driverOptions, poolOptions } = splitOptions(options);
  switch (target.driver) {
    case "sqlite": {
      const { SQLITE_DIALECT, sqliteCreator } = await import("./sqlite.ts");
      const settings = driverOptions.sqlite ?? {};
      if (target.path === MEMORY) {
        return new StaticPool(sqliteCreator(MEMORY, settings), {
          ...poolOptions,
          dialect: SQLITE_DIALECT,
        });
      }
      const defaults: SqliteConnectOptions = settings.readOnly === true
        ? {}
        : { journalMode: "wal" };
      return new QueuePool(
        sqliteCreator(target.path, { ...defaults, ...settings }),
        { ...poolOptions, dialect: SQLITE_DIALECT },
      );
    }
    case "pg": {
      const secrets = secretsOf(target.href, driverOptions);
      if (!URL.canParse(target.href)) {
        throw new TypeError(
          `${ACTION}: invalid URL "${redactUrl(target.href)}"`,
        );
      }
      const { PG_DIALECT, pgCreator } = await import("./pg.ts");
      const create = pgCreator(
        { ...driverOptions.pg, connectionString: target.href },
        driverConnectTimeout(poolOptions.connectTimeoutMs),
      );
      return new QueuePool(scrubbing(create, secrets), {
        ...poolOptions,
        dialect: PG_DIALECT,
      });
    }
    case "postgres": {
      const secrets = secretsOf(target.href, driverOptions);
      const { POSTGRES_DIALECT, postgresCreator } = await import(
        "./postgres.ts"
      );
      let create: () => Promise<PostgresReservedSql>;
      try {
        create = postgresCreator(
          target.href,
          postgresSettings(
            target.href,
            driverOptions.postgres,
            poolOptions.connectTimeoutMs,
          ),
        );
      } catch (error) {
        if (error instanceof TypeError && /invalid url/i.test(error.message)) {
          throw new TypeError(
            `${ACTION}: invalid URL "${redactUrl(target.href)}"`,
          );
        }
        if (
          error instanceof TypeError && /percent-encoding/.test(error.message)
        ) {
          throw new TypeError(
            `${ACTION}: invalid percent-encoding in the user, password or host of "${
              redactUrl(target.href)
            }"`,
          );
        }
        throw scrub(error, secrets);
      }
      return new QueuePool(scrubbing(create, secrets), {
        ...poolOptions,
        dialect: POSTGRES_DIALECT,
      });
    }
  }
}
