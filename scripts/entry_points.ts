/**
 * Prints the package's entry points (the values of `exports` in
 * `deno.json`) on one line, separated by spaces. `deno.json` is the one list:
 * the `ok` task and `.ci/run` read it through this script, so adding an
 * entry point is one edit.
 *
 * Run: `deno run --allow-read scripts/entry_points.ts`
 *
 * @module
 */

const manifest: unknown = JSON.parse(
  await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
);
const exports = (manifest as { exports?: unknown }).exports;
if (exports === null || typeof exports !== "object") {
  throw new TypeError(
    'Cannot list entry points: "exports" in deno.json must be an object',
  );
}
const paths = Object.values(exports);
await Deno.stdout.write(new TextEncoder().encode(`${paths.join(" ")}\n`));
