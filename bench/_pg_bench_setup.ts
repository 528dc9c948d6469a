/**
 * Shared setup of `postgres_bench.ts` and `_pg_interleaved.ts`: deciding
 * whether a server is available, the three contenders (our
 * `AsyncAdaptedQueuePool` over the pg adapter, `pg.Pool`, postgres.js), the
 * worker loop, warming, counting backends, and a synchronous cluster stop
 * for exit handlers. Internal to `bench/`.
 *
 * @module
 */

// @ts-types="npm:@types/pg@^8"
import pg from "npm:pg@^8";
import postgres from "npm:postgres@^3";
import { QueuePool } from "../mod.ts";
import { PG_DIALECT, pgCreator } from "../src/pg.ts";
import type { PgCluster } from "../tests/_pg_cluster.ts";

/** Application names, to find each pool's backends in `pg_stat_activity`. */
export const APP_NAMES = {
  ours: "dbpool_bench_ours",
  pgPool: "dbpool_bench_pg_pool",
  postgresJs: "dbpool_bench_postgres_js",
} as const;

/** The contenders' keys, in report order. */
export type ContenderName = keyof typeof APP_NAMES;

/** Display names of the contenders. */
export const DISPLAY_NAMES: Readonly<Record<ContenderName, string>> = {
  ours: "AsyncAdaptedQueuePool (pg adapter)",
  pgPool: "pg.Pool",
  postgresJs: "postgres.js",
};

/** The three pools: one "checkout + `SELECT 1` + return" each, and `end`. */
export interface Contenders {
  /** One checkout + `SELECT 1` + return per pool. */
  readonly queries: Readonly<Record<ContenderName, () => Promise<void>>>;
  /** Ends the three pools (their connections close). */
  end(): Promise<void>;
}

/**
 * Builds the three pools on `url`, `connections` connections each, with
 * their defaults otherwise:
 *
 * - ours: `new QueuePool(pgCreator({ connectionString }), { dialect:
 *   PG_DIALECT, poolSize, maxOverflow: 0 })`; reset on return is the default
 *   `"rollback"`, which the adapter's `inTransaction` skips on an idle
 *   connection;
 * - `new pg.Pool({ connectionString, max })`: `connect()` → `query()` →
 *   `release()`;
 * - `postgres(url, { max })`: `` await sql`SELECT 1` ``.
 *
 * Each also gets an `application_name` (see {@linkcode APP_NAMES}).
 *
 * @param url The server's URL.
 * @param connections The connection count of every pool.
 * @returns The contenders; nothing is connected yet.
 */
export function createContenders(
  url: string,
  connections: number,
): Contenders {
  const ours = new QueuePool(
    pgCreator({ connectionString: url, application_name: APP_NAMES.ours }),
    { dialect: PG_DIALECT, poolSize: connections, maxOverflow: 0 },
  );
  const pgPool = new pg.Pool({
    connectionString: url,
    max: connections,
    application_name: APP_NAMES.pgPool,
  });
  pgPool.on("error", () => {}); // an idle client's failure must not crash
  const sql = postgres(url, {
    max: connections,
    onnotice: () => {},
    connection: { application_name: APP_NAMES.postgresJs },
  });
  return {
    queries: {
      async ours(): Promise<void> {
        const conn = await ours.connect();
        try {
          await conn.driverConnection!.query("SELECT 1");
        } finally {
          await conn.close();
        }
      },
      async pgPool(): Promise<void> {
        const client = await pgPool.connect();
        try {
          await client.query("SELECT 1");
        } finally {
          client.release();
        }
      },
      async postgresJs(): Promise<void> {
        await sql`SELECT 1`;
      },
    },
    async end(): Promise<void> {
      await Promise.allSettled([
        ours.dispose(),
        pgPool.end(),
        sql.end({ timeout: 5 }),
      ]);
    },
  };
}

/**
 * Runs `workers` concurrent loops of `query` until `queries` of them have
 * completed in all (a shared countdown, so the total is exact for any
 * worker count).
 *
 * @param workers The number of concurrent workers.
 * @param queries The total number of queries.
 * @param query One checkout + `SELECT 1` + return.
 */
export async function drive(
  workers: number,
  queries: number,
  query: () => Promise<unknown>,
): Promise<void> {
  let remaining = queries;
  const worker = async (): Promise<void> => {
    while (remaining > 0) {
      remaining--;
      await query();
    }
  };
  const running: Promise<void>[] = new Array(workers);
  for (let i = 0; i < workers; i++) running[i] = worker();
  await Promise.all(running);
}

/**
 * Starts the server, or says why it cannot: a missing permission, the
 * reason from `pgClusterUnavailableReason()`, or the start error's first
 * line.
 *
 * @returns `{ cluster }` when a server runs, else a sentence for the skip
 * message.
 */
export async function whyUnavailable(
  unavailableReason: () => Promise<string | null>,
  start: () => Promise<PgCluster>,
): Promise<string | { cluster: PgCluster }> {
  try {
    const missing = missingPermissions();
    if (missing !== null) return missing;
    const reason = await unavailableReason();
    if (reason !== null) return reason;
    return { cluster: await start() };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return message.split("\n")[0] ?? "PostgreSQL did not start";
  }
}

/**
 * The permissions a throwaway cluster needs beyond `--allow-net`
 * (`--allow-run` for initdb/pg_ctl, `--allow-write` for its temporary
 * directory, `--allow-env`, `--allow-read`, `--allow-sys`), as a sentence, or
 * `null` when they are granted or `DATABASE_URL` is set (then only
 * `--allow-net` and `--allow-env` are needed).
 */
function missingPermissions(): string | null {
  const granted = (descriptor: Deno.PermissionDescriptor): boolean =>
    Deno.permissions.querySync(descriptor).state === "granted";
  if (!granted({ name: "env" })) {
    return "--allow-env is needed (to read DATABASE_URL and PG_BINDIR)";
  }
  if (Deno.env.get("DATABASE_URL")) return null;
  const missing = (["run", "write", "read", "sys"] as const).filter((name) =>
    !granted({ name })
  );
  if (missing.length === 0) return null;
  return `starting a throwaway PostgreSQL cluster needs ${
    missing.map((name) => `--allow-${name}`).join(" ")
  } (or set DATABASE_URL); run: deno bench --lock=bench/deno.lock --allow-all bench/postgres_bench.ts`;
}

/**
 * Runs `connections` overlapping checkouts, three times, so that a pool
 * which creates its connections on demand opens all of them (the caller
 * checks the count in `pg_stat_activity`).
 *
 * @param connections The pool's size.
 * @param query One checkout + `SELECT 1` + return.
 */
export async function warmPool(
  connections: number,
  query: () => Promise<unknown>,
): Promise<void> {
  for (let round = 0; round < 3; round++) {
    const running: Promise<unknown>[] = [];
    for (let i = 0; i < connections; i++) running.push(query());
    await Promise.all(running);
  }
}

/**
 * The number of backends per application name.
 *
 * @param admin A connected client that is not part of any pool.
 * @param names The application names to count.
 * @returns A count per name (0 when none).
 */
export async function countConnections(
  admin: pg.Client,
  names: readonly string[],
): Promise<Record<string, number>> {
  const { rows } = await admin.query<{ app: string; n: number }>(
    `SELECT application_name AS app, count(*)::int AS n
       FROM pg_stat_activity
      WHERE application_name = ANY($1)
      GROUP BY application_name`,
    [names],
  );
  const counts: Record<string, number> = {};
  for (const name of names) counts[name] = 0;
  for (const row of rows) counts[row.app] = row.n;
  return counts;
}

/**
 * Stops a throwaway cluster synchronously and deletes its directory, for
 * `unload` and signal handlers, which cannot await: `pg_ctl stop -m fast -w`
 * (found next to the running `postgres` binary, run as the data
 * directory's owner through `runuser` when this process is root), or a
 * `SIGQUIT` to the postmaster if that fails. Idempotent; does nothing for a
 * `DATABASE_URL` server or a cluster that is already gone.
 *
 * @param cluster The cluster from `startPgCluster()`.
 */
export function stopClusterSync(cluster: PgCluster): void {
  if (cluster.external || cluster.dataDir === null) return;
  const dataDir = cluster.dataDir;
  let pid: number | null = null;
  try {
    const first = Deno.readTextFileSync(`${dataDir}/postmaster.pid`)
      .split("\n")[0];
    const parsed = Number(first);
    if (Number.isInteger(parsed) && parsed > 0) pid = parsed;
  } catch {
    // not running (or already stopped)
  }
  if (pid !== null) {
    let stopped = false;
    try {
      const binary = Deno.readLinkSync(`/proc/${pid}/exe`);
      const pgCtl = `${binary.slice(0, binary.lastIndexOf("/"))}/pg_ctl`;
      const args = [pgCtl, "-D", dataDir, "-m", "fast", "-w", "-t", "30"];
      const owner = Deno.statSync(dataDir).uid;
      const [command, argv] = Deno.uid() === 0 && owner !== 0
        ? ["runuser", ["-u", ownerName(owner), "--", ...args, "stop"]]
        : [pgCtl, [...args.slice(1), "stop"]];
      stopped = new Deno.Command(command, {
        args: argv,
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).outputSync().success;
    } catch {
      // fall back to a signal
    }
    if (!stopped) {
      try {
        Deno.kill(pid, "SIGQUIT");
      } catch {
        // already gone
      }
    }
  }
  if (cluster.socketDir !== null) {
    try {
      Deno.removeSync(cluster.socketDir, { recursive: true });
    } catch {
      // already removed
    }
  }
}

/** The name of the OS user `uid` (from `/etc/passwd`), else `postgres`. */
function ownerName(uid: number | null): string {
  try {
    for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
      const [name, , id] = line.split(":");
      if (name && Number(id) === uid) return name;
    }
  } catch {
    // no /etc/passwd
  }
  return "postgres";
}

/**
 * Warms every contender until it has all its connections open, and
 * describes the setup in one line (server version, open backends per pool).
 *
 * @param cluster The server.
 * @param contenders The pools.
 * @param connections The connection count of every pool.
 * @returns A line such as `PostgreSQL 15.8 (throwaway cluster); 8
 * connections per pool, open: ours 8, pg.Pool 8, postgres.js 8`.
 */
export async function warmAll(
  cluster: PgCluster,
  contenders: Contenders,
  connections: number,
): Promise<string> {
  const names = Object.keys(APP_NAMES) as ContenderName[];
  for (const name of names) {
    await warmPool(connections, contenders.queries[name]);
  }
  const admin = new pg.Client({ connectionString: cluster.url });
  admin.on("error", () => {});
  await admin.connect();
  try {
    const open = await countConnections(
      admin,
      names.map((name) => APP_NAMES[name]),
    );
    const version = (await admin.query<{ v: string }>(
      "SELECT current_setting('server_version') AS v",
    )).rows[0]!.v;
    const counts = names.map((name) =>
      `${name === "ours" ? "ours" : DISPLAY_NAMES[name]} ${
        open[APP_NAMES[name]]
      }`
    ).join(", ");
    return `PostgreSQL ${version} (${
      cluster.external ? "DATABASE_URL" : "throwaway cluster"
    }); ${connections} connections per pool, open: ${counts}`;
  } finally {
    await admin.end();
  }
}
