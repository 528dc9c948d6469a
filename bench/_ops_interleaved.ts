/**
 * The cost of the operations options on the checkout path, interleaved:
 * `QueuePool` with its defaults against the same pool with
 * `idleTimeoutMs`, with `leakDetectionMs`, with both (the `stats()`
 * counts are always kept), and instrumented by `instrumentPool()` through
 * an OpenTelemetry SDK meter, alone and with both options. Round after round each contender runs the same
 * batch in turn, the starting contender rotating, so that load from other
 * processes and drift over time hit all of them alike; medians are
 * compared, never fixed times.
 *
 * Workload: that of `checkout_bench.ts`, on stub connections: 16
 * connections (`maxOverflow: 0`), W workers looping
 * `connect()` → one microtask (`await null`) → `await close()`, sharing
 * {@linkcode CYCLES} cycles per round; W = 64 (4:1, the reference: most
 * checkouts wait, and most returns go straight to a waiter) and W = 16
 * (1:1: no checkout waits, every return goes idle). Both thresholds are 60 s, so no
 * timer ever fires during a round: what is measured is the bookkeeping
 * every checkout and return pays.
 *
 * Reports per contender the median ms per round, ns per cycle, and the
 * ratio to the default pool's median; then the median of the per-round
 * ratios (each round's time over the default pool's in the same round),
 * which drift between rounds does not move.
 *
 * Run: `deno run --lock=bench/deno.lock bench/_ops_interleaved.ts [rounds]`
 * (default 21).
 *
 * @module
 */

import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "npm:@opentelemetry/sdk-metrics@^2";
import { QueuePool, type QueuePoolOptions } from "../mod.ts";
import { instrumentPool } from "../src/otel.ts";

/** Connections per pool. */
const POOL_SIZE = 16;
/** Concurrent workers, one table each. */
const WORKER_COUNTS: readonly number[] = [64, 16];
/** Checkout/return cycles per round, split evenly across the workers. */
const CYCLES = 16_384;
/** Rounds measured (after one unmeasured warm-up round). */
const ROUNDS = Number(Deno.args[0] ?? 21);

type Stub = Record<string, never>;

function stub(): Stub {
  return {};
}

/** The contenders: a name and the options beyond the shared ones. */
const CONTENDERS: readonly {
  readonly name: string;
  readonly options: QueuePoolOptions<Stub>;
  /** Instrumented through an OpenTelemetry SDK meter. */
  readonly otel?: boolean;
}[] = [
  { name: "default", options: {} },
  { name: "idleTimeoutMs 60000", options: { idleTimeoutMs: 60_000 } },
  { name: "leakDetectionMs 60000", options: { leakDetectionMs: 60_000 } },
  {
    name: "both",
    options: { idleTimeoutMs: 60_000, leakDetectionMs: 60_000 },
  },
  { name: "OpenTelemetry (SDK meter)", options: {}, otel: true },
  {
    name: "both + OpenTelemetry",
    options: { idleTimeoutMs: 60_000, leakDetectionMs: 60_000 },
    otel: true,
  },
];

/** An SDK meter provider that aggregates and does not export during a run. */
const meterProvider = new MeterProvider({
  readers: [
    new PeriodicExportingMetricReader({
      exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
      exportIntervalMillis: 3_600_000,
    }),
  ],
});

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/** One batch of `CYCLES` cycles on `pool`, across `workers` workers. */
async function batch(pool: QueuePool<Stub>, workers: number): Promise<void> {
  const cycles = CYCLES / workers;
  const worker = async (): Promise<void> => {
    for (let i = 0; i < cycles; i++) {
      const conn = await pool.connect();
      await null;
      await conn.close();
    }
  };
  const running: Promise<void>[] = new Array(workers);
  for (let i = 0; i < workers; i++) running[i] = worker();
  await Promise.all(running);
}

const pools = CONTENDERS.map(({ options, otel }) => {
  const pool = new QueuePool(stub, {
    ...options,
    poolSize: POOL_SIZE,
    maxOverflow: 0,
  });
  if (otel === true) {
    instrumentPool(pool, { meter: meterProvider.getMeter("bench") });
  }
  return pool;
});
try {
  for (const workers of WORKER_COUNTS) {
    for (const pool of pools) await batch(pool, workers);
    for (const pool of pools) {
      if (pool.checkedIn() !== POOL_SIZE) {
        throw new Error(`Warm-up left ${pool.checkedIn()} idle connections`);
      }
    }
    const times: number[][] = CONTENDERS.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < pools.length; i++) {
        const which = (round + i) % pools.length;
        const t0 = performance.now();
        await batch(pools[which]!, workers);
        times[which]!.push(performance.now() - t0);
      }
    }
    const base = times[0]!;
    const baseMedian = median(base);
    // deno-lint-ignore no-console
    console.log(
      `\nQueuePool, ${workers} workers on ${POOL_SIZE} connections, ${CYCLES} cycles per round, ${ROUNDS} rounds interleaved\n` +
        "| contender | median ms/round | ns/cycle | ÷ default (medians) | ÷ default (median of per-round ratios) |\n" +
        "| --- | ---: | ---: | ---: | ---: |\n" +
        CONTENDERS.map(({ name }, i) => {
          const own = times[i]!;
          const med = median(own);
          const perRound = median(own.map((t, round) => t / base[round]!));
          return `| ${name} | ${med.toFixed(2)} | ${
            (med / CYCLES * 1e6).toFixed(0)
          } | ${(med / baseMedian).toFixed(3)} | ${perRound.toFixed(3)} |`;
        }).join("\n"),
    );
  }
} finally {
  for (const pool of pools) await pool.dispose();
  await meterProvider.shutdown();
}
