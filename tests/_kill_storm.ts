/**
 * The kill storm: many tasks check out a postgres.js connection from a
 * small `QueuePool` (size 4, default overflow, pre-ping on), run `SELECT 1`
 * and return it, while another connection terminates every server session
 * of the pool every 15 ms. postgres.js 3.4 left alone ends the process
 * with unhandled rejections under this load; {@linkcode runKillStorm}
 * counts them instead (for its duration only) and reports what happened.
 *
 * `postgres_failures_test.ts` runs it once (`DBPOOL_KILL_STORM_RUNS=10`
 * runs it ten times). Run as a script it starts its own cluster and runs
 * the storm as many times as asked, printing one line per run, and exits
 * with code 1 if any run had an unhandled rejection or left a session:
 *
 * ```sh
 * deno run -A tests/_kill_storm.ts 10        # over the Unix socket
 * deno run -A tests/_kill_storm.ts 10 --tcp  # over TCP (SCRAM: slower reconnects)
 * ```
 *
 * @module
 */

import postgres from "npm:postgres@^3";
import { QueuePool } from "../src/queue_pool.ts";
import { POSTGRES_DIALECT, postgresCreator } from "../src/postgres.ts";
import { type PgCluster, startPgCluster } from "./_pg_cluster.ts";
import {
  countUnhandledRejections,
  describeReasons,
} from "./_unhandled_rejections.ts";

/** Options of {@linkcode runKillStorm}. */
export interface KillStormOptions {
  /** The server. */
  cluster: PgCluster;
  /** The `application_name` of the pool's sessions (what gets killed). */
  application: string;
  /**
   * Connect over TCP even when the cluster has a Unix socket. Over TCP each
   * new session authenticates with SCRAM, which makes the storm slower,
   * not different.
   *
   * @default {false}
   */
  tcp?: boolean;
  /** @default {200} */
  tasks?: number;
  /** Checkouts per task. @default {10} */
  rounds?: number;
  /** @default {4} */
  poolSize?: number;
  /** @default {10} (the pool's default) */
  maxOverflow?: number;
  /** Pause between two rounds of kills, in ms. @default {15} */
  intervalMs?: number;
}

/** What one storm did. */
export interface KillStormResult {
  /** Checkouts whose `SELECT 1` succeeded. */
  ok: number;
  /** Checkouts or queries that failed. */
  failed: number;
  /** Failures that were not disconnects (a lost slot, a bug): their messages. */
  unexpected: string[];
  /** Unhandled rejections during the storm. */
  unhandled: number;
  /** Their reasons, as text. */
  unhandledReasons: string;
  /** Sessions terminated by the killer. */
  kills: number;
  /** The pool's sessions left on the server once it was disposed of. */
  sessionsAfterDispose: number;
  /** Whether a checkout worked once the storm was over. */
  recovered: boolean;
  /** How long the tasks ran, in ms. */
  ms: number;
}

/** Runs one storm; see the module documentation. */
export async function runKillStorm(
  options: KillStormOptions,
): Promise<KillStormResult> {
  const {
    cluster,
    application,
    tcp = false,
    tasks = 200,
    rounds = 10,
    poolSize = 4,
    maxOverflow = 10,
    intervalMs = 15,
  } = options;
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const settings = {
    "connect_timeout": 30,
    connection: { "application_name": application },
    onnotice: () => {},
  };
  const creator = !tcp && cluster.socketDir !== null
    ? postgresCreator(undefined, {
      ...settings,
      path: `${cluster.socketDir}/.s.PGSQL.${cluster.port}`,
      user: cluster.user,
      database: cluster.database,
    })
    : postgresCreator(cluster.url, settings);
  const admin = postgres(cluster.url, { max: 1, onnotice: () => {} });
  using unhandled = countUnhandledRejections();
  let ok = 0;
  let failed = 0;
  let kills = 0;
  let recovered = false;
  const unexpected: string[] = [];
  let ms = 0;
  let sessionsAfterDispose = -1;
  try {
    const pool = new QueuePool(creator, {
      dialect: POSTGRES_DIALECT,
      poolSize,
      maxOverflow,
      prePing: true,
      logger: quiet,
    });
    try {
      let storming = true;
      const killer = (async () => {
        while (storming) {
          const rows = await admin`
            SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity
            WHERE application_name = ${application}
              AND pid <> pg_backend_pid()`;
          kills += rows.filter((row) => row.killed === true).length;
          await new Promise((resolve) => setTimeout(resolve, intervalMs));
        }
      })();
      const started = performance.now();
      try {
        await Promise.all(
          Array.from({ length: tasks }, async () => {
            for (let i = 0; i < rounds; i++) {
              try {
                await using conn = await pool.connect();
                await conn.driverConnection!`SELECT 1`;
                ok++;
              } catch (error) {
                failed++;
                if (!POSTGRES_DIALECT.isDisconnect(error, null)) {
                  unexpected.push(String(error));
                }
              }
            }
          }),
        );
      } finally {
        ms = performance.now() - started;
        storming = false;
        await killer;
      }
      {
        await using conn = await pool.connect();
        await conn.driverConnection!`SELECT 1`;
        recovered = true;
      }
    } finally {
      await pool.dispose();
    }
    const deadline = performance.now() + 10_000;
    for (;;) {
      const [row] = await admin`
        SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE application_name = ${application}`;
      sessionsAfterDispose = Number(row!.n);
      if (sessionsAfterDispose === 0 || performance.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await admin.end({ timeout: 5 });
    await unhandled.settle();
  }
  return {
    ok,
    failed,
    unexpected,
    unhandled: unhandled.count,
    unhandledReasons: describeReasons(unhandled.reasons.slice(0, 5)),
    kills,
    sessionsAfterDispose,
    recovered,
    ms: Math.round(ms),
  };
}

if (import.meta.main) {
  const runs = Number(Deno.args.find((arg) => /^\d+$/.test(arg)) ?? "10");
  const tcp = Deno.args.includes("--tcp");
  await using cluster = await startPgCluster();
  let bad = 0;
  for (let run = 1; run <= runs; run++) {
    const result = await runKillStorm({
      cluster,
      application: `kill_storm_${run}`,
      tcp,
    });
    const { unhandledReasons: _, ...shown } = result;
    // deno-lint-ignore no-console -- the script's report
    console.log(`run ${run}/${runs}${tcp ? " (tcp)" : ""}:`, shown);
    if (
      result.unhandled > 0 || result.sessionsAfterDispose !== 0 ||
      result.unexpected.length > 0 || !result.recovered
    ) {
      bad++;
      // deno-lint-ignore no-console -- the script's report
      console.log(result.unhandledReasons);
    }
  }
  if (bad > 0) Deno.exitCode = 1;
}
