/**
 * Tests of the SQLite adapter (`src/sqlite.ts`): `SQLITE_DIALECT` and
 * `SqliteDialect` over `node:sqlite` and look-alike drivers,
 * `sqliteCreator()`, and a `QueuePool` over real SQLite files (WAL mode on
 * pooled connections, readers beside an open write transaction, reset on
 * return). `createPoolFromUrl("sqlite::memory:")` sharing one database
 * across checkouts is covered in `url_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import type { PoolProxiedConnection } from "./connection.ts";
import type { Dialect } from "./dialect.ts";
import { QueuePool } from "./queue_pool.ts";
import {
  SQLITE_DIALECT,
  type SqliteConnection,
  type SqliteConnectOptions,
  sqliteCreator,
  SqliteDialect,
} from "./sqlite.ts";
import { tempDir } from "./_test_helpers.ts";
import { needs } from "./_test_permissions.ts";

/** Wraps a `DatabaseSync` and records every `exec()`. */
function spy(db: DatabaseSync): SqliteConnection & { statements: string[] } {
  const statements: string[] = [];
  return {
    statements,
    exec(sql: string): unknown {
      statements.push(sql);
      return db.exec(sql);
    },
    prepare: (sql: string) => db.prepare(sql),
    close: () => db.close(),
    get isOpen(): boolean {
      return db.isOpen;
    },
    get isTransaction(): boolean {
      return db.isTransaction;
    },
  };
}

/** An object shaped like `@db/sqlite`'s `Database` (`open`, `inTransaction`). */
class DbSqliteLike {
  readonly statements: string[] = [];
  #db = new DatabaseSync(":memory:");
  #open = true;
  get open(): boolean {
    return this.#open;
  }
  get inTransaction(): boolean {
    return this.#open && this.#db.isTransaction;
  }
  exec(sql: string): number {
    if (!this.#open) throw new Error("Database is closed");
    this.statements.push(sql);
    this.#db.exec(sql);
    return 0;
  }
  prepare(sql: string): unknown {
    return this.#db.prepare(sql);
  }
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#db.close();
  }
}

function count(db: DatabaseSync, table: string): number {
  const row = db.prepare(`SELECT count(*) AS n FROM ${table}`).get();
  return Number(row?.n);
}

Deno.test("SQLITE_DIALECT is a Dialect<DatabaseSync> named sqlite", () => {
  const dialect: Dialect<DatabaseSync> = SQLITE_DIALECT;
  assert.equal(dialect.name, "sqlite");
  assert.ok(SQLITE_DIALECT instanceof SqliteDialect);
});

Deno.test({
  name: "sqliteCreator() opens a file in WAL mode with the settings asked",
  ...needs({ read: true, write: true }),
}, async () => {
  await using dir = await tempDir("dbpool_sqlite_");
  const connect = sqliteCreator(`${dir.path}/app.db`, {
    journalMode: "wal",
    busyTimeoutMs: 1_234,
    foreignKeys: false,
    synchronous: "normal",
  });
  const db = connect();
  try {
    assert.ok(db instanceof DatabaseSync);
    assert.equal(db.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
    assert.equal(db.prepare("PRAGMA busy_timeout").get()?.timeout, 1_234);
    assert.equal(db.prepare("PRAGMA foreign_keys").get()?.foreign_keys, 0);
    // synchronous: 0 off, 1 normal, 2 full, 3 extra
    assert.equal(db.prepare("PRAGMA synchronous").get()?.synchronous, 1);
  } finally {
    db.close();
  }
});

Deno.test({
  name:
    "sqliteCreator() defaults to a 5000 ms busy timeout and keeps the journal mode",
  ...needs({ read: true, write: true }),
}, async () => {
  await using dir = await tempDir("dbpool_sqlite_");
  const db = sqliteCreator(`${dir.path}/app.db`)();
  try {
    assert.equal(db.prepare("PRAGMA busy_timeout").get()?.timeout, 5_000);
    assert.equal(
      db.prepare("PRAGMA journal_mode").get()?.journal_mode,
      "delete",
    );
  } finally {
    db.close();
  }
});

Deno.test({
  name: "sqliteCreator() accepts a file: URL and opens read-only",
  ...needs({ read: true, write: true }),
}, async () => {
  await using dir = await tempDir("dbpool_sqlite_");
  const url = new URL(`file://${dir.path}/app.db`);
  const writer = sqliteCreator(url)();
  writer.exec("CREATE TABLE t (x INTEGER)");
  writer.close();
  const reader = sqliteCreator(url, { readOnly: true })();
  try {
    assert.equal(count(reader, "t"), 0);
    assert.throws(() => reader.exec("INSERT INTO t VALUES (1)"), /readonly/);
  } finally {
    reader.close();
  }
});

Deno.test("sqliteCreator() rejects bad options at once", () => {
  assert.throws(
    // @ts-expect-error: unknown option
    () => sqliteCreator(":memory:", { journal_mode: "wal" }),
    new TypeError(
      'Cannot create SQLite creator: unknown option "journal_mode"',
    ),
  );
  assert.throws(
    () => sqliteCreator(":memory:", { busyTimeoutMs: -5 }),
    new RangeError(
      'Cannot create SQLite creator: "busyTimeoutMs" must be an integer from 0 to 2147483647, received -5',
    ),
  );
  assert.throws(
    () => sqliteCreator(":memory:", { busyTimeoutMs: 1.5 }),
    RangeError,
  );
  assert.throws(
    // @ts-expect-error: not a journal mode
    () => sqliteCreator(":memory:", { journalMode: "WAL2" }),
    TypeError,
  );
  assert.throws(
    // @ts-expect-error: not a boolean
    () => sqliteCreator(":memory:", { foreignKeys: "yes" }),
    TypeError,
  );
  assert.throws(
    () => sqliteCreator(new URL("https://example.com/app.db")),
    new TypeError(
      'Cannot create SQLite creator: "path" must be a file: URL, received "https:"',
    ),
  );
});

Deno.test({
  name: "sqliteCreator() connections in WAL mode read while another writes",
  ...needs({ read: true, write: true }),
}, async () => {
  await using dir = await tempDir("dbpool_sqlite_");
  const connect = sqliteCreator(`${dir.path}/app.db`, { journalMode: "wal" });
  const writer = connect();
  const readers = [connect(), connect(), connect()];
  try {
    writer.exec("CREATE TABLE notes (body TEXT)");
    writer.exec("INSERT INTO notes VALUES ('committed')");
    writer.exec("BEGIN IMMEDIATE");
    writer.exec("INSERT INTO notes VALUES ('pending')");
    for (const reader of readers) assert.equal(count(reader, "notes"), 1);
    SQLITE_DIALECT.commit(writer);
    for (const reader of readers) assert.equal(count(reader, "notes"), 2);
  } finally {
    for (const db of [writer, ...readers]) SQLITE_DIALECT.close(db);
  }
});

Deno.test("SqliteDialect.rollback() runs ROLLBACK only when a transaction is open", () => {
  const db = new DatabaseSync(":memory:");
  const conn = spy(db);
  try {
    conn.exec("CREATE TABLE t (x INTEGER)");
    conn.statements.length = 0;

    assert.equal(SQLITE_DIALECT.inTransaction(conn), false);
    SQLITE_DIALECT.rollback(conn);
    assert.deepEqual(conn.statements, []);

    conn.exec("BEGIN");
    conn.exec("INSERT INTO t VALUES (1)");
    assert.equal(SQLITE_DIALECT.inTransaction(conn), true);
    SQLITE_DIALECT.rollback(conn);
    assert.deepEqual(conn.statements, [
      "BEGIN",
      "INSERT INTO t VALUES (1)",
      "ROLLBACK",
    ]);
    assert.equal(SQLITE_DIALECT.inTransaction(conn), false);
    assert.equal(count(db, "t"), 0);
  } finally {
    db.close();
  }
});

Deno.test("SqliteDialect.commit() commits an open transaction and skips an idle one", () => {
  const db = new DatabaseSync(":memory:");
  const conn = spy(db);
  try {
    conn.exec("CREATE TABLE t (x INTEGER)");
    conn.statements.length = 0;
    SQLITE_DIALECT.commit(conn); // a bare COMMIT would throw in SQLite
    assert.deepEqual(conn.statements, []);

    conn.exec("BEGIN");
    conn.exec("INSERT INTO t VALUES (1)");
    SQLITE_DIALECT.commit(conn);
    assert.equal(conn.statements.at(-1), "COMMIT");
    assert.equal(SQLITE_DIALECT.inTransaction(conn), false);
    assert.equal(count(db, "t"), 1);
  } finally {
    db.close();
  }
});

Deno.test("SqliteDialect.ping() is true on an open database and false once closed", () => {
  const db = new DatabaseSync(":memory:");
  assert.equal(SQLITE_DIALECT.ping(db), true);
  db.close();
  assert.equal(SQLITE_DIALECT.ping(db), false);
});

Deno.test("SqliteDialect.isDisconnect() recognises a closed database", () => {
  const db = new DatabaseSync(":memory:");
  assert.equal(SQLITE_DIALECT.isDisconnect(new Error("boom"), db), false);
  let syntaxError: unknown;
  try {
    db.exec("SELEC 1");
  } catch (error) {
    syntaxError = error;
  }
  assert.ok(syntaxError instanceof Error);
  assert.equal(SQLITE_DIALECT.isDisconnect(syntaxError, db), false);

  db.close();
  let closedError: unknown;
  try {
    db.exec("SELECT 1");
  } catch (error) {
    closedError = error;
  }
  assert.ok(closedError instanceof Error);
  assert.equal(SQLITE_DIALECT.isDisconnect(closedError, null), true);
  assert.equal(SQLITE_DIALECT.isDisconnect(new Error("boom"), db), true);
});

Deno.test("SqliteDialect on a closed database: inTransaction is unknown and rollback throws a disconnect", () => {
  const db = new DatabaseSync(":memory:");
  db.exec("BEGIN");
  db.close();
  assert.equal(SQLITE_DIALECT.inTransaction(db), undefined);
  let error: unknown;
  try {
    SQLITE_DIALECT.rollback(db);
  } catch (caught) {
    error = caught;
  }
  assert.ok(error instanceof Error);
  assert.equal(SQLITE_DIALECT.isDisconnect(error, db), true);
  // close and terminate are idempotent
  SQLITE_DIALECT.close(db);
  SQLITE_DIALECT.terminate(db);
});

Deno.test("SqliteDialect accepts the shape of @db/sqlite's Database", () => {
  const db = new DbSqliteLike();
  const conn: SqliteConnection = db;
  SQLITE_DIALECT.rollback(conn);
  assert.deepEqual(db.statements, []);
  db.exec("BEGIN");
  assert.equal(SQLITE_DIALECT.inTransaction(conn), true);
  SQLITE_DIALECT.rollback(conn);
  assert.deepEqual(db.statements, ["BEGIN", "ROLLBACK"]);
  assert.equal(SQLITE_DIALECT.ping(conn), true);
  SQLITE_DIALECT.close(conn);
  assert.equal(db.open, false);
  assert.equal(SQLITE_DIALECT.ping(conn), false);
  assert.equal(SQLITE_DIALECT.inTransaction(conn), undefined);
  assert.equal(
    SQLITE_DIALECT.isDisconnect(new Error("Database is closed"), null),
    true,
  );
});

Deno.test("SqliteDialect falls back to autocommit, and always resets without a flag", () => {
  const statements: string[] = [];
  let autocommit = false;
  const withAutocommit = {
    get autocommit(): boolean {
      return autocommit;
    },
    exec: (sql: string) => statements.push(sql),
    prepare: () => undefined,
    close: () => {},
  };
  assert.equal(SQLITE_DIALECT.inTransaction(withAutocommit), true);
  autocommit = true;
  assert.equal(SQLITE_DIALECT.inTransaction(withAutocommit), false);

  const bare: SqliteConnection = {
    exec: (sql: string) => statements.push(sql),
    prepare: () => undefined,
    close: () => {},
  };
  assert.equal(SQLITE_DIALECT.inTransaction(bare), undefined);
  SQLITE_DIALECT.rollback(bare);
  assert.deepEqual(statements, ["ROLLBACK"]);
});

// ------------------------------------------------- A QueuePool over SQLite files

function newPool(
  file: string,
  poolSize: number,
  options: SqliteConnectOptions = {},
): QueuePool<DatabaseSync> {
  return new QueuePool(
    sqliteCreator(file, { journalMode: "wal", ...options }),
    { dialect: SQLITE_DIALECT, poolSize, maxOverflow: 0, timeoutMs: 5_000 },
  );
}

function database(conn: PoolProxiedConnection<DatabaseSync>): DatabaseSync {
  assert.ok(conn.driverConnection !== null, "the connection is valid");
  return conn.driverConnection;
}

function noteCount(conn: PoolProxiedConnection<DatabaseSync>): number {
  const row = database(conn).prepare("SELECT count(*) AS n FROM notes")
    .get();
  return Number(row?.n);
}

function bodies(conn: PoolProxiedConnection<DatabaseSync>): string[] {
  return database(conn).prepare("SELECT body FROM notes ORDER BY rowid").all()
    .map((row) => String(row.body));
}

async function checkOut(
  pool: QueuePool<DatabaseSync>,
  n: number,
): Promise<PoolProxiedConnection<DatabaseSync>[]> {
  const conns: PoolProxiedConnection<DatabaseSync>[] = [];
  for (let i = 0; i < n; i++) conns.push(await pool.connect());
  return conns;
}

Deno.test({
  name:
    "QueuePool over sqliteCreator(file, { journalMode: 'wal' }): every pooled connection is in WAL mode",
  ...needs({ read: true, write: true }),
}, async () => {
  await using dir = await tempDir("dbpool_sqlite_pool_");
  await using pool = newPool(`${dir.path}/app.db`, 3);
  const conns = await checkOut(pool, 3);
  try {
    assert.equal(
      new Set(conns.map(database)).size,
      3,
      "three distinct handles",
    );
    for (const conn of conns) {
      const row = database(conn).prepare("PRAGMA journal_mode").get();
      assert.equal(row?.journal_mode, "wal");
    }
  } finally {
    for (const conn of conns) await conn.close();
  }
  assert.equal(pool.checkedIn(), 3);
  assert.equal(pool.checkedOut(), 0);
  // The -wal file exists beside the database while connections are open.
  assert.ok((await Deno.stat(`${dir.path}/app.db-wal`)).isFile);
});

Deno.test({
  name:
    "QueuePool over SQLite in WAL mode: pooled connections read while one holds an open write transaction",
  ...needs({ read: true, write: true }),
}, async () => {
  await using dir = await tempDir("dbpool_sqlite_pool_");
  // busy_timeout 0: a reader that had to wait for the writer would fail at once.
  await using pool = newPool(`${dir.path}/app.db`, 4, { busyTimeoutMs: 0 });
  {
    await using setup = await pool.connect();
    database(setup).exec("CREATE TABLE notes (body TEXT NOT NULL)");
    database(setup).exec("INSERT INTO notes VALUES ('committed')");
  }
  await using writer = await pool.connect();
  const readers = await checkOut(pool, 3);
  try {
    assert.equal(pool.checkedOut(), 4);
    database(writer).exec("BEGIN IMMEDIATE");
    database(writer).exec("INSERT INTO notes VALUES ('pending')");
    assert.equal(noteCount(writer), 2); // the writer sees its own write
    for (const reader of readers) {
      assert.deepEqual(bodies(reader), ["committed"]);
    }
    // A reader's own transaction (a snapshot) also reads beside the writer.
    const snapshot = readers[0]!;
    database(snapshot).exec("BEGIN");
    assert.equal(noteCount(snapshot), 1);

    database(writer).exec("COMMIT");
    assert.equal(noteCount(snapshot), 1, "a snapshot keeps its view");
    database(snapshot).exec("COMMIT");
    for (const reader of readers) {
      assert.deepEqual(bodies(reader), ["committed", "pending"]);
    }
  } finally {
    for (const reader of readers) await reader.close();
  }
  assert.equal(pool.checkedOut(), 1);
  assert.equal(pool.checkedIn(), 3);
});

Deno.test({
  name:
    "QueuePool over SQLite: reset on return rolls back an open transaction and frees the write lock",
  ...needs({ read: true, write: true }),
}, async () => {
  await using dir = await tempDir("dbpool_sqlite_pool_");
  await using pool = newPool(`${dir.path}/app.db`, 2, { busyTimeoutMs: 0 });
  {
    await using setup = await pool.connect();
    database(setup).exec("CREATE TABLE notes (body TEXT NOT NULL)");
    database(setup).exec("INSERT INTO notes VALUES ('committed')");
  }
  await using other = await pool.connect();
  let handle: DatabaseSync;
  {
    await using conn = await pool.connect();
    handle = database(conn);
    assert.notEqual(handle, database(other));
    database(conn).exec("BEGIN");
    database(conn).exec("INSERT INTO notes VALUES ('uncommitted')");
    assert.equal(handle.isTransaction, true);
    // While it is checked out, the transaction holds the write lock.
    assert.throws(
      () => database(other).exec("BEGIN IMMEDIATE"),
      /database is locked/,
    );
    assert.deepEqual(bodies(other), ["committed"]);
  } // returned without COMMIT: the pool rolls back
  assert.equal(handle.isTransaction, false);
  assert.equal(pool.checkedIn(), 1);

  // Another connection can write at once, and the row is gone.
  database(other).exec("BEGIN IMMEDIATE");
  database(other).exec("INSERT INTO notes VALUES ('second')");
  database(other).exec("COMMIT");
  assert.deepEqual(bodies(other), ["committed", "second"]);

  // The returned connection comes back idle and sees only committed rows.
  await using again = await pool.connect();
  assert.equal(database(again), handle);
  assert.equal(database(again).isTransaction, false);
  assert.deepEqual(bodies(again), ["committed", "second"]);
});

Deno.test({
  name:
    "QueuePool over SQLite: returning an idle connection leaves committed work alone",
  ...needs({ read: true, write: true }),
}, async () => {
  await using dir = await tempDir("dbpool_sqlite_pool_");
  await using pool = newPool(`${dir.path}/app.db`, 1);
  {
    await using conn = await pool.connect();
    database(conn).exec("CREATE TABLE notes (body TEXT NOT NULL)");
    database(conn).exec("BEGIN");
    database(conn).exec("INSERT INTO notes VALUES ('committed')");
    database(conn).exec("COMMIT");
    database(conn).exec("INSERT INTO notes VALUES ('autocommitted')");
  }
  await using conn = await pool.connect();
  assert.deepEqual(bodies(conn), ["committed", "autocommitted"]);
});
