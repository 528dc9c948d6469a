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
 * For a URL known only at run time (`Deno.env.get("DATABASE_URL")!`), name
 * the driver with the `driver` option (`"pg"`, `"postgres"` or `"sqlite"`):
 * the pool is then typed for that driver's connections, and a URL that
 * selects another driver is refused with a `TypeError`.
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
import type { Pool } from "./pool.ts";
import { QueuePool, type QueuePoolOptions } from "./queue_pool.ts";
import { StaticPool } from "./static_pool.ts";
import type { SqliteConnectOptions } from "./sqlite.ts";
import type { PgClient, PgClientConfig } from "./pg.ts";
import type { PostgresOptions, PostgresReservedSql } from "./postgres.ts";
import {
  ACTION,
  MEMORY,
  metricsNameOf,
  parseTarget,
  type UrlTarget,
} from "./_url_parse.ts";
import { nameForMetrics } from "./_instrumentation.ts";
import {
  creatorError,
  driverConnectTimeout,
  driverOption,
  postgresSettings,
  splitOptions,
} from "./_url_options.ts";
import { redact, scrubbing, secretsOf } from "./_url_secrets.ts";

// The types of the public signatures, re-exported for the docs (type-only:
// importing this module still loads no driver).
export type {
  CloseOptions,
  ConnectOptions,
  Creator,
  Pool,
  PoolOptions,
  PoolStats,
} from "./pool.ts";
export type {
  AsyncAdaptedQueuePool,
  QueuePool,
  QueuePoolOptions,
} from "./queue_pool.ts";
export type {
  ConnectionPoolEntry,
  InvalidateOptions,
  ManagesConnection,
  PoolProxiedConnection,
} from "./connection.ts";
export type {
  HandleErrorContext,
  ListenOptions,
  PoolEventMap,
  PoolEventName,
  PoolListener,
  PoolListenerFn,
  PoolResetState,
} from "./events.ts";
export { redactUrl } from "./_url_secrets.ts";
export type { Dialect } from "./dialect.ts";
export type { PoolLogger } from "./logger.ts";
export type { SqliteConnectOptions } from "./sqlite.ts";
export type { PgClient, PgClientConfig } from "./pg.ts";
export type { PostgresOptions, PostgresReservedSql } from "./postgres.ts";

/**
 * The drivers {@linkcode createPoolFromUrl} can use, by the name of their
 * entry point: `"pg"` (node-postgres, `@dbpool/pool/pg`), `"postgres"`
 * (postgres.js, `@dbpool/pool/postgres`) and `"sqlite"` (`node:sqlite`,
 * `@dbpool/pool/sqlite`). The same names as the URL's `driver` query
 * parameter.
 *
 * @example
 * ```ts
 * import type { DriverName } from "@dbpool/pool/url";
 *
 * const driver: DriverName = "postgres";
 * console.log(driver);
 * ```
 */
export type DriverName = "pg" | "postgres" | "sqlite";

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
 * `useLifo`) with a `TypeError`, as SQLAlchemy's `create_engine()` does,
 * and `idleTimeoutMs`, which would close its one connection and the
 * database with it.
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
   * The driver the pool is for (see {@linkcode DriverName}), so that a URL
   * known only at run time gives a pool typed for that driver's
   * connections: `createPoolFromUrl(url, { driver: "pg" })` is a
   * `Promise<QueuePool<PgClient>>`.
   *
   * It is checked against the URL: a `postgres://` URL without a `driver`
   * query parameter is opened with this driver (`"pg"` or `"postgres"`); a
   * URL that selects another one (a SQLite URL or file path for `"pg"`, a
   * `?driver=postgres` for `"pg"`, a `postgres://` URL for `"sqlite"`) is
   * a `TypeError` naming both, before anything is loaded or opened.
   *
   * @default {undefined} the URL alone selects the driver
   */
  driver?: DriverName;
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
 * (`conn.driverConnection instanceof DatabaseSync`, …), pass a literal URL,
 * or name the driver (`{ driver: "pg" }`) to get the precise type.
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
 * A URL known only at run time (a `string`) gives a pool of any of the
 * three drivers' connections ({@linkcode PoolFromUrl}). Name the driver
 * with `options.driver` (`"pg"`, `"postgres"` or `"sqlite"`) to get a pool
 * typed for it: `createPoolFromUrl(url, { driver: "pg" })` is a
 * `Promise<QueuePool<PgClient>>`, this first signature. The option picks
 * the driver of a `postgres://` URL without a `driver` parameter, and a URL
 * that selects another driver is a `TypeError` naming both.
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
 * URL never is), an unknown `driver`, a `driver` option the URL disagrees
 * with, an invalid PostgreSQL URL, an unknown option, or an option of the
 * wrong type (from the pool or the driver adapter).
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
 *
 * @example A URL from the environment, with its driver named
 * ```ts ignore
 * import { createPoolFromUrl } from "@dbpool/pool/url";
 *
 * // QueuePool<PgClient>: no narrowing before using node-postgres's API.
 * await using pool = await createPoolFromUrl(Deno.env.get("DATABASE_URL")!, { driver: "pg" });
 * await using conn = await pool.connect();
 * const { rows } = await conn.driverConnection!.query("SELECT now()");
 * ```
 *
 * @example Naming the driver, and a URL that disagrees
 * ```ts
 * import assert from "node:assert/strict";
 * import { createPoolFromUrl } from "@dbpool/pool/url";
 *
 * const url: string = "sqlite::memory:"; // known only at run time
 * await using pool = await createPoolFromUrl(url, { driver: "sqlite" });
 * await using conn = await pool.connect();
 * const row = conn.driverConnection!.prepare("SELECT 1 AS one").get(); // a DatabaseSync
 * assert.equal(row?.one, 1);
 *
 * await assert.rejects(createPoolFromUrl(url, { driver: "pg" }), {
 *   name: "TypeError",
 *   message: 'Cannot create pool from URL: option "driver" is "pg", but the URL selects "sqlite" (scheme "sqlite")',
 * });
 * ```
 */
export function createPoolFromUrl(
  url: string | URL,
  options: CreatePoolFromUrlOptions<PgClient> & { driver: "pg" },
): Promise<QueuePool<PgClient>>;
/**
 * Any PostgreSQL URL, with `driver: "postgres"`: a queue pool over
 * postgres.js, whose connections are `ReservedSql` functions. A URL whose
 * `driver` query parameter is `pg`, or a SQLite URL, is a `TypeError`.
 *
 * @param url The database URL, e.g. read from the environment.
 * @param options The pool's options and the driver settings.
 * @returns A new pool.
 */
export function createPoolFromUrl(
  url: string | URL,
  options:
    & CreatePoolFromUrlOptions<PostgresReservedSql>
    & { driver: "postgres" },
): Promise<QueuePool<PostgresReservedSql>>;
/**
 * Any SQLite URL or file path, with `driver: "sqlite"`: a pool over
 * `node:sqlite` (a `StaticPool` in memory, else a `QueuePool`). A
 * PostgreSQL URL is a `TypeError`.
 *
 * @param url The database URL or path, e.g. read from the environment.
 * @param options The pool's options and the driver settings.
 * @returns A new pool.
 */
export function createPoolFromUrl(
  url: string | URL,
  options: CreatePoolFromUrlOptions<DatabaseSync> & { driver: "sqlite" },
): Promise<Pool<DatabaseSync>>;
/**
 * A SQLite URL: a pool over `node:sqlite` (a `StaticPool` in memory, else
 * a `QueuePool`).
 *
 * @param url The database URL.
 * @param options The pool's options and the driver settings.
 * @returns A new pool.
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
): Promise<QueuePool<PostgresReservedSql>>;
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
): Promise<QueuePool<PgClient>>;
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
  const target = parseTarget(url, driverOption(options));
  const pool = await poolFor(target, options);
  nameForMetrics(pool, metricsNameOf(target));
  return pool;
}

/** The pool `target` selects, with the options split between pool and driver. */
async function poolFor(
  target: UrlTarget,
  options: CreatePoolFromUrlOptions<never> | undefined,
): Promise<PoolFromUrl> {
  const { driverOptions, poolOptions } = splitOptions(options);
  switch (target.driver) {
    case "sqlite": {
      const { SQLITE_DIALECT, sqliteCreator } = await import("./sqlite.ts");
      const settings = driverOptions.sqlite ?? {};
      if (target.path === MEMORY) {
        const idle = poolOptions.idleTimeoutMs;
        if (idle !== undefined && idle !== null) {
          throw new TypeError(
            `${ACTION}: "idleTimeoutMs" would close the one connection of an in-memory SQLite database, and the database with it`,
          );
        }
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
          `${ACTION}: invalid URL "${redact(target.href)}"`,
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
        throw creatorError(error, target.href, secrets);
      }
      return new QueuePool(scrubbing(create, secrets), {
        ...poolOptions,
        dialect: POSTGRES_DIALECT,
      });
    }
  }
}
