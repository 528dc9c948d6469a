/**
 * Runs `deno doc --lint` over the package's entry points (the values of
 * `exports` in `deno.json`): all of them together, then each on its own, as
 * JSR checks each. Exits non-zero if any run fails.
 *
 * Deno 2.9.6's `deno doc` reads the `/// <reference path="zlib.d.ts" />`
 * lines of `@types/node`'s `index.d.ts` (pulled in by `@types/pg`) as
 * package names and prints a false "Failed resolving types. Could not find
 * package …" warning for each (`deno check` does not): deno_graph passes
 * a triple-slash `path` reference without a leading `./` to the resolver as
 * a bare specifier (https://github.com/denoland/deno/issues/36751, open;
 * `@types/pg` is what types node-postgres's `Client` for users, so it
 * stays). Such a warning is
 * dropped only when the line it points at is a reference path to a file
 * that exists beside that `index.d.ts`; any other output, and every exit
 * code, are kept.
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

const WARNING =
  /^Warning Failed resolving types\. Could not find package '[^']+' from referrer '(file:\/\/[^']*\/@types\/node\/[^/']+\/index\.d\.ts)'/;
const AT = /^\s+at (file:\S+):(\d+):\d+$/;
const REFERENCE = /^\/\/\/ <reference path="([^"]+)" \/>$/;

function isFile(url: URL): boolean {
  try {
    return Deno.statSync(url).isFile;
  } catch {
    return false;
  }
}

/** The output without the false `@types/node` warnings, and how many went. */
function withoutFalseWarnings(text: string): { text: string; hidden: number } {
  const lines = text.split("\n");
  const kept: string[] = [];
  let hidden = 0;
  for (let i = 0; i < lines.length; i++) {
    const referrer = WARNING.exec(lines[i]!)?.[1];
    const at = AT.exec(lines[i + 1] ?? "");
    if (referrer !== undefined && at?.[1] === referrer) {
      const line = Deno.readTextFileSync(new URL(referrer)).split("\n")[
        Number(at[2]) - 1
      ] ?? "";
      const path = REFERENCE.exec(line.trim())?.[1];
      if (path !== undefined && isFile(new URL(path, referrer))) {
        hidden++;
        i++;
        continue;
      }
    }
    kept.push(lines[i]!);
  }
  return { text: kept.join("\n").trim(), hidden };
}

let failed = 0;
let hidden = 0;
for (const args of [paths, ...paths.map((path) => [path])]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", ...args],
    cwd: new URL("..", import.meta.url),
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  const filtered = withoutFalseWarnings(
    `${decoder.decode(output.stdout)}\n${decoder.decode(output.stderr)}`,
  );
  hidden += filtered.hidden;
  const report = filtered.text.split("\n").filter((line) =>
    !/^Checked \d+ files?$/.test(line)
  ).join("\n").trim();
  // deno-lint-ignore no-console -- a command-line script reports on the console.
  if (report !== "") console.error(report);
  if (output.code !== 0) {
    failed++;
    // deno-lint-ignore no-console -- a command-line script reports on the console.
    console.error(`deno doc --lint ${args.join(" ")}: failed`);
  }
}
// deno-lint-ignore no-console -- a command-line script reports on the console.
console.log(
  `deno doc --lint: ${paths.length} entry points, together and one by one: ${
    failed === 0 ? "clean" : `${failed} run(s) failed`
  }${
    hidden > 0
      ? ` (${hidden} false warnings about @types/node reference paths not shown)`
      : ""
  }`,
);
Deno.exit(failed === 0 ? 0 : 1);
