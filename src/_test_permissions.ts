/**
 * Test helper: skips the tests that need a permission this run was not
 * granted, so that a plain `deno test` (no flags) passes and says what it
 * left out, while `deno task test` (which grants every permission) runs
 * them all. Not published.
 *
 * A test names what it needs, and is ignored when any of it is missing:
 *
 * ```ts ignore
 * Deno.test("sqliteCreator() opens a file", needs({ read: true, write: true }), async () => {
 *   // …
 * });
 * ```
 *
 * A permission counts as granted only when `Deno.permissions.querySync()`
 * says `"granted"`: without a flag it says `"prompt"`, and `deno test` never
 * prompts (its standard input is not a terminal for the tests), so the
 * first use would throw `NotCapable`. Each test file runs in an isolate of
 * its own, so no module state is shared across files: the one line saying
 * what was skipped comes from {@linkcode skipNotice}, printed by a single
 * test in `_test_permissions_test.ts`.
 *
 * @module
 */

/** A permission, by the name of its `--allow-*` flag. */
export type Permission = "env" | "net" | "read" | "run" | "sys" | "write";

/** What a test needs: `{ net: true, run: true }`. */
export type Needs = { readonly [P in Permission]?: true };

/** Tells whether this run was granted a permission (the whole of it). */
export type IsGranted = (permission: Permission) => boolean;

const PERMISSIONS: readonly Permission[] = [
  "env",
  "net",
  "read",
  "run",
  "sys",
  "write",
];

/**
 * Every permission the suite's tests need; `deno task test` grants them
 * all, a plain `deno test` none.
 */
export const SUITE_NEEDS: Needs = {
  env: true,
  net: true,
  read: true,
  run: true,
  sys: true,
  write: true,
};

/** The permissions of the run, as `Deno.permissions.querySync()` says. */
export function isGranted(permission: Permission): boolean {
  return Deno.permissions.querySync({ name: permission }).state === "granted";
}

/** The permissions in `needed` that the run lacks, in flag order. */
export function missingPermissions(
  needed: Needs,
  granted: IsGranted = isGranted,
): Permission[] {
  return PERMISSIONS.filter((name) => needed[name] === true && !granted(name));
}

/**
 * The `ignore` of a test that needs `needed`: `true` when the run lacks any
 * of it. Spread it into the test's options, or pass it as the options.
 *
 * @param needed The permissions the test uses.
 * @returns `{ ignore }` for `Deno.test()` or `t.step()`.
 */
export function needs(needed: Needs): { ignore: boolean } {
  return { ignore: missingPermissions(needed).length > 0 };
}

/**
 * One line saying which tests this run skips and how to run them all, or
 * `null` when the run has every permission the suite needs.
 *
 * @param granted Which permissions the run has (the real ones by default).
 * @returns The line, without a line break, or `null`.
 */
export function skipNotice(granted: IsGranted = isGranted): string | null {
  const missing = missingPermissions(SUITE_NEEDS, granted);
  if (missing.length === 0) return null;
  const flags = missing.map((name) => `--allow-${name}`);
  const listed = flags.length === 1
    ? flags[0]
    : `${flags.slice(0, -1).join(", ")} or ${flags.at(-1)}`;
  return `Skipped the tests that need ${listed} (counted as ignored): deno task test runs them all`;
}
