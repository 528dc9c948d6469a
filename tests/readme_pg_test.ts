/**
 * The README's ` ```ts ignore ` blocks run as written. `deno test --doc`
 * (`readme_test.ts`) skips them because they need PostgreSQL, a file or a
 * server; here each one becomes a module of its own in a temporary
 * directory and runs in a subprocess, type-checked first, with
 * `DATABASE_URL` set to a throwaway PostgreSQL cluster.
 *
 * - `@dbpool/pool` and its subpaths resolve to this repository through an
 *   import map made from `deno.json`'s `name` and `exports`, as
 *   `deno test --doc` resolves them by the package's self-reference.
 * - A block that calls `Deno.serve()` runs with the flags the README gives
 *   for it, on a free loopback port (`DENO_SERVE_ADDRESS`); once it says
 *   where it listens, it must answer one request with 200 and JSON, and is
 *   then stopped. Any other block runs with `deno run` and must exit with
 *   code 0.
 * - Each block runs in a directory of its own, the only one it may read or
 *   write (`--allow-read`/`--allow-write` name it), and the directory is
 *   removed afterwards.
 * - A block that imports a `@std/` package is listed as skipped: those come
 *   from JSR, which these tests do not fetch. A block that reads
 *   `DATABASE_URL` is listed as skipped, with the reason, when no
 *   PostgreSQL server can be started.
 *
 * The number of blocks, and of those skipped by rule, is fixed below, so a
 * new block cannot go unnoticed.
 *
 * @module
 */

import assert from "node:assert/strict";
import { needs } from "../src/_test_permissions.ts";
import { type PgClient, pgCreator } from "../src/pg.ts";
import {
  PG_CLUSTER_NEEDS,
  pgClusterUnavailableReason,
  startPgCluster,
} from "./_pg_cluster.ts";

/** How many ` ```ts ignore ` blocks the README has. */
const EXPECTED_BLOCKS = 7;
/** How many of them are skipped by {@linkcode skipRule} (the `@std/log` one). */
const EXPECTED_SKIPPED_BY_RULE = 1;

/** How long one block may take, type-checking included. */
const BLOCK_TIMEOUT_MS = 120_000;

const ROOT = new URL("../", import.meta.url);

/** One ` ```ts ignore ` block of the README. */
interface Block {
  /** The heading of the section it is in. */
  readonly section: string;
  /** The line of its opening fence (1-based). */
  readonly line: number;
  /** Its code, as written. */
  readonly code: string;
}

/** Every ` ```ts ignore ` block of `markdown`, in order. */
function ignoredBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split("\n");
  let section = "(before the first heading)";
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    const heading = /^#{1,6} (.+)$/.exec(text);
    if (heading !== null) {
      section = heading[1]!;
      continue;
    }
    const fence = /^(`{3,})(.*)$/.exec(text);
    if (fence === null) continue;
    const close = lines.findIndex((l, j) => j > i && l === fence[1]);
    if (close === -1) {
      throw new Error(`README.md:${i + 1}: a code block is never closed`);
    }
    const info = fence[2]!.trim().split(/\s+/);
    if (info[0] === "ts" && info.includes("ignore")) {
      blocks.push({
        section,
        line: i + 1,
        code: `${lines.slice(i + 1, close).join("\n")}\n`,
      });
    }
    i = close;
  }
  return blocks;
}

/** Why a block is not run, or `null`: blocks importing `@std/` (from JSR). */
function skipRule(block: Block): string | null {
  const std = /from "(@std\/[^"]+)"/.exec(block.code);
  return std === null
    ? null
    : `imports ${std[1]} from JSR, which these tests do not fetch`;
}

/** Whether a block needs the PostgreSQL server: it reads `DATABASE_URL`. */
function needsPostgres(block: Block): boolean {
  return block.code.includes(`Deno.env.get("DATABASE_URL")`);
}

/** Whether a block is a server: it calls `Deno.serve()`. */
function isServer(block: Block): boolean {
  return block.code.includes("Deno.serve(");
}

/**
 * A configuration for the blocks: the package's import map, made from
 * `deno.json`'s `name` and `exports` (`"."` is the name itself, `"./pg"`
 * is `<name>/pg`), and its compiler options.
 */
async function blockConfig(): Promise<string> {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("deno.json", ROOT)),
  ) as {
    name: string;
    exports: Record<string, string>;
    compilerOptions?: Record<string, unknown>;
  };
  const imports: Record<string, string> = {};
  for (const [subpath, path] of Object.entries(config.exports)) {
    const specifier = subpath === "."
      ? config.name
      : `${config.name}/${subpath.replace(/^\.\//, "")}`;
    imports[specifier] = new URL(path, ROOT).href;
  }
  return JSON.stringify(
    { imports, compilerOptions: config.compilerOptions ?? {} },
    null,
    2,
  );
}

/** Runs `deno run` on a block's module; gives its exit code and output. */
async function runBlock(
  config: string,
  dir: string,
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--check",
      `--config=${config}`,
      "--no-lock",
      "--unstable-no-legacy-abort",
      "--allow-net",
      "--allow-env",
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
      "main.ts",
    ],
    cwd: dir,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(BLOCK_TIMEOUT_MS),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Reads `stream` into `into.text` until it ends; never throws. */
async function collect(
  stream: ReadableStream<Uint8Array>,
  into: { text: string },
  onText: () => void,
): Promise<void> {
  try {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      into.text += chunk;
      onText();
    }
  } catch {
    // the process was killed; what was read is kept
  }
}

/**
 * Runs a server block with the flags the README gives for it
 * (`--unstable-no-legacy-abort --allow-net --allow-env`), its `Deno.serve()`
 * moved to a free loopback port by `DENO_SERVE_ADDRESS`; sends it one
 * `GET /` once it says where it listens, then stops it. Gives the answer
 * and what the server printed.
 */
async function serveBlock(
  config: string,
  dir: string,
  env: Record<string, string>,
): Promise<{ status: number; type: string; body: unknown; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--check",
      `--config=${config}`,
      "--no-lock",
      "--unstable-no-legacy-abort",
      "--allow-net",
      "--allow-env",
      "main.ts",
    ],
    cwd: dir,
    env: { ...env, DENO_SERVE_ADDRESS: "tcp:127.0.0.1:0" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = { text: "" };
  const stderr = { text: "" };
  const listening = Promise.withResolvers<string>();
  const onText = (): void => {
    const match = /Listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(
      `${stdout.text}\n${stderr.text}`,
    );
    if (match !== null) listening.resolve(match[1]!);
  };
  const reading = Promise.all([
    collect(child.stdout, stdout, onText),
    collect(child.stderr, stderr, onText),
  ]);
  const exited = child.status.then((status) => {
    listening.reject(
      new Error(
        `The server exited with code ${status.code} before listening:\n${stderr.text}\n${stdout.text}`,
      ),
    );
    return status;
  });
  const timer = setTimeout(() => {
    listening.reject(
      new Error(`The server did not listen within ${BLOCK_TIMEOUT_MS} ms`),
    );
  }, BLOCK_TIMEOUT_MS);
  try {
    const origin = await listening.promise;
    const response = await fetch(`${origin}/`);
    const type = response.headers.get("content-type") ?? "";
    const text = await response.text();
    let body: unknown = text;
    if (type.startsWith("application/json")) body = JSON.parse(text);
    return { status: response.status, type, body, stderr: stderr.text };
  } finally {
    clearTimeout(timer);
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await exited;
    await reading;
  }
}

/**
 * Makes the `notes` table the README's handler counts, with two rows,
 * unless the database has one already; gives the count the handler should
 * answer and a function that drops the table if it was made here.
 */
async function prepareNotes(
  url: string,
): Promise<{ count: string; cleanUp(): Promise<void> }> {
  const client: PgClient = await pgCreator(url)();
  try {
    const { rows: [found] } = await client.query<{ name: string | null }>(
      "SELECT to_regclass('notes')::text AS name",
    );
    const created = found?.name === null;
    if (created) {
      await client.query(
        "CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)",
      );
      await client.query(
        "INSERT INTO notes (body) VALUES ('first'), ('second')",
      );
    }
    const { rows: [counted] } = await client.query<{ count: string }>(
      "SELECT count(*) FROM notes",
    );
    return {
      count: counted!.count,
      async cleanUp(): Promise<void> {
        if (!created) return;
        const admin = await pgCreator(url)();
        try {
          await admin.query("DROP TABLE notes");
        } finally {
          await admin.end();
        }
      },
    };
  } finally {
    await client.end();
  }
}

Deno.test("ignoredBlocks() finds the ts ignore blocks, with their section and line", () => {
  const markdown = [
    "# Title",
    "```ts",
    "run();",
    "```",
    "## Part",
    "````md",
    "```ts ignore",
    "inside();",
    "```",
    "````",
    "```ts ignore",
    "first();",
    "second();",
    "```",
  ].join("\n");
  assert.deepEqual(ignoredBlocks(markdown), [
    { section: "Part", line: 11, code: "first();\nsecond();\n" },
  ]);
});

Deno.test({
  name: "every ts ignore block of the README type-checks and runs as written",
  ...needs(PG_CLUSTER_NEEDS),
}, async (t) => {
  const blocks = ignoredBlocks(
    await Deno.readTextFile(new URL("README.md", ROOT)),
  );
  assert.equal(
    blocks.length,
    EXPECTED_BLOCKS,
    `README.md has ${blocks.length} ts ignore blocks, this test expects ${EXPECTED_BLOCKS}`,
  );
  const skipped = blocks.filter((block) => skipRule(block) !== null);
  assert.equal(skipped.length, EXPECTED_SKIPPED_BY_RULE);

  const unavailable = await pgClusterUnavailableReason();
  await using cluster = unavailable === null ? await startPgCluster() : null;
  const notes = cluster === null ? null : await prepareNotes(cluster.url);
  const dir = await Deno.makeTempDir({ prefix: "dbpool_readme_" });
  let ran = 0;
  try {
    const config = `${dir}/deno.json`;
    await Deno.writeTextFile(config, await blockConfig());
    const env: Record<string, string> = {
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
      ...(cluster === null ? {} : { DATABASE_URL: cluster.url }),
    };
    for (const [index, block] of blocks.entries()) {
      const name = `README.md:${block.line} (${block.section})`;
      const rule = skipRule(block);
      if (rule !== null) {
        await t.step({
          name: `${name}: skipped, ${rule}`,
          ignore: true,
          fn: () => {},
        });
        continue;
      }
      if (needsPostgres(block) && cluster === null) {
        await t.step({
          name: `${name}: skipped, ${unavailable}`,
          ignore: true,
          fn: () => {},
        });
        continue;
      }
      const passed = await t.step(name, async () => {
        const blockDir = `${dir}/block_${index + 1}`;
        await Deno.mkdir(blockDir);
        await Deno.writeTextFile(`${blockDir}/main.ts`, block.code);
        if (isServer(block)) {
          const answer = await serveBlock(config, blockDir, env);
          assert.equal(answer.status, 200, answer.stderr);
          assert.match(answer.type, /^application\/json/);
          // The handler answers with the row of `SELECT count(*) FROM notes`.
          assert.deepEqual(answer.body, { count: notes!.count });
          // The flag the README gives keeps Deno from warning about request.signal.
          assert.doesNotMatch(answer.stderr, /legacy behavior/);
        } else {
          const output = await runBlock(config, blockDir, env);
          assert.equal(
            output.code,
            0,
            `exit code ${output.code}\n${output.stderr}\n${output.stdout}`,
          );
        }
      });
      if (passed) ran++;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    await notes?.cleanUp();
  }
  const withoutPostgres = cluster === null
    ? blocks.filter((block) => skipRule(block) === null && needsPostgres(block))
      .length
    : 0;
  assert.equal(
    ran,
    EXPECTED_BLOCKS - EXPECTED_SKIPPED_BY_RULE - withoutPostgres,
  );
});
