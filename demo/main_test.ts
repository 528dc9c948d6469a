import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import type { QueuePool } from "@dbpool/pool";
import { canStartPgCluster, startPgCluster } from "../tests/_pg_cluster.ts";
import { needs } from "../src/_test_permissions.ts";
import {
  MAX_BODY_BYTES,
  notesHandler,
  openNotesDatabase,
  parseCommandLine,
  runDemo,
  statsLine,
  TABLE,
} from "./main.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;
const ROOT = new URL("../", import.meta.url).pathname;
/** How the README and `--help` say to run the demo without `deno task`. */
const RUN = ["run", "--unstable-no-legacy-abort", "-A", MAIN];

/**
 * A request body that yields `total` bytes in `chunkSize` chunks, one per
 * read (nothing is produced ahead of the reader), and records how much was
 * read and whether the reader cancelled it.
 */
function uploadSource(total: number, chunkSize: number) {
  const chunk = new Uint8Array(chunkSize).fill(0x20); // JSON whitespace
  const state = { produced: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.produced >= total) return controller.close();
      state.produced += chunkSize;
      controller.enqueue(chunk);
    },
    cancel() {
      state.cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { stream, state };
}

/** Counts the pool's checkouts from now on. */
function countCheckouts(pool: QueuePool<DatabaseSync>): () => number {
  let checkouts = 0;
  pool.on("checkout", () => void checkouts++);
  return () => checkouts;
}

/** Whether the SQLite file at `path` has the notes table. */
function sqliteHasTable(path: string): boolean {
  const db = new DatabaseSync(path);
  try {
    return db.prepare("SELECT 1 FROM sqlite_master WHERE name = ?")
      .get(TABLE) !== undefined;
  } finally {
    db.close();
  }
}

Deno.test({
  name: "runDemo() serves every request and leaves no connection checked out",
  ...needs({ net: true, read: true, write: true }),
}, async () => {
  const result = await runDemo({ requests: 200, concurrency: 16, poolSize: 2 });
  assert.equal(result.firstFailure, null);
  assert.equal(result.failed, 0);
  assert.equal(result.succeeded, 200);
  assert.equal(result.checkouts, 200);
  assert.equal(result.checkedOut, 0);
  assert.match(result.status, /Current Checked out connections: 0$/);
  assert.match(result.pool, /^AsyncAdaptedQueuePool\(sqlite\)$/);
  assert.match(result.url, /^sqlite:\/\/\/.*\/notes\.db$/);
  // 16 clients on 2 connections: checkouts had to wait.
  assert.ok(result.checkoutWaitMs.max > 0);
  assert.ok(result.requestsPerSecond > 0);
  assert.equal(
    Object.values(result.byRoute).reduce((sum, n) => sum + n, 0),
    200,
  );
  // The temporary database is gone, and the report says what was done.
  const dir = result.url.slice("sqlite://".length, -"/notes.db".length);
  await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
  assert.deepEqual(result.cleanup, [
    "server shut down",
    "pool disposed",
    "temporary database removed",
  ]);
});

Deno.test({
  name:
    "runDemo() drops the notes table it created in a given database, unless asked to keep it",
  ...needs({ net: true, read: true, write: true }),
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "dbpool_demo_test_" });
  try {
    const path = `${dir}/mine.db`;
    const url = `sqlite://${path}`;
    const dropped = await runDemo({ url, requests: 20, concurrency: 4 });
    assert.equal(dropped.failed, 0);
    assert.match(dropped.table, /created for this run, dropped at the end/);
    assert.equal(sqliteHasTable(path), false);
    assert.match(
      dropped.cleanup.join(", "),
      /table demo_notes dropped \(\d+ notes\)/,
    );

    const kept = await runDemo({
      url,
      requests: 20,
      concurrency: 4,
      keep: true,
    });
    assert.match(kept.table, /kept at the end \(--keep\)/);
    assert.equal(sqliteHasTable(path), true);

    // A table that was there before the run is left alone.
    const again = await runDemo({ url, requests: 20, concurrency: 4 });
    assert.match(again.table, /already existed: left in place/);
    assert.equal(sqliteHasTable(path), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "runDemo() on PostgreSQL drops the notes table it created",
  ignore: !(await canStartPgCluster()),
  async fn() {
    await using cluster = await startPgCluster();
    const result = await runDemo({
      url: cluster.url,
      requests: 40,
      concurrency: 8,
    });
    assert.equal(result.firstFailure, null);
    assert.match(result.cleanup.join(", "), /table demo_notes dropped/);
    await using db = await openNotesDatabase({ url: cluster.url, poolSize: 1 });
    // Opening it again had to create the table: the run left none behind.
    assert.match(db.table, /created for this run/);
  },
});

Deno.test({
  name:
    "notesHandler() answers 413 to a chunked body over the cap and stops reading it",
  ...needs({ read: true, write: true }),
}, async () => {
  await using db = await openNotesDatabase({ poolSize: 1 });
  const checkouts = countCheckouts(db.pool as QueuePool<DatabaseSync>);
  const chunkSize = 1024;
  const { stream, state } = uploadSource(16 * 1024 * 1024, chunkSize);
  const response = await notesHandler(db.pool)(
    new Request("http://demo.test/notes", { method: "POST", body: stream }),
  );
  assert.equal(response.status, 413);
  assert.match((await response.json()).error, /too large/);
  assert.equal(state.cancelled, true);
  assert.ok(
    state.produced <= MAX_BODY_BYTES + chunkSize,
    `read ${state.produced} bytes of a body capped at ${MAX_BODY_BYTES}`,
  );
  assert.equal(checkouts(), 0);
});

Deno.test({
  name:
    "notesHandler() answers 413 to a declared Content-Length over the cap without reading the body",
  ...needs({ read: true, write: true }),
}, async () => {
  await using db = await openNotesDatabase({ poolSize: 1 });
  const { stream, state } = uploadSource(MAX_BODY_BYTES + 1, 1024);
  const response = await notesHandler(db.pool)(
    new Request("http://demo.test/notes", {
      method: "POST",
      body: stream,
      headers: { "content-length": String(MAX_BODY_BYTES + 1) },
    }),
  );
  assert.equal(response.status, 413);
  await response.body?.cancel();
  assert.equal(state.produced, 0);
  assert.equal(state.cancelled, true);
});

Deno.test({
  name:
    "notesHandler() behind Deno.serve answers 413 to a large chunked upload without taking it in",
  ...needs({ net: true, read: true, write: true }),
}, async () => {
  await using db = await openNotesDatabase({ poolSize: 1 });
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    notesHandler(db.pool),
  );
  const total = 64 * 1024 * 1024;
  const { stream, state } = uploadSource(total, 64 * 1024);
  const response = await fetch(`http://127.0.0.1:${server.addr.port}/notes`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: stream, // no length: sent chunked
  });
  assert.equal(response.status, 413);
  await response.body?.cancel();
  // What the client could push before the answer (socket buffers), not
  // the whole upload.
  assert.ok(state.produced < total / 4, `uploaded ${state.produced} bytes`);
});

Deno.test({
  name: "notesHandler() reads a body that arrives in many chunks",
  ...needs({ read: true, write: true }),
}, async () => {
  await using db = await openNotesDatabase({ poolSize: 1 });
  const text = JSON.stringify({ body: "é".repeat(1000) });
  const bytes = new TextEncoder().encode(text);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      // 7-byte pieces: some split the two bytes of an "é".
      for (let i = 0; i < bytes.length; i += 7) {
        controller.enqueue(bytes.slice(i, i + 7));
      }
      controller.close();
    },
  });
  const response = await notesHandler(db.pool)(
    new Request("http://demo.test/notes", { method: "POST", body }),
  );
  assert.equal(response.status, 201);
  assert.equal((await response.json()).body, "é".repeat(1000));
});

Deno.test({
  name:
    "notesHandler() answers 405 with an Allow header to a wrong method on a known path",
  ...needs({ read: true, write: true }),
}, async () => {
  await using db = await openNotesDatabase({ poolSize: 1 });
  const handle = notesHandler(db.pool);
  const cases: [string, string, string][] = [
    ["DELETE", "/notes", "GET, POST"],
    ["PUT", "/notes/1", "GET"],
    ["POST", "/status", "GET"],
    ["POST", "/", "GET"],
  ];
  for (const [method, path, allow] of cases) {
    const response = await handle(
      new Request(`http://demo.test${path}`, { method }),
    );
    assert.equal(response.status, 405, `${method} ${path}`);
    assert.equal(response.headers.get("allow"), allow, `${method} ${path}`);
    await response.body?.cancel();
  }
  const unknown = await handle(new Request("http://demo.test/nothing"));
  assert.equal(unknown.status, 404);
  await unknown.body?.cancel();
});

Deno.test("parseCommandLine() skips a leading -- as deno task passes it on", () => {
  assert.deepEqual(parseCommandLine(["--", "--help"]), { kind: "help" });
  assert.deepEqual(parseCommandLine(["--", "-n", "5"]), {
    kind: "run",
    options: { keep: false, requests: 5 },
  });
});

Deno.test("parseCommandLine() applies --work-ms and --keep in serve mode", () => {
  assert.deepEqual(
    parseCommandLine(["--serve", "--work-ms", "7", "--keep", "--port", "0"]),
    { kind: "serve", options: { workMs: 7, keep: true, port: 0 } },
  );
});

Deno.test("parseCommandLine() rejects -n, -c with --serve and --port without it", () => {
  for (
    const [args, message] of [
      [["--serve", "-n", "5"], /"--requests" with "--serve"/],
      [["--serve", "--concurrency", "5"], /"--concurrency" with "--serve"/],
      [["--port", "8000"], /"--port" without "--serve"/],
      [["--bogus"], /Unknown option '--bogus'$/],
    ] as const
  ) {
    assert.throws(() => parseCommandLine(args), {
      name: "UsageError",
      message,
    });
  }
});

/** Runs `deno <args>` from the repository root; its exit code and output. */
async function deno(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test({
  name: "deno task demo -- --help prints the usage",
  ...needs({ run: true }),
}, async () => {
  const { code, stdout } = await deno(["task", "demo", "--", "--help"]);
  assert.equal(code, 0);
  assert.match(stdout, /^Usage: deno task demo \[options\]/);
  assert.match(stdout, /--unstable-no-legacy-abort/);
});

Deno.test({
  name:
    "the demo says which connection failed and why, without pointing at --help",
  ...needs({ net: true, run: true }),
}, async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close(); // nothing listens there now: connections are refused
  const { code, stderr } = await deno([
    ...RUN,
    "--url",
    `postgres://demo:s3cret@127.0.0.1:${port}/demo`,
  ]);
  assert.equal(code, 1);
  assert.match(
    stderr,
    new RegExp(
      `^Could not connect to "postgres://demo:\\*\\*\\*@127\\.0\\.0\\.1:${port}/demo": .*ECONNREFUSED`,
    ),
  );
  assert.doesNotMatch(stderr, /--help|s3cret/);
});

Deno.test({
  name: "the demo in serve mode applies --work-ms and says how it shuts down",
  ...needs({ net: true, run: true }),
}, async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...RUN, "--serve", "--port", "0", "--work-ms", "200"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stdout = "";
  try {
    while (!stdout.includes("Press Ctrl-C to stop.")) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`The server did not start:\n${await stderr}`);
      stdout += value;
    }
    assert.match(stdout, /other work {2}200 ms per request/);
    const base = /Serving the notes API on (http:\/\/\S+)/.exec(stdout)![1];
    const start = performance.now();
    const response = await fetch(`${base}/notes`, {
      method: "POST",
      body: JSON.stringify({ body: "hello" }),
    });
    assert.equal(response.status, 201);
    await response.body?.cancel();
    assert.ok(performance.now() - start >= 199, "answered before --work-ms");
  } finally {
    child.kill("SIGTERM");
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      stdout += value;
    }
  }
  assert.equal((await child.status).code, 0);
  assert.match(
    stdout,
    /Shutting down: shut down the server, then dispose of the pool, then remove the temporary database\.\nStopped cleanly: server shut down, pool disposed, temporary database removed\.\n$/,
  );
  assert.equal(await stderr, ""); // no warning from Deno either
});

Deno.test("the demo prints the pool's stats() on one line: gauges, then the counters that moved", () => {
  assert.equal(
    statsLine({
      open: 4,
      idle: 3,
      checkedOut: 1,
      pending: 2,
      max: 4,
      checkouts: 10,
      waits: 5,
      timeouts: 0,
      aborts: 0,
      creates: 4,
      createFailures: 0,
      invalidations: 0,
      recycles: 0,
      closes: 0,
    }),
    "open 4, idle 3, checked out 1, waiting 2, max 4; checkouts 10, waits 5, creates 4",
  );
});
