/**
 * `leakDetectionMs` never keeps a process alive: a script that checks out
 * a connection from a pool with leak detection on, and leaves it out, ends
 * by itself (the pool's leak timer is unreferenced, as all its timers are).
 *
 * @module
 */

import assert from "node:assert/strict";
import { needs } from "../src/_test_permissions.ts";
import { runDeno } from "./_deno_subprocess.ts";

const SCRIPT = `
import { QueuePool } from "${new URL("../mod.ts", import.meta.url).href}";

const pool = new QueuePool(() => ({}), { leakDetectionMs: 600_000 });
const held = await pool.connect();
console.log(held.isValid ? "checked out" : "not checked out");
`;

Deno.test({
  name:
    "a process that leaves a connection out of a pool with leakDetectionMs exits by itself",
  ...needs({ run: true }),
}, async () => {
  // Killed after 60 s if the leak timer (600 s) kept it alive.
  const { code, stdout, stderr } = await runDeno(
    ["eval", "--no-config", SCRIPT],
    60_000,
  );
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^checked out$/m);
});
