/**
 * The README's code blocks run as written: `deno test --doc README.md`
 * type-checks and runs every ` ```ts ` block. Those marked `ignore` need a
 * database, a file or a server; `readme_pg_test.ts` runs them.
 */

import assert from "node:assert/strict";
import { needs } from "../src/_test_permissions.ts";
import { runDeno } from "./_deno_subprocess.ts";

Deno.test({
  name: "every runnable code block of the README type-checks and runs",
  ...needs({ run: true }),
}, async () => {
  const output = await runDeno(
    ["test", "--doc", "--unstable-no-legacy-abort", "--allow-all", "README.md"],
    120_000,
  );
  const text = `${output.stdout}\n${output.stderr}`;
  assert.equal(output.code, 0, text);
  const ran = /ok \| (\d+) passed/.exec(text);
  assert.ok(ran !== null && Number(ran[1]) >= 3, text);
});
