/**
 * The pool over real SQLite files (`node:sqlite`), through a `QueuePool`
 * with the SQLite adapter: WAL mode on pooled connections, readers beside
 * an open write transaction, and reset on return.
 *
 * (`createPoolFromUrl("sqlite::memory:")` sharing one database across
 * checkouts is covered in `url_test.ts`.)
 */

import assert from "node:assert/strict";
import type { DatabaseSync } from "node:sqlite";
import type { PoolProxiedConnection } from "./connection.ts";
import { QueuePool } from "./queue_pool.ts";
import {
  SQLITE_DIALECT,
  type SqliteConnectOptions,
  sqliteCreator,
} from "./sqlite.ts";
import { tempDir } from "./_test_helpers.ts";

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

function db(conn: PoolProxiedConnection<DatabaseSync>): DatabaseSync {
  assert.ok(conn.driverConnection !== null, "the connection is valid");
  return conn.driverConnection;
}

function count(conn: PoolProxiedConnection<DatabaseSync>): number {
  const row = db(conn).prepare("SELECT count(*) AS n FROM notes").get();
  return Number(row?.n);
}

function bodies(conn: PoolProxiedConnection<DatabaseSync>): string[] {
  return db(conn).prepare("SELECT body FROM notes ORDER BY rowid").all()
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

Deno.test("QueuePool over sqliteCreator(file, { journalMode: 'wal' }): every pooled connection is in WAL mode", async () => {
  await using dir = await tempDir("dbpool_sqlite_pool_");
  await using pool = newPool(`${dir.path}/app.db`, 3);
  const conns = await checkOut(pool, 3);
  try {
    assert.equal(new Set(conns.map(db)).size, 3, "three distinct handles");
    for (const conn of conns) {
      const row = db(conn).prepare("PRAGMA journal_mode").get();
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

Deno.test("QueuePool over SQLite in WAL mode: pooled connections read while one holds an open write transaction", async () => {
  await using dir = await tempDir("dbpool_sqlite_pool_");
  // busy_timeout 0: a reader that had to wait for the writer would fail at once.
  await using pool = newPool(`${dir.path}/app.db`, 4, { busyTimeoutMs: 0 });
  {
    await using setup = await pool.connect();
    db(setup).exec("CREATE TABLE notes (body TEXT NOT NULL)");
    db(setup).exec("INSERT INTO notes VALUES ('committed')");
  }
  await using writer = await pool.connect();
  const readers = await checkOut(pool, 3);
  try {
    assert.equal(pool.checkedOut(), 4);
    db(writer).exec("BEGIN IMMEDIATE");
    db(writer).exec("INSERT INTO notes VALUES ('pending')");
    assert.equal(count(writer), 2); // the writer sees its own write
    for (const reader of readers) {
      assert.deepEqual(bodies(reader), ["committed"]);
    }
    // A reader's own transaction (a snapshot) also reads beside the writer.
    const snapshot = readers[0]!;
    db(snapshot).exec("BEGIN");
    assert.equal(count(snapshot), 1);

    db(writer).exec("COMMIT");
    assert.equal(count(snapshot), 1, "a snapshot keeps its view");
    db(snapshot).exec("COMMIT");
    for (const reader of readers) {
      assert.deepEqual(bodies(reader), ["committed", "pending"]);
    }
  } finally {
    for (const reader of readers) await reader.close();
  }
  assert.equal(pool.checkedOut(), 1);
  assert.equal(pool.checkedIn(), 3);
});

Deno.test("QueuePool over SQLite: reset on return rolls back an open transaction and frees the write lock", async () => {
  await using dir = await tempDir("dbpool_sqlite_pool_");
  await using pool = newPool(`${dir.path}/app.db`, 2, { busyTimeoutMs: 0 });
  {
    await using setup = await pool.connect();
    db(setup).exec("CREATE TABLE notes (body TEXT NOT NULL)");
    db(setup).exec("INSERT INTO notes VALUES ('committed')");
  }
  await using other = await pool.connect();
  let handle: DatabaseSync;
  {
    await using conn = await pool.connect();
    handle = db(conn);
    assert.notEqual(handle, db(other));
    db(conn).exec("BEGIN");
    db(conn).exec("INSERT INTO notes VALUES ('uncommitted')");
    assert.equal(handle.isTransaction, true);
    // While it is checked out, the transaction holds the write lock.
    assert.throws(
      () => db(other).exec("BEGIN IMMEDIATE"),
      /database is locked/,
    );
    assert.deepEqual(bodies(other), ["committed"]);
  } // returned without COMMIT: the pool rolls back
  assert.equal(handle.isTransaction, false);
  assert.equal(pool.checkedIn(), 1);

  // Another connection can write at once, and the row is gone.
  db(other).exec("BEGIN IMMEDIATE");
  db(other).exec("INSERT INTO notes VALUES ('second')");
  db(other).exec("COMMIT");
  assert.deepEqual(bodies(other), ["committed", "second"]);

  // The returned connection comes back idle and sees only committed rows.
  await using again = await pool.connect();
  assert.equal(db(again), handle);
  assert.equal(db(again).isTransaction, false);
  assert.deepEqual(bodies(again), ["committed", "second"]);
});

Deno.test("QueuePool over SQLite: returning an idle connection leaves committed work alone", async () => {
  await using dir = await tempDir("dbpool_sqlite_pool_");
  await using pool = newPool(`${dir.path}/app.db`, 1);
  {
    await using conn = await pool.connect();
    db(conn).exec("CREATE TABLE notes (body TEXT NOT NULL)");
    db(conn).exec("BEGIN");
    db(conn).exec("INSERT INTO notes VALUES ('committed')");
    db(conn).exec("COMMIT");
    db(conn).exec("INSERT INTO notes VALUES ('autocommitted')");
  }
  await using conn = await pool.connect();
  assert.deepEqual(bodies(conn), ["committed", "autocommitted"]);
});
