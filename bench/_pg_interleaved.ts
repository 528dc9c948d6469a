/**
 * The PostgreSQL comparison of `postgres_bench.ts`, interleaved: round after
 * round, each contender runs the same workload in turn (the starting
 * contender rotates), so that load from other processes and drift over time
 * hit all three alike. `deno bench` runs each bench to the end before the
 * next, which on a small shared machine can move a ratio by ±30% between
 * runs; this script is the cross-check.
 *
 * Reports per contender and level: the median wall time of a round of
 * `QUERIES` queries, queries/s (from the median, and from the total), our
 * pool's throughput divided by the contender's (from the medians), the
 * client's CPU time per query (this process, `process.cpuUsage()`), and, for
 * a throwaway cluster, the server's CPU time per query (the pool's backends,
 * from `/proc/<pid>/stat`; 10 ms ticks, so summed over all rounds).
 *
 * Run: `deno run --lock=bench/deno.lock --allow-all bench/_pg_interleaved.ts [rounds]`
 * (default 20).
 *
 * @module
 */

import process from "node:process";
// @ts-types="npm:@types/pg@^8"
import pg from "npm:pg@^8";
import {
  pgClusterUnavailableReason,
  startPgCluster,
} from "../tests/_pg_cluster.ts";
import {
  APP_NAMES,
  type ContenderName,
  createContenders,
  DISPLAY_NAMES,
  drive,
  warmAll,
  whyUnavailable,
} from "./_pg_bench_setup.ts";

const CONNECTIONS = 8;
const QUERIES = 2_000;
const LEVELS: readonly number[] = [CONNECTIONS, 4 * CONNECTIONS];
const ORDER: readonly ContenderName[] = ["ours", "pgPool", "postgresJs"];
const ROUNDS = Number(Deno.args[0] ?? 20);
/** Linux clock ticks per second (`getconf CLK_TCK`). */
const CLOCK_TICKS = 100;

interface Sample {
  wallMs: number[];
  clientUs: number;
  serverUs: number;
}

/** CPU time (user + system, µs) of the backends `pids`, or NaN. */
function backendCpuUs(pids: readonly number[]): number {
  let ticks = 0;
  try {
    for (const pid of pids) {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    }
  } catch {
    return NaN;
  }
  return ticks / CLOCK_TICKS * 1e6;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

const started = await whyUnavailable(
  pgClusterUnavailableReason,
  () => startPgCluster(),
);
if (typeof started === "string") {
  // deno-lint-ignore no-console
  console.warn(`_pg_interleaved: skipped: ${started}`);
} else {
  await using cluster = started.cluster;
  const contenders = createContenders(cluster.url, CONNECTIONS);
  try {
    const description = await warmAll(cluster, contenders, CONNECTIONS);
    const pids: Record<ContenderName, number[]> = {
      ours: [],
      pgPool: [],
      postgresJs: [],
    };
    if (!cluster.external) {
      const admin = new pg.Client({ connectionString: cluster.url });
      admin.on("error", () => {});
      await admin.connect();
      try {
        for (const name of ORDER) {
          const { rows } = await admin.query<{ pid: number }>(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
            [APP_NAMES[name]],
          );
          pids[name] = rows.map((row) => row.pid);
        }
      } finally {
        await admin.end();
      }
    }
    // deno-lint-ignore no-console
    console.log(
      `${description}; ${QUERIES} queries per round, ${ROUNDS} rounds`,
    );
    for (const workers of LEVELS) {
      const samples = {} as Record<ContenderName, Sample>;
      for (const name of ORDER) {
        samples[name] = { wallMs: [], clientUs: 0, serverUs: 0 };
      }
      for (let round = 0; round < ROUNDS; round++) {
        for (let i = 0; i < ORDER.length; i++) {
          const name = ORDER[(round + i) % ORDER.length]!;
          const sample = samples[name];
          const server0 = backendCpuUs(pids[name]);
          const client0 = process.cpuUsage();
          const t0 = performance.now();
          await drive(workers, QUERIES, contenders.queries[name]);
          const wall = performance.now() - t0;
          const client = process.cpuUsage(client0);
          sample.wallMs.push(wall);
          sample.clientUs += client.user + client.system;
          sample.serverUs += backendCpuUs(pids[name]) - server0;
        }
      }
      const total = ROUNDS * QUERIES;
      const oursMedian = median(samples.ours.wallMs);
      // deno-lint-ignore no-console
      console.log(
        `\n${workers / CONNECTIONS}:1 (${workers} workers)\n` +
          "| contender | median ms/round | q/s (median) | q/s (total) | ours ÷ this (q/s) | client CPU µs/q | server CPU µs/q |\n" +
          "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n" +
          ORDER.map((name) => {
            const sample = samples[name];
            const med = median(sample.wallMs);
            const sum = sample.wallMs.reduce((a, b) => a + b, 0);
            return `| ${DISPLAY_NAMES[name]} | ${med.toFixed(1)} | ${
              (QUERIES / med * 1000).toFixed(0)
            } | ${(total / sum * 1000).toFixed(0)} | ${
              (med / oursMedian).toFixed(2)
            } | ${(sample.clientUs / total).toFixed(1)} | ${
              Number.isNaN(sample.serverUs)
                ? "n/a"
                : (sample.serverUs / total).toFixed(1)
            } |`;
          }).join("\n"),
      );
    }
  } finally {
    await contenders.end();
  }
}
