import assert from "node:assert/strict";
import { runDemo } from "./main.ts";

Deno.test("runDemo() serves every request and leaves no connection checked out", async () => {
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
  // The temporary database is gone.
  const dir = result.url.slice("sqlite://".length, -"/notes.db".length);
  await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
});
