import assert from "node:assert/strict";
import { needs } from "./_test_permissions.ts";

/** Most lines a non-test source file in `src/` may have. */
const MAX_LINES = 500;

/**
 * A static `import`/`export … from "./x.ts"` (type-only ones included), or a
 * bare `import "./x.ts"`, at the start of a line: never one inside a doc
 * comment's example, whose lines start with `*`. Dynamic `import()` is not
 * a load-time dependency and is not counted.
 */
const STATIC_IMPORT =
  /^(?:import|export)\s+[\w$*{}\s,]+?\s+from\s*["']\.\/([^"']+)["']|^import\s*["']\.\/([^"']+)["']/gm;

const dir = new URL(".", import.meta.url);

function isTest(name: string): boolean {
  return name.endsWith("_test.ts") || name.startsWith("_test_");
}

async function sources(): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  for await (const item of Deno.readDir(dir)) {
    if (item.isFile && item.name.endsWith(".ts")) {
      texts.set(item.name, await Deno.readTextFile(new URL(item.name, dir)));
    }
  }
  return texts;
}

/** The `src/` files each file imports statically. */
function importGraph(texts: Map<string, string>): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const [name, text] of texts) {
    const targets: string[] = [];
    for (const match of text.matchAll(STATIC_IMPORT)) {
      const target = match[1] ?? match[2]!;
      if (texts.has(target)) targets.push(target);
    }
    graph.set(name, targets);
  }
  return graph;
}

/** Every import cycle, each as the path that closes it (`a.ts → b.ts → a.ts`). */
function cycles(graph: Map<string, string[]>): string[] {
  const found: string[] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (name: string): void => {
    state.set(name, "open");
    path.push(name);
    for (const next of graph.get(name) ?? []) {
      const seen = state.get(next);
      if (seen === "open") {
        found.push([...path.slice(path.indexOf(next)), next].join(" → "));
      } else if (seen === undefined) {
        visit(next);
      }
    }
    path.pop();
    state.set(name, "done");
  };
  for (const name of [...graph.keys()].sort()) {
    if (!state.has(name)) visit(name);
  }
  return found;
}

Deno.test(
  "src/ has no import cycle, type-only imports included",
  needs({ read: true }),
  async () => {
    const graph = importGraph(await sources());
    assert.ok(graph.size > 10, "the src/ files were not found");
    assert.ok(
      (graph.get("pool.ts") ?? []).length > 0,
      "the import parser found nothing in pool.ts",
    );
    assert.deepEqual(cycles(graph), []);
  },
);

Deno.test("the import cycle check finds a cycle through a type-only import", () => {
  const texts = new Map([
    ["a.ts", 'import { b } from "./b.ts";\n'],
    ["b.ts", 'import type {\n  C,\n} from "./c.ts";\n'],
    [
      "c.ts",
      'export { a } from "./a.ts";\n/**\n * import { x } from "./d.ts";\n */\n',
    ],
    ["d.ts", 'import "./a.ts";\n'],
  ]);
  assert.deepEqual(cycles(importGraph(texts)), ["a.ts → b.ts → c.ts → a.ts"]);
});

Deno.test(
  `src/ source files stay under ${MAX_LINES} lines`,
  needs({ read: true }),
  async () => {
    const over: string[] = [];
    for (const [name, text] of await sources()) {
      if (isTest(name)) continue;
      const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
      if (lines > MAX_LINES) over.push(`${name}: ${lines} lines`);
    }
    assert.deepEqual(over, []);
  },
);
