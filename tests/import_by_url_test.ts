/**
 * The entry points imported by URL, as a project without this repository's
 * `deno.json` imports them: no import map, so every specifier in the
 * library must be complete (`npm:pg@^8`, not `pg`). The repository is served
 * over loopback HTTP, and a fresh directory with no configuration type-checks
 * and runs a script that imports every entry point by `http://` URL.
 */

import assert from "node:assert/strict";
import { needs } from "../src/_test_permissions.ts";
import {
  canStartPgCluster,
  PG_CLUSTER_NEEDS,
  startPgCluster,
} from "./_pg_cluster.ts";

const ROOT = new URL("../", import.meta.url);

/** The published entry points, from `deno.json`'s `exports`. */
async function entryPoints(): Promise<string[]> {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("deno.json", ROOT)),
  ) as { exports: Record<string, string> };
  return Object.values(config.exports).map((path) => path.replace(/^\.\//, ""));
}

/** Serves the repository's `.ts` files on 127.0.0.1; records the paths asked for. */
function serveRepository(): AsyncDisposable & {
  origin: string;
  requested: Set<string>;
} {
  const requested = new Set<string>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const path = decodeURIComponent(new URL(request.url).pathname);
      if (!/^\/[\w/.-]+\.ts$/.test(path) || path.includes("..")) {
        return new Response("Not found", { status: 404 });
      }
      try {
        const body = await Deno.readFile(new URL(`.${path}`, ROOT));
        requested.add(path.slice(1));
        return new Response(body, {
          headers: { "content-type": "application/typescript; charset=utf-8" },
        });
      } catch {
        return new Response("Not found", { status: 404 });
      }
    },
  );
  return {
    origin: `http://127.0.0.1:${server.addr.port}`,
    requested,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/**
 * A `DENO_DIR` of its own, so the modules fetched from the loopback server
 * are thrown away afterwards, sharing the default cache's npm packages
 * (already there: the other tests import the same drivers), so nothing is
 * downloaded from the registry.
 */
async function scratchDenoDir(
  parent: string,
): Promise<string | undefined> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!output.success) return undefined;
  const { denoDir } = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    denoDir?: string;
  };
  if (denoDir === undefined) return undefined;
  const dir = `${parent}/deno_dir`;
  await Deno.mkdir(dir);
  try {
    await Deno.symlink(`${denoDir}/npm`, `${dir}/npm`);
  } catch {
    return undefined; // no npm cache to share: use the default DENO_DIR
  }
  return dir;
}

/** The consumer's script: every entry point by URL, one checkout on each driver. */
function consumerScript(origin: string): string {
  return `
import { QueuePool } from "${origin}/mod.ts";
import { SQLITE_DIALECT, sqliteCreator } from "${origin}/src/sqlite.ts";
import { PG_DIALECT, pgCreator } from "${origin}/src/pg.ts";
import { POSTGRES_DIALECT, postgresCreator } from "${origin}/src/postgres.ts";
import { SingletonContextPool } from "${origin}/src/singleton_context_pool.ts";
import { createPoolFromUrl } from "${origin}/src/url.ts";
import { instrumentPool } from "${origin}/src/otel.ts";

const results: Record<string, unknown> = {};
{
  await using pool = new QueuePool(sqliteCreator(":memory:"), {
    dialect: SQLITE_DIALECT,
    poolSize: 1,
  });
  await using conn = await pool.connect();
  results.sqlite = conn.driverConnection!.prepare("SELECT 1 AS one").get()?.one;
}
{
  await using pool = new SingletonContextPool(sqliteCreator(":memory:"), {
    dialect: SQLITE_DIALECT,
  });
  await using conn = await pool.connect();
  results.singleton = conn.driverConnection!.prepare("SELECT 2 AS two").get()?.two;
}
{
  await using pool = await createPoolFromUrl("sqlite::memory:");
  await using conn = await pool.connect();
  results.sqliteUrl = conn.driverConnection!.prepare("SELECT 3 AS three").get()?.three;
}
{
  await using pool = new QueuePool(sqliteCreator(":memory:"), {
    dialect: SQLITE_DIALECT,
    poolSize: 1,
  });
  using _metrics = instrumentPool(pool); // the global meter: a no-op here
  await (await pool.connect()).close();
  results.otel = pool.stats().checkouts;
}
const url = Deno.env.get("DBPOOL_TEST_PG_URL");
if (url) {
  {
    await using pool = new QueuePool(pgCreator(url), { dialect: PG_DIALECT, poolSize: 1 });
    await using conn = await pool.connect();
    results.pg = (await conn.driverConnection!.query("SELECT 4 AS four")).rows[0].four;
  }
  {
    await using pool = new QueuePool(postgresCreator(url, { onnotice() {} }), {
      dialect: POSTGRES_DIALECT,
      poolSize: 1,
    });
    await using conn = await pool.connect();
    const [row] = await conn.driverConnection!\`SELECT 5 AS five\`;
    results.postgres = row!.five;
  }
  {
    await using pool = await createPoolFromUrl(url as \`postgres://\${string}\`);
    await using conn = await pool.connect();
    results.pgUrl = (await conn.driverConnection!.query("SELECT 6 AS six")).rows[0].six;
  }
  {
    const href = \`\${url}?driver=postgres\` as \`postgres://\${string}driver=postgres\`;
    await using pool = await createPoolFromUrl(href, { postgres: { onnotice() {} } });
    await using conn = await pool.connect();
    const [row] = await conn.driverConnection!\`SELECT 7 AS seven\`;
    results.postgresUrl = row!.seven;
  }
}
console.log(JSON.stringify(results));
`;
}

/** Runs `deno <args>` in `cwd`; returns its exit code and output. */
async function deno(
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test({
  name:
    "every entry point works imported by URL, without this repository's import map",
  ...needs(PG_CLUSTER_NEEDS),
}, async () => {
  const pgAvailable = await canStartPgCluster();
  await using cluster = pgAvailable ? await startPgCluster() : null;
  await using server = serveRepository();
  const dir = await Deno.makeTempDir({ prefix: "dbpool_by_url_" });
  try {
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      consumerScript(server.origin),
    );
    const denoDir = await scratchDenoDir(dir);
    const env: Record<string, string> = {
      ...(denoDir === undefined ? {} : { DENO_DIR: denoDir }),
      ...(cluster === null ? {} : { DBPOOL_TEST_PG_URL: cluster.url }),
    };
    // No deno.json, no lock file: only what the library's specifiers say.
    const common = [
      "--no-config",
      "--no-lock",
      `--allow-import=${new URL(server.origin).host}`,
    ];

    // Type-checking resolves the `@ts-types` specifiers too.
    const checked = await deno(["check", ...common, "main.ts"], dir, env);
    assert.equal(checked.code, 0, `deno check failed:\n${checked.stderr}`);

    const ran = await deno(
      [
        "run",
        ...common,
        "--allow-env",
        "--allow-read",
        "--allow-sys",
        "--allow-net=127.0.0.1",
        "main.ts",
      ],
      dir,
      env,
    );
    assert.equal(ran.code, 0, `deno run failed:\n${ran.stderr}`);
    assert.doesNotMatch(ran.stderr, /registry\.npmjs\.org/); // nothing downloaded
    const results = JSON.parse(ran.stdout.trim().split("\n").at(-1)!);
    assert.deepEqual(results, {
      sqlite: 1,
      singleton: 2,
      sqliteUrl: 3,
      otel: 1,
      ...(cluster === null ? {} : {
        pg: 4,
        postgres: 5,
        pgUrl: 6,
        postgresUrl: 7,
      }),
    });
    for (const path of await entryPoints()) {
      assert.ok(server.requested.has(path), `${path} was served`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
