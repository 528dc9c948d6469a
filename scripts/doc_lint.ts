/**
 * Runs `deno doc --lint` over the package's entry points (the values of
 * `exports` in `deno.json`): all of them together, then each on its own, as
 * JSR checks each. Exits non-zero if any run fails.
 *
 * Run: `deno run --allow-read --allow-run scripts/doc_lint.ts`
 *
 * @module
 */

const manifest: unknown = JSON.parse(
  await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
);
const exports = (manifest as { exports?: unknown }).exports;
if (exports === null || typeof exports !== "object") {
  throw new TypeError(
    'Cannot lint the docs: "exports" in deno.json must be an object',
  );
}
const paths = Object.values(exports).map(String);
let failed = 0;
for (const args of [paths, ...paths.map((path) => [path])]) {
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", ...args],
    cwd: new URL("..", import.meta.url),
  }).spawn().status;
  if (code !== 0) {
    failed++;
    // deno-lint-ignore no-console -- a command-line script reports on the console.
    console.error(`deno doc --lint ${args.join(" ")}: failed`);
  }
}
Deno.exit(failed === 0 ? 0 : 1);
