/**
 * A newcomer's first command: `deno test` from the repository's root, with
 * no permission flag. It must pass, skipping (as ignored) the tests that
 * need a permission it lacks, run the unit tests on the fake driver, and
 * say in one line what it skipped and that `deno task test` runs it all.
 *
 * This runs the whole suite a second time without permissions (about 10 s
 * here), so that a new test that needs a permission and is not gated with
 * `needs()` from `src/_test_permissions.ts` fails here, not in a
 * newcomer's terminal.
 */

import assert from "node:assert/strict";
import { needs } from "../src/_test_permissions.ts";
import { runDeno } from "./_deno_subprocess.ts";

Deno.test({
  name:
    "a plain deno test passes, skips what needs a permission and says so in one line",
  ...needs({ run: true }),
}, async () => {
  const output = await runDeno(["test"], 180_000);
  const stdout = output.stdout;
  const text = `${stdout}\n${output.stderr}`;
  assert.equal(output.code, 0, text.slice(-4_000));
  assert.doesNotMatch(text, /NotCapable/);

  const notices = stdout.split("\n").filter((line) =>
    line.includes("deno task test runs them all")
  );
  assert.deepEqual(notices, [
    "Skipped the tests that need --allow-env, --allow-net, --allow-read, --allow-run, --allow-sys or --allow-write (counted as ignored): deno task test runs them all",
  ]);

  const summary =
    /^ok \| (\d+) passed(?: \(\d+ steps?\))? \| 0 failed \| (\d+) ignored/m
      .exec(stdout);
  assert.ok(summary, stdout.slice(-2_000));
  // The tests that need a permission are listed as ignored…
  for (
    const name of [
      "PgDialect against a live PostgreSQL",
      "sqliteCreator() opens a file in WAL mode with the settings asked",
      "runDemo() serves every request and leaves no connection checked out",
    ]
  ) {
    assert.ok(stdout.includes(`\n${name} ... ignored (`), name);
  }
  // …and the unit tests on the fake driver (and SQLite in memory) ran.
  assert.ok(Number(summary[1]) > 300, `only ${summary[1]} tests passed`);
  for (
    const name of [
      "QueuePool constructor rejects an unknown option key with TypeError, and says what to use instead",
      "SqliteDialect.rollback() runs ROLLBACK only when a transaction is open",
      "createPoolFromUrl() gives sqlite::memory: a StaticPool sharing one database",
    ]
  ) {
    assert.ok(stdout.includes(`\n${name} ... ok (`), name);
  }
});
