/**
 * SQLite adapter: a {@linkcode Dialect} for `node:sqlite`'s `DatabaseSync`
 * (built into Deno 2 and Node 22.5+) and a creator that opens one database
 * connection per pool slot with the usual per-connection settings
 * (`journal_mode`, `busy_timeout`, `foreign_keys`, `synchronous`).
 *
 * The dialect is structural: any object shaped like
 * {@linkcode SqliteConnection} works, which includes `@db/sqlite`'s
 * `Database` and better-sqlite3's `Database` (neither is imported).
 *
 * SQLite has no server, so a "disconnect" is only ever a closed database
 * handle; {@linkcode SqliteDialect.inTransaction} reads the driver's
 * autocommit flag, so returning an idle connection to the pool costs no
 * `ROLLBACK`.
 *
 * @example The dialect and the creator on their own
 * ```ts
 * import assert from "node:assert/strict";
 * import { SQLITE_DIALECT, sqliteCreator } from "@dbpool/pool/sqlite";
 *
 * const connect = sqliteCreator(":memory:", { busyTimeoutMs: 1_000 });
 * const db = connect();
 * db.exec("CREATE TABLE notes (body TEXT)");
 * db.exec("BEGIN");
 * db.exec("INSERT INTO notes VALUES ('draft')");
 * assert.equal(SQLITE_DIALECT.inTransaction(db), true);
 * SQLITE_DIALECT.rollback(db);
 * assert.equal(SQLITE_DIALECT.inTransaction(db), false);
 * assert.equal(SQLITE_DIALECT.ping(db), true);
 * SQLITE_DIALECT.close(db);
 * assert.equal(SQLITE_DIALECT.ping(db), false);
 * ```
 *
 * @example With a pool
 * ```ts ignore
 * import { QueuePool } from "@dbpool/pool";
 * import { SQLITE_DIALECT, sqliteCreator } from "@dbpool/pool/sqlite";
 *
 * await using pool = new QueuePool(
 *   sqliteCreator("app.db", { journalMode: "wal", foreignKeys: true }),
 *   { dialect: SQLITE_DIALECT, poolSize: 4 },
 * );
 * await using conn = await pool.connect();
 * console.log(conn.driverConnection!.prepare("SELECT 1 AS one").get());
 * ```
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import type { Dialect } from "./dialect.ts";

export type { Dialect } from "./dialect.ts";

/**
 * The shape of a SQLite connection that {@linkcode SqliteDialect} accepts.
 *
 * `node:sqlite`'s `DatabaseSync` has it, and so do `@db/sqlite`'s and
 * better-sqlite3's `Database`. Besides the members below, the dialect also
 * reads, when present and boolean, `open` (`@db/sqlite`, better-sqlite3)
 * and `autocommit` (older `@db/sqlite`); they are not declared here because
 * `DatabaseSync` has an `open()` method of the same name.
 *
 * @example A hand-written connection
 * ```ts
 * import type { SqliteConnection } from "@dbpool/pool/sqlite";
 * import { DatabaseSync } from "node:sqlite";
 *
 * const db: SqliteConnection = new DatabaseSync(":memory:");
 * db.exec("SELECT 1");
 * db.close();
 * ```
 */
export interface SqliteConnection {
  /** Runs one or more SQL statements, without results. */
  exec(sql: string): unknown;
  /** Prepares a statement (not used by the dialect; part of the shape). */
  prepare(sql: string): unknown;
  /** Closes the database handle. */
  close(): void;
  /** `node:sqlite`: whether the handle is open. */
  readonly isOpen?: boolean;
  /** `node:sqlite`: whether a transaction is open. */
  readonly isTransaction?: boolean;
  /** `@db/sqlite`, better-sqlite3: whether a transaction is open. */
  readonly inTransaction?: boolean;
}

/** Reads a boolean property that may be missing or of another type. */
function booleanProperty(connection: object, name: string): boolean | null {
  const value: unknown = Reflect.get(connection, name);
  return typeof value === "boolean" ? value : null;
}

/** `false` when the handle is known to be closed, `null` when unknown. */
function isOpen(connection: SqliteConnection): boolean | null {
  return booleanProperty(connection, "isOpen") ??
    booleanProperty(connection, "open");
}

/** Messages of the errors the drivers throw on a closed handle. */
const CLOSED_DATABASE_MESSAGES: readonly RegExp[] = [
  /database is not open/i, // node:sqlite (ERR_INVALID_STATE)
  /database connection is not open/i, // better-sqlite3
  /database is closed/i, // @db/sqlite and others
  /closed database/i, // "Cannot operate on a closed database" (Python's wording)
];

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "string") return error;
  return "";
}

/**
 * The {@linkcode Dialect} for SQLite connections (see
 * {@linkcode SqliteConnection}).
 *
 * - `rollback` / `commit` run `ROLLBACK` / `COMMIT` only when a transaction
 *   is open (the driver's `isTransaction`, `inTransaction` or `autocommit`
 *   flag), so an idle connection costs nothing; if the flag is missing they
 *   always run (a `COMMIT` outside a transaction then throws, as SQLite
 *   does).
 * - `close` / `terminate` close the handle; closing a closed handle does
 *   nothing.
 * - `ping` runs `SELECT 1`, and returns `false` at once for a closed handle.
 * - `isDisconnect` is `true` for a closed handle and for the "database is
 *   not open" errors the drivers throw once it is closed.
 * - `inTransaction` is `undefined` for a closed handle, so that the pool's
 *   reset runs, fails, and the connection is invalidated.
 *
 * The class holds no state; use the shared {@linkcode SQLITE_DIALECT}.
 *
 * @example Rolling back only when needed
 * ```ts
 * import assert from "node:assert/strict";
 * import { DatabaseSync } from "node:sqlite";
 * import { SqliteDialect } from "@dbpool/pool/sqlite";
 *
 * const dialect = new SqliteDialect();
 * const db = new DatabaseSync(":memory:");
 * assert.equal(dialect.inTransaction(db), false);
 * dialect.rollback(db); // no statement runs
 * db.exec("BEGIN");
 * dialect.commit(db);
 * assert.equal(dialect.inTransaction(db), false);
 * dialect.close(db);
 * assert.equal(dialect.isDisconnect(new Error("database is not open"), db), true);
 * ```
 */
export class SqliteDialect implements Dialect<SqliteConnection> {
  /** Always `"sqlite"`. */
  readonly name: string = "sqlite";

  /**
   * Rolls back the open transaction, if any.
   *
   * @param connection The SQLite connection.
   * @throws {Error} The driver's error, e.g. on a closed handle.
   */
  rollback(connection: SqliteConnection): void {
    if (this.inTransaction(connection) === false) return;
    connection.exec("ROLLBACK");
  }

  /**
   * Commits the open transaction, if any.
   *
   * @param connection The SQLite connection.
   * @throws {Error} The driver's error, e.g. a constraint checked at commit.
   */
  commit(connection: SqliteConnection): void {
    if (this.inTransaction(connection) === false) return;
    connection.exec("COMMIT");
  }

  /**
   * Closes the handle; does nothing when it is already closed.
   *
   * @param connection The SQLite connection.
   */
  close(connection: SqliteConnection): void {
    if (isOpen(connection) === false) return;
    connection.close();
  }

  /**
   * The same as {@linkcode SqliteDialect.close}: SQLite has no network
   * goodbye to skip.
   *
   * @param connection The SQLite connection.
   */
  terminate(connection: SqliteConnection): void {
    this.close(connection);
  }

  /**
   * Checks the handle with `SELECT 1`.
   *
   * @param connection The SQLite connection.
   * @returns `true` when usable, `false` when the handle is closed.
   * @throws {Error} Any other driver error.
   */
  ping(connection: SqliteConnection): boolean {
    if (isOpen(connection) === false) return false;
    try {
      connection.exec("SELECT 1");
      return true;
    } catch (error) {
      if (this.isDisconnect(error, connection)) return false;
      throw error;
    }
  }

  /**
   * Whether `error` means the connection is unusable: the handle is closed,
   * or the error is a driver's "database is not open" error.
   *
   * @param error The error to classify.
   * @param connection The connection it came from, when known.
   * @returns `true` for a disconnect.
   */
  isDisconnect(error: unknown, connection: SqliteConnection | null): boolean {
    if (connection !== null && isOpen(connection) === false) return true;
    const message = errorMessage(error);
    return CLOSED_DATABASE_MESSAGES.some((pattern) => pattern.test(message));
  }

  /**
   * Whether a transaction is open, from the driver's flag (no statement
   * runs).
   *
   * @param connection The SQLite connection.
   * @returns `true` or `false`; `undefined` when the driver has no flag or
   * the handle is closed.
   */
  inTransaction(connection: SqliteConnection): boolean | undefined {
    if (isOpen(connection) === false) return undefined;
    try {
      const flag = booleanProperty(connection, "isTransaction") ??
        booleanProperty(connection, "inTransaction");
      if (flag !== null) return flag;
      const autocommit = booleanProperty(connection, "autocommit");
      return autocommit === null ? undefined : !autocommit;
    } catch {
      // node:sqlite's getter throws on a closed handle
      return undefined;
    }
  }
}

/**
 * The shared {@linkcode SqliteDialect}; pass it as the pool's `dialect`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SQLITE_DIALECT } from "@dbpool/pool/sqlite";
 *
 * assert.equal(SQLITE_DIALECT.name, "sqlite");
 * ```
 */
export const SQLITE_DIALECT: SqliteDialect = new SqliteDialect();

/**
 * Options of {@linkcode sqliteCreator}: how each new connection is opened
 * and set up. Settings are applied with `PRAGMA` statements, in this order:
 * `busy_timeout`, `journal_mode`, `synchronous`, `foreign_keys`.
 *
 * For other per-connection settings, listen to the pool's `connect` event.
 *
 * @example Typical settings for a web application
 * ```ts
 * import type { SqliteConnectOptions } from "@dbpool/pool/sqlite";
 *
 * const options: SqliteConnectOptions = {
 *   journalMode: "wal",
 *   synchronous: "normal",
 *   busyTimeoutMs: 5_000,
 *   foreignKeys: true,
 * };
 * console.log(options.journalMode);
 * ```
 */
export interface SqliteConnectOptions {
  /**
   * `PRAGMA journal_mode`. `"wal"` lets readers run while one connection
   * writes; it is persistent in the database file. An in-memory database
   * keeps `"memory"` whatever is asked. Unset leaves the file's mode.
   *
   * @default {undefined}
   */
  journalMode?: "delete" | "truncate" | "persist" | "memory" | "wal" | "off";
  /**
   * `PRAGMA busy_timeout`, in milliseconds: how long a statement waits for
   * another connection's lock before failing with `SQLITE_BUSY`. `0`
   * fails at once. The default matches Python's `sqlite3` (5 seconds),
   * which SQLAlchemy uses.
   *
   * @default {5000}
   */
  busyTimeoutMs?: number;
  /**
   * `PRAGMA foreign_keys`. Unset keeps the driver's default (`node:sqlite`
   * enables foreign keys; SQLite's own default is off).
   *
   * @default {undefined}
   */
  foreignKeys?: boolean;
  /**
   * `PRAGMA synchronous`. `"normal"` is the usual choice with `"wal"`.
   * Unset keeps SQLite's default (`"full"`).
   *
   * @default {undefined}
   */
  synchronous?: "off" | "normal" | "full" | "extra";
  /**
   * Opens the database read-only (`node:sqlite`'s `readOnly`).
   *
   * @default {false}
   */
  readOnly?: boolean;
}

const OPTION_KEYS: ReadonlySet<string> = new Set([
  "journalMode",
  "busyTimeoutMs",
  "foreignKeys",
  "synchronous",
  "readOnly",
]);
const JOURNAL_MODES: ReadonlySet<string> = new Set([
  "delete",
  "truncate",
  "persist",
  "memory",
  "wal",
  "off",
]);
const SYNCHRONOUS_MODES: ReadonlySet<string> = new Set([
  "off",
  "normal",
  "full",
  "extra",
]);

function validateOptions(options: SqliteConnectOptions): string[] {
  const prefix = "Cannot create SQLite creator";
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `${prefix}: "options" must be an object, received ${typeof options}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) {
      throw new TypeError(`${prefix}: unknown option "${key}"`);
    }
  }
  const pragmas: string[] = [];
  const { journalMode, busyTimeoutMs = 5_000, foreignKeys, synchronous } =
    options;
  if (typeof busyTimeoutMs !== "number") {
    throw new TypeError(
      `${prefix}: "busyTimeoutMs" must be a number, received ${typeof busyTimeoutMs}`,
    );
  }
  if (
    !Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0 ||
    busyTimeoutMs > 2_147_483_647
  ) {
    throw new RangeError(
      `${prefix}: "busyTimeoutMs" must be an integer from 0 to 2147483647, received ${busyTimeoutMs}`,
    );
  }
  pragmas.push(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
  if (journalMode !== undefined) {
    if (typeof journalMode !== "string" || !JOURNAL_MODES.has(journalMode)) {
      throw new TypeError(
        `${prefix}: "journalMode" must be one of ${
          [...JOURNAL_MODES].map((mode) => `"${mode}"`).join(", ")
        }, received "${String(journalMode)}"`,
      );
    }
    pragmas.push(`PRAGMA journal_mode = ${journalMode}`);
  }
  if (synchronous !== undefined) {
    if (
      typeof synchronous !== "string" || !SYNCHRONOUS_MODES.has(synchronous)
    ) {
      throw new TypeError(
        `${prefix}: "synchronous" must be one of ${
          [...SYNCHRONOUS_MODES].map((mode) => `"${mode}"`).join(", ")
        }, received "${String(synchronous)}"`,
      );
    }
    pragmas.push(`PRAGMA synchronous = ${synchronous}`);
  }
  if (foreignKeys !== undefined) {
    if (typeof foreignKeys !== "boolean") {
      throw new TypeError(
        `${prefix}: "foreignKeys" must be a boolean, received ${typeof foreignKeys}`,
      );
    }
    pragmas.push(`PRAGMA foreign_keys = ${foreignKeys ? "ON" : "OFF"}`);
  }
  if (options.readOnly !== undefined && typeof options.readOnly !== "boolean") {
    throw new TypeError(
      `${prefix}: "readOnly" must be a boolean, received ${typeof options
        .readOnly}`,
    );
  }
  return pragmas;
}

/**
 * A `file:` URL as a path. (Deno 2.9's `DatabaseSync` mishandles `URL`
 * objects unless every permission is granted, so they never reach it.)
 */
function toPath(path: string | URL): string {
  if (typeof path === "string") return path;
  if (!(path instanceof URL)) {
    throw new TypeError(
      `Cannot create SQLite creator: "path" must be a string or a URL, received ${typeof path}`,
    );
  }
  if (path.protocol !== "file:") {
    throw new TypeError(
      `Cannot create SQLite creator: "path" must be a file: URL, received "${path.protocol}"`,
    );
  }
  let pathname = decodeURIComponent(path.pathname);
  if (/^\/[A-Za-z]:[\\/]/.test(pathname)) pathname = pathname.slice(1); // C:/…
  return path.hostname === "" ? pathname : `//${path.hostname}${pathname}`;
}

/**
 * Returns a creator that opens a new `node:sqlite` `DatabaseSync` on
 * `path` and applies the {@linkcode SqliteConnectOptions}; pass it to a
 * pool. The options are checked here, once, not at each connection.
 *
 * `path` is a file path, a `file:` URL, or `":memory:"`. Each call of the
 * creator opens a separate connection, so several `":memory:"` connections
 * are several separate databases: share one with a `StaticPool`.
 *
 * If a setting fails (for example `journalMode: "wal"` while another
 * connection holds a lock longer than `busyTimeoutMs`), the new connection
 * is closed and the error is thrown to the pool.
 *
 * @param path The database file, `file:` URL or `":memory:"`.
 * @param options Per-connection settings.
 * @returns A function that opens and sets up one connection.
 * @throws {TypeError} On an unknown option, an option of the wrong type,
 * or a URL that is not a `file:` URL.
 * @throws {RangeError} On an out-of-range `busyTimeoutMs`.
 *
 * @example Opening a WAL-mode connection
 * ```ts
 * import assert from "node:assert/strict";
 * import { sqliteCreator } from "@dbpool/pool/sqlite";
 *
 * const dir = await Deno.makeTempDir();
 * const connect = sqliteCreator(`${dir}/app.db`, { journalMode: "wal" });
 * const db = connect();
 * const row = db.prepare("PRAGMA journal_mode").get();
 * assert.equal(row?.journal_mode, "wal");
 * db.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function sqliteCreator(
  path: string | URL,
  options: SqliteConnectOptions = {},
): () => DatabaseSync {
  const pragmas = validateOptions(options);
  const file = toPath(path);
  const readOnly = options.readOnly ?? false;
  return function createSqliteConnection(): DatabaseSync {
    const db = new DatabaseSync(file, { readOnly });
    try {
      for (const pragma of pragmas) db.exec(pragma);
    } catch (error) {
      db.close();
      throw error;
    }
    return db;
  };
}
