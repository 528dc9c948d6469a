import assert from "node:assert/strict";
import {
  type IsGranted,
  missingPermissions,
  needs,
  type Permission,
  skipNotice,
} from "./_test_permissions.ts";

function grantedOnly(...permissions: Permission[]): IsGranted {
  return (permission) => permissions.includes(permission);
}

Deno.test("missingPermissions() lists what a test needs and the run lacks, in flag order", () => {
  const granted = grantedOnly("read", "env");
  assert.deepEqual(
    missingPermissions({ write: true, net: true, read: true }, granted),
    ["net", "write"],
  );
  assert.deepEqual(missingPermissions({ read: true, env: true }, granted), []);
  assert.deepEqual(missingPermissions({}, grantedOnly()), []);
});

Deno.test("needs() ignores a test when the run lacks a permission it names", () => {
  const granted = (permission: Permission): boolean =>
    Deno.permissions.querySync({ name: permission }).state === "granted";
  assert.deepEqual(needs({}), { ignore: false });
  for (
    const permission of ["env", "net", "read", "run", "sys", "write"] as const
  ) {
    assert.deepEqual(
      needs({ [permission]: true }),
      { ignore: !granted(permission) },
      permission,
    );
  }
});

Deno.test("skipNotice() names the missing flags in one line and points at deno task test", () => {
  assert.equal(
    skipNotice(grantedOnly()),
    "Skipped the tests that need --allow-env, --allow-net, --allow-read, --allow-run, --allow-sys or --allow-write (counted as ignored): deno task test runs them all",
  );
  assert.equal(
    skipNotice(grantedOnly("env", "read", "run", "sys", "write")),
    "Skipped the tests that need --allow-net (counted as ignored): deno task test runs them all",
  );
  assert.equal(
    skipNotice(grantedOnly("env", "net", "read", "run", "sys", "write")),
    null,
  );
});

// Each test file runs in an isolate of its own, so this one test, not the
// helper module, prints the run's one line about skipped tests.
Deno.test("a run without every permission says which tests it skipped and how to run them all", () => {
  const notice = skipNotice();
  // deno-lint-ignore no-console -- the one line a plain `deno test` prints about what it skipped
  if (notice !== null) console.log(notice);
});
