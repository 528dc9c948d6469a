import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { QueuePool } from "./queue_pool.ts";
import { StaticPool } from "./static_pool.ts";
import { createPoolFromUrl, redactUrl } from "./url.ts";
import { metricsNameOf, parseTarget } from "./_url_parse.ts";
import { recordingLogger } from "./_test_fake_driver.ts";
import { inspectError, rejection, tempDir } from "./_test_helpers.ts";
import { needs } from "./_test_permissions.ts";

/** A loopback port nothing listens on. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

Deno.test("createPoolFromUrl() gives sqlite::memory: a StaticPool sharing one database", async () => {
  await using pool = await createPoolFromUrl("sqlite::memory:");
  assert.ok(pool instanceof StaticPool);
  assert.equal(pool.status(), "StaticPool");
  {
    await using first = await pool.connect();
    first.driverConnection!.exec("CREATE TABLE notes (body TEXT NOT NULL)");
    first.driverConnection!.exec("INSERT INTO notes VALUES ('shared')");
  }
  await using second = await pool.connect();
  await using third = await pool.connect(); // concurrent checkout
  assert.equal(second.driverConnection, third.driverConnection);
  const row = third.driverConnection!.prepare("SELECT body FROM notes").get();
  assert.equal(row?.body, "shared");
});

Deno.test("createPoolFromUrl() treats sqlite://, sqlite:///:memory: and :memory: as in-memory", async () => {
  for (const url of ["sqlite://", "sqlite:///:memory:", ":memory:"]) {
    await using pool = await createPoolFromUrl(url);
    assert.ok(pool instanceof StaticPool, url);
    await using conn = await pool.connect();
    assert.ok(conn.driverConnection instanceof DatabaseSync, url);
    const row = conn.driverConnection.prepare("PRAGMA database_list").get();
    assert.equal(row?.file, "", url); // "" is SQLite's name for in-memory
  }
});

Deno.test({
  name: "createPoolFromUrl() gives a sqlite:/// file a QueuePool in WAL mode",
  ...needs({ read: true, write: true }),
}, async () => {
  await using dir = await tempDir("dbpool_url_");
  const file = `${dir.path}/app.db`;
  await using pool = await createPoolFromUrl(`sqlite://${file}`, {
    poolSize: 2,
    maxOverflow: 0,
  });
  assert.ok(pool instanceof QueuePool);
  assert.equal(pool.size(), 2);
  await using writer = await pool.connect();
  await using reader = await pool.connect();
  assert.notEqual(writer.driverConnection, reader.driverConnection);
  for (const conn of [writer, reader]) {
    const mode = conn.driverConnection!.prepare("PRAGMA journal_mode").get();
    assert.equal(mode?.journal_mode, "wal");
  }
  writer.driverConnection!.exec("CREATE TABLE notes (body TEXT NOT NULL)");
  writer.driverConnection!.exec("BEGIN");
  writer.driverConnection!.exec("INSERT INTO notes VALUES ('draft')");
  // WAL: the reader is not blocked by the open write transaction.
  const before = reader.driverConnection!.prepare(
    "SELECT count(*) AS n FROM notes",
  ).get();
  assert.equal(before?.n, 0);
  writer.driverConnection!.exec("COMMIT");
  const after = reader.driverConnection!.prepare(
    "SELECT count(*) AS n FROM notes",
  ).get();
  assert.equal(after?.n, 1);
  const row = reader.driverConnection!.prepare("PRAGMA database_list").get();
  assert.equal(row?.file, file);
});

Deno.test({
  name:
    "createPoolFromUrl() accepts SQLAlchemy's four-slash form, file: URLs and plain paths",
  ...needs({ read: true, write: true }),
}, async () => {
  await using dir = await tempDir("dbpool_url_");
  const file = `${dir.path}/my notes.db`;
  const urls: (string | URL)[] = [
    `sqlite:///${file}`, // sqlite:////abs/path (SQLAlchemy's absolute form)
    `sqlite://${file.replace(" ", "%20")}`,
    `sqlite://localhost${file}?driver=sqlite`,
    new URL(`file://${file}`),
    `file://${file.replace(" ", "%20")}?driver=sqlite`,
    file,
  ];
  for (const url of urls) {
    await using pool = await createPoolFromUrl(url);
    assert.ok(pool instanceof QueuePool, String(url));
    await using conn = await pool.connect();
    assert.ok(conn.driverConnection instanceof DatabaseSync);
    const row = conn.driverConnection.prepare("PRAGMA database_list").get();
    assert.equal(row?.file, file, String(url));
  }
});

Deno.test({
  name:
    "createPoolFromUrl() passes the sqlite options and lets journalMode override WAL",
  ...needs({ read: true, write: true }),
}, async () => {
  await using dir = await tempDir("dbpool_url_");
  await using pool = await createPoolFromUrl(`sqlite://${dir.path}/app.db`, {
    sqlite: { journalMode: "truncate", busyTimeoutMs: 1_234 },
    pg: { connectionTimeoutMillis: 1 }, // ignored for a sqlite URL
  });
  await using conn = await pool.connect();
  const db = conn.driverConnection!;
  assert.equal(
    db.prepare("PRAGMA journal_mode").get()?.journal_mode,
    "truncate",
  );
  assert.equal(db.prepare("PRAGMA busy_timeout").get()?.timeout, 1_234);
});

Deno.test("createPoolFromUrl() rejects an unsupported scheme by name, without the password", async () => {
  const error = await rejection(
    createPoolFromUrl("mysql://root:hunter2@db.internal/app"),
  );
  assert.ok(error instanceof TypeError);
  assert.equal(
    error.message,
    'Cannot create pool from URL: unsupported scheme "mysql", expected "sqlite", "file", "postgres" or "postgresql"',
  );
  assert.ok(!inspectError(error).includes("hunter2"));
});

Deno.test("createPoolFromUrl() rejects bad URLs and options with TypeError", async () => {
  const cases: [string | URL, unknown, RegExp][] = [
    ["", undefined, /"url" must not be empty/],
    ["postgres://u@h/db?driver=mysql", undefined, /unknown driver "mysql"/],
    [
      "postgres://u@h/db?driver=pg&driver=postgres",
      undefined,
      /at most once/,
    ],
    ["postgres:db", undefined, /must start with "postgres:\/\/"/],
    ["sqlite::memory:?driver=pg", undefined, /unknown driver "pg"/],
    ["sqlite:///tmp/x.db?mode=ro", undefined, /query parameter "mode"/],
    ["sqlite://db.internal/x.db", undefined, /cannot name a host/],
    ["sqlite::memory:", { poolSize: 5 }, /unknown option "poolSize"/],
    ["sqlite::memory:", { dialect: {} }, /unknown option "dialect"/],
    ["sqlite::memory:", { nonsense: 1 }, /unknown option "nonsense"/],
    ["sqlite::memory:", { sqlite: { wal: true } }, /unknown option "wal"/],
    ["sqlite::memory:", { sqlite: "wal" }, /"sqlite" must be an object/],
    ["sqlite::memory:", [], /"options" must be an object/],
    [
      "postgres://u@h/db",
      { pg: { connectionString: "postgres://x" } },
      /"pg.connectionString"/,
    ],
  ];
  for (const [url, options, pattern] of cases) {
    const error = await rejection(
      createPoolFromUrl(url, options as Record<string, never>),
    );
    assert.ok(error instanceof TypeError, `${url}: ${error}`);
    assert.match(error.message, pattern, String(url));
    assert.match(error.message, /^Cannot create (pool|SQLite creator)/);
  }
  await assert.rejects(
    createPoolFromUrl(42 as unknown as string),
    { name: "TypeError", message: /"url" must be a string or a URL/ },
  );
  await assert.rejects(
    createPoolFromUrl(`sqlite:///tmp/x.db`, { poolSize: -2 }),
    RangeError,
  );
});

Deno.test("createPoolFromUrl() redacts the password of an invalid PostgreSQL URL and strips driver", async () => {
  for (const driver of ["pg", "postgres"]) {
    const error = await rejection(
      createPoolFromUrl(
        `postgresql://app:hunter2@db:badport/app?driver=${driver}&sslmode=disable`,
      ),
    );
    assert.ok(error instanceof TypeError, driver);
    assert.equal(
      error.message,
      'Cannot create pool from URL: invalid URL "postgresql://app:***@db:badport/app?sslmode=disable"',
    );
    assert.ok(!inspectError(error).includes("hunter2"), driver);
  }
});

Deno.test("createPoolFromUrl() refuses malformed percent-encoding in a postgres.js URL with its own TypeError, without the password", async () => {
  for (
    const url of [
      "postgres://us%zz:pa%zzss@127.0.0.1/db?driver=postgres",
      "postgres://app:pa%zzss@127.0.0.1:5432/db?driver=postgres",
    ]
  ) {
    const error = await rejection(createPoolFromUrl(url));
    assert.ok(error instanceof TypeError, inspectError(error));
    assert.match(
      error.message,
      /^Cannot create pool from URL: invalid percent-encoding in the user, password or host of "postgres:\/\/[^:]+:\*\*\*@127\.0\.0\.1/,
    );
    assert.ok(!inspectError(error).includes("pa%zzss"), error.message);
  }
});

Deno.test({
  name:
    "createPoolFromUrl() keeps the password out of status(), String(pool), logs and connect errors",
  ...needs({ env: true, net: true }),
}, async () => {
  const port = closedPort();
  for (const query of ["", "?driver=postgres"]) {
    const { logger, text: logText } = recordingLogger();
    await using pool = await createPoolFromUrl(
      `postgres://app:hunter2@127.0.0.1:${port}/app${query}`,
      { logger, echo: "debug", pg: { connectionTimeoutMillis: 2_000 } },
    );
    assert.ok(pool instanceof QueuePool);
    const error = await rejection(pool.connect());
    assert.ok(error instanceof Error, query);
    for (
      const text of [
        String(pool),
        pool.status(),
        logText(),
        inspectError(error),
      ]
    ) {
      assert.ok(!text.includes("hunter2"), `${query}: ${text}`);
    }
    assert.match(String(pool), /^AsyncAdaptedQueuePool\((pg|postgres)\)$/);
  }
});

Deno.test({
  name: "createPoolFromUrl() hides a driver error's copy of the password",
  ...needs({ env: true, net: true, read: true }),
}, async () => {
  // An "sslrootcert" that does not exist makes node-postgres fail while
  // connecting; the file name carries the password, as a stand-in for any
  // driver message that quotes the URL.
  const error = await rejection((async () => {
    await using pool = await createPoolFromUrl(
      `postgres://app:hunter2@127.0.0.1:${closedPort()}/app?sslmode=verify-full&sslrootcert=/nonexistent/hunter2.pem`,
    );
    await pool.connect();
  })());
  assert.ok(error instanceof Error);
  assert.match(inspectError(error), /\*\*\*/);
  assert.ok(!inspectError(error).includes("hunter2"));
});

Deno.test("redactUrl() hides the password and keeps the rest", () => {
  const cases: [string, string][] = [
    [
      "postgres://app:s3cret@db:5432/app?sslmode=require",
      "postgres://app:***@db:5432/app?sslmode=require",
    ],
    ["postgresql://:s3cret@db/app", "postgresql://:***@db/app"],
    ["postgres://app@db/app", "postgres://app@db/app"],
    ["postgres://db:5432/app", "postgres://db:5432/app"],
    ["postgres://app:p%40ss@db/app", "postgres://app:***@db/app"],
    // unescaped "@", "/", "?" and "#" in the password
    ["postgres://app:p@ss@db/app", "postgres://app:***@db/app"],
    ["postgres://app:a/b?c#d@db/app", "postgres://app:***@db/app"],
    [
      "postgres://db/app?user=app&password=s3cret&sslpassword=x#f",
      "postgres://db/app?user=app&password=***&sslpassword=***#f",
    ],
    [
      "postgres://app:s3cret@h1:5432,h2:5433/app",
      "postgres://app:***@h1:5432,h2:5433/app",
    ],
    ["sqlite:///tmp/app.db", "sqlite:///tmp/app.db"],
    ["sqlite::memory:", "sqlite::memory:"],
    ["/tmp/app.db", "/tmp/app.db"],
  ];
  for (const [url, expected] of cases) assert.equal(redactUrl(url), expected);
  assert.equal(
    redactUrl(new URL("postgres://app:s3cret@db/app")),
    "postgres://app:***@db/app",
  );
});

Deno.test("a pool from a PostgreSQL URL is named host:port/database for its metrics, never with credentials", () => {
  const cases: [string, string][] = [
    [
      "postgres://app:s3cret@db.internal:6432/orders",
      "db.internal:6432/orders",
    ],
    ["postgresql://app:s3cret@db/orders?sslmode=require", "db:5432/orders"],
    ["postgres://app@db", "db:5432/app"],
    [
      "postgres:///orders?host=/var/run/postgresql",
      "/var/run/postgresql:5432/orders",
    ],
    ["postgres://h1:5432,h2:5433/orders", "h1:5432,h2:5433/orders"],
    ["postgres://app:p%40ss@db/my%20db?driver=postgres", "db:5432/my db"],
    ["postgres://?dbname=orders&port=5433&password=x", "localhost:5433/orders"],
  ];
  for (const [url, name] of cases) {
    assert.equal(metricsNameOf(parseTarget(url)), name, url);
  }
});

Deno.test("createPoolFromUrl() refuses idleTimeoutMs for an in-memory SQLite database, which closing its one connection would lose", async () => {
  await assert.rejects(
    createPoolFromUrl("sqlite::memory:", { idleTimeoutMs: 60_000 }),
    (error: unknown) =>
      error instanceof TypeError &&
      /"idleTimeoutMs" would close the one connection of an in-memory SQLite database/
        .test(error.message),
  );
  await using pool = await createPoolFromUrl("sqlite::memory:", {
    idleTimeoutMs: null,
  });
  assert.equal(pool.stats().open, 0);
});
