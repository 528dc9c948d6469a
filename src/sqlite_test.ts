import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import type { Dialect } from "./dialect.ts";
import {
  SQLITE_DIALECT,
  type SqliteConnection,
  sqliteCreator,
  SqliteDialect,
} from "./sqlite.ts";
import { tempDir } from "./_test_helpers.ts";

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

Deno.test("sqliteCreator() opens a file in WAL mode with the settings asked", async () => {
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

Deno.test("sqliteCreator() defaults to a 5000 ms busy timeout and keeps the journal mode", async () => {
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

Deno.test("sqliteCreator() accepts a file: URL and opens read-only", async () => {
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

Deno.test("sqliteCreator() connections in WAL mode read while another writes", async () => {
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
