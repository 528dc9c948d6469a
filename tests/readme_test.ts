/**
 * The README's code blocks run as written: `deno test --doc README.md`
 * type-checks and runs every ` ```ts ` block (those marked `ignore` need a
 * database, a flag or a package from JSR, and say so beside them).
 */

import assert from "node:assert/strict";
import { needs } from "../src/_test_permissions.ts";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test({
  name: "every runnable code block of the README type-checks and runs",
  ...needs({ run: true }),
}, async () => {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 120_000);
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(Deno.execPath(), {
      args: [
        "test",
        "--doc",
        "--unstable-no-legacy-abort",
        "--allow-all",
        "README.md",
      ],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: abort.signal,
    }).output();
  } finally {
    clearTimeout(timer);
  }
  const decoder = new TextDecoder();
  const text = `${decoder.decode(output.stdout)}\n${
    decoder.decode(output.stderr)
  }`;
  assert.equal(output.code, 0, text);
  const ran = /ok \| (\d+) passed/.exec(text);
  assert.ok(ran !== null && Number(ran[1]) >= 3, text);
});
