// deno-lint-ignore-file no-console -- a benchmark script: printing its results is its job.
/**
 * Checkout latency under contention (`deno task bench:latency`): for each
 * pool of the checkout benchmark, at 16, 64 and 1024 workers on 16
 * connections, the latency of every checkout (from the `connect()` or
 * `acquire()` call to its resolution) as p50, p99 and p99.9, beside the
 * throughput, all in one run. Writes `latency.json` and draws it as
 * `latency.svg` (two panels: throughput, p99) next to this file.
 *
 * The workload is the checkout benchmark's (`checkout_bench.ts`): stub
 * resources, W workers each looping acquire → one microtask (`await null`)
 * → release, {@linkcode DEFAULT_CYCLES} cycles per run split evenly across
 * the workers.
 *
 * Measuring: each timed worker reads `performance.now()` before the call
 * and after the resolution and stores the difference in a `Float64Array`
 * allocated once, before the runs; nothing else is added to the loop. A
 * `performance.now()` costs about 100 ns in Deno on a 2-vCPU Xeon (an op
 * call; measured and recorded at the start), two per cycle, which is a large part
 * of the fastest pools' cycle, so throughput comes from untimed runs of the
 * same loop, interleaved with the timed ones; the timed runs' throughput is
 * recorded too. Every round runs each pool at each worker count, timed and
 * untimed (which goes first alternates), starting with a different pool
 * each round. Each pair of runs follows an unrecorded run of a quarter of
 * the cycles with the same pool and workers, so that it starts in that
 * pool's steady state (its code optimized, its own garbage in the heap).
 * No GC is forced: after a full `gc()`, `AsyncAdaptedQueuePool` ran 2–4×
 * slower for some 50,000 cycles (the bare pool did not), which would have
 * measured the recovery, not the pool. The reported figures are medians
 * over the rounds; `latency.json` holds every round.
 *
 * Run: `deno task bench:latency` (`-- --rounds 15 --cycles 65536`), or
 * `deno task bench:latency -- --render` to redraw `latency.svg` from
 * `latency.json`.
 *
 * @module
 */

import os from "node:os";
import { parseArgs } from "node:util";
import { createPool as createGenericPool } from "npm:generic-pool@^3.9.0";
import { Pool as TarnPool } from "npm:tarn@^3.0.2";
import { QueuePool } from "../mod.ts";
import { BarePool } from "./_bare_pool.ts";
import { stubPgPool } from "./_stub_pg_pool.ts";
import {
  type Cell,
  formatCount,
  formatMicroseconds,
  type LatencyResult,
  type Machine,
  renderLatencyChart,
  type Stats,
} from "./_latency_chart.ts";

/** Resources per pool. */
const POOL_SIZE = 16;
/** Concurrent workers. */
const WORKER_COUNTS: readonly number[] = [16, 64, 1024];
/** Cycles per run, split across the workers. */
const DEFAULT_CYCLES = 65_536;
/** Measured rounds. */
const DEFAULT_ROUNDS = 15;
/** Rounds run first and thrown away (JIT warm-up). */
const WARMUP_ROUNDS = 1;
/** Acquire timeout for the pools that have one (tarn's and QueuePool's default). */
const TIMEOUT_MS = 30_000;

const JSON_FILE = new URL("./latency.json", import.meta.url);
const SVG_FILE = new URL("./latency.svg", import.meta.url);

type Stub = Record<string, never>;

function stub(): Stub {
  return {};
}

// --- the samples of the current timed run ------------------------------------

/** Latencies of the current timed run, in ms; allocated once, reused. */
let samples = new Float64Array(0);
/** The next free slot of `samples`. */
let next = 0;

// --- the pools, each with an untimed and a timed worker -----------------------
// One pair of functions per pool, as in `checkout_bench.ts`: a worker shared
// by several pools through callbacks would turn its call sites polymorphic
// and measure that instead.

const queuePool = new QueuePool(stub, { poolSize: POOL_SIZE, maxOverflow: 0 });

async function queuePoolWorker(cycles: number): Promise<void> {
  for (let i = 0; i < cycles; i++) {
    const conn = await queuePool.connect();
    await null;
    await conn.close();
  }
}

async function queuePoolTimed(cycles: number): Promise<void> {
  for (let i = 0; i < cycles; i++) {
    const start = performance.now();
    const conn = await queuePool.connect();
    samples[next++] = performance.now() - start;
    await null;
    await conn.close();
  }
}

const tarnPool = new TarnPool<Stub>({
  create: stub,
  destroy: () => {},
  min: 0,
  max: POOL_SIZE,
  acquireTimeoutMillis: TIMEOUT_MS,
});

async function tarnWorker(cycles: number): Promise<void> {
  for (let i = 0; i < cycles; i++) {
    const resource = await tarnPool.acquire().promise;
    await null;
    tarnPool.release(resource);
  }
}

async function tarnTimed(cycles: number): Promise<void> {
  for (let i = 0; i < cycles; i++) {
    const start = performance.now();
    const resource = await tarnPool.acquire().promise;
    samples[next++] = performance.now() - start;
    await null;
    tarnPool.release(resource);
  }
}

const genericFactory = {
  create: (): Promise<Stub> => Promise.resolve(stub()),
  destroy: (): Promise<void> => Promise.resolve(),
};
const genericPool = createGenericPool(genericFactory, {
  max: POOL_SIZE,
  min: 0,
});

async function genericPoolWorker(cycles: number): Promise<void> {
  for (let i = 0; i < cycles; i++) {
    const resource = await genericPool.acquire();
    await null;
    void genericPool.release(resource);
  }
}

async function genericPoolTimed(cycles: number): Promise<void> {
  for (let i = 0; i < cycles; i++) {
    const start = performance.now();
    const resource = await genericPool.acquire();
    samples[next++] = performance.now() - start;
    await null;
    void genericPool.release(resource);
  }
}

const genericTimeoutPool = createGenericPool(genericFactory, {
  max: POOL_SIZE,
  min: 0,
  acquireTimeoutMillis: TIMEOUT_MS,
});

async function genericTimeoutPoolWorker(cycles: number): Promise<void> {
  for (let i = 0; i < cycles; i++) {
    const resource = await genericTimeoutPool.acquire();
    await null;
    void genericTimeoutPool.release(resource);
  }
}

async function genericTimeoutPoolTimed(cycles: number): Promise<void> {
  for (let i = 0; i < cycles; i++) {
    const start = performance.now();
    const resource = await genericTimeoutPool.acquire();
    samples[next++] = performance.now() - start;
    await null;
    void genericTimeoutPool.release(resource);
  }
}

const pgPool = stubPgPool(POOL_SIZE);

async function pgPoolWorker(cycles: number): Promise<void> {
  for (let i = 0; i < cycles; i++) {
    const client = await pgPool.connect();
    await null;
    client.release();
  }
}

async function pgPoolTimed(cycles: number): Promise<void> {
  for (let i = 0; i < cycles; i++) {
    const start = performance.now();
    const client = await pgPool.connect();
    samples[next++] = performance.now() - start;
    await null;
    client.release();
  }
}

const barePool = new BarePool<Stub>(
  Array.from({ length: POOL_SIZE }, stub),
  TIMEOUT_MS,
);

async function barePoolWorker(cycles: number): Promise<void> {
  for (let i = 0; i < cycles; i++) {
    const resource = await barePool.acquire();
    await null;
    barePool.release(resource);
  }
}

async function barePoolTimed(cycles: number): Promise<void> {
  for (let i = 0; i < cycles; i++) {
    const start = performance.now();
    const resource = await barePool.acquire();
    samples[next++] = performance.now() - start;
    await null;
    barePool.release(resource);
  }
}

/** A pool under test. */
interface Contender {
  name: string;
  untimed: (cycles: number) => Promise<void>;
  timed: (cycles: number) => Promise<void>;
  /** Idle resources now (`POOL_SIZE` when warm). */
  idle: () => number;
  /** Acquires `POOL_SIZE` resources at once, then releases them all. */
  warm: () => Promise<void>;
}

/** Acquires `POOL_SIZE` resources at once and releases them all. */
async function warmWith<R>(
  acquire: () => Promise<R>,
  release: (resource: R) => unknown,
): Promise<void> {
  const held: Promise<R>[] = [];
  for (let i = 0; i < POOL_SIZE; i++) held.push(acquire());
  const resources = await Promise.all(held);
  await Promise.all(resources.map(release));
}

const CONTENDERS: readonly Contender[] = [
  {
    name: "AsyncAdaptedQueuePool",
    untimed: queuePoolWorker,
    timed: queuePoolTimed,
    idle: () => queuePool.checkedIn(),
    warm: () => warmWith(() => queuePool.connect(), (c) => c.close()),
  },
  {
    name: "tarn",
    untimed: tarnWorker,
    timed: tarnTimed,
    idle: () => tarnPool.numFree(),
    warm: () =>
      warmWith(() => tarnPool.acquire().promise, (r) => tarnPool.release(r)),
  },
  {
    name: "generic-pool",
    untimed: genericPoolWorker,
    timed: genericPoolTimed,
    idle: () => genericPool.available,
    warm: () =>
      warmWith(() => genericPool.acquire(), (r) => genericPool.release(r)),
  },
  {
    name: "generic-pool (acquireTimeoutMillis)",
    untimed: genericTimeoutPoolWorker,
    timed: genericTimeoutPoolTimed,
    idle: () => genericTimeoutPool.available,
    warm: () =>
      warmWith(
        () => genericTimeoutPool.acquire(),
        (r) => genericTimeoutPool.release(r),
      ),
  },
  {
    name: "pg-pool",
    untimed: pgPoolWorker,
    timed: pgPoolTimed,
    idle: () => pgPool.idleCount,
    warm: () => warmWith(() => pgPool.connect(), (c) => c.release()),
  },
  {
    name: "bare linked-list pool",
    untimed: barePoolWorker,
    timed: barePoolTimed,
    idle: () => POOL_SIZE, // its resources exist from the start
    warm: () => Promise.resolve(),
  },
];

async function closeAll(): Promise<void> {
  await queuePool.dispose();
  await tarnPool.destroy();
  await genericPool.drain();
  await genericPool.clear();
  await genericTimeoutPool.drain();
  await genericTimeoutPool.clear();
  await pgPool.end();
  barePool.close();
}

// --- measuring -----------------------------------------------------------------

/** Starts `workers` copies of `worker`, sharing `cycles` cycles evenly. */
async function drive(
  workers: number,
  cycles: number,
  worker: (cycles: number) => Promise<void>,
): Promise<number> {
  const each = cycles / workers;
  const running: Promise<void>[] = new Array(workers);
  const start = performance.now();
  for (let i = 0; i < workers; i++) running[i] = worker(each);
  await Promise.all(running);
  return performance.now() - start;
}

/** Nearest-rank percentile of a sorted array. */
function percentile(sorted: Float64Array, p: number): number {
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** One timed and one untimed run of `contender` at `workers` workers. */
async function measure(
  contender: Contender,
  workers: number,
  cycles: number,
  timedFirst: boolean,
): Promise<Stats> {
  if (contender.idle() !== POOL_SIZE) await contender.warm();
  if (contender.idle() !== POOL_SIZE) {
    throw new Error(
      `Cannot warm ${contender.name}: expected ${POOL_SIZE} idle resources, found ${contender.idle()}`,
    );
  }
  await drive(workers, cycles / 4, contender.untimed); // back to steady state
  let timedMs = 0;
  let untimedMs = 0;
  const timedRun = async (): Promise<void> => {
    next = 0;
    timedMs = await drive(workers, cycles, contender.timed);
    if (next !== cycles) {
      throw new Error(`${contender.name}: ${next} samples, expected ${cycles}`);
    }
  };
  const untimedRun = async (): Promise<void> => {
    untimedMs = await drive(workers, cycles, contender.untimed);
  };
  if (timedFirst) {
    await timedRun();
    await untimedRun();
  } else {
    await untimedRun();
    await timedRun();
  }
  const sorted = samples.sort();
  return {
    throughput: cycles / (untimedMs / 1000),
    timedThroughput: cycles / (timedMs / 1000),
    p50Us: percentile(sorted, 50) * 1000,
    p99Us: percentile(sorted, 99) * 1000,
    p999Us: percentile(sorted, 99.9) * 1000,
    maxUs: sorted[sorted.length - 1]! * 1000,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[mid]!
    : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** What one `performance.now()` costs, in ns (best of five loops). */
function clockCostNs(): number {
  const calls = 1_000_000;
  let best = Infinity;
  let sink = 0;
  for (let round = 0; round < 5; round++) {
    const start = performance.now();
    for (let i = 0; i < calls; i++) sink += performance.now();
    best = Math.min(best, performance.now() - start);
  }
  if (sink === 0) throw new Error("unreachable");
  return (best * 1e6) / calls;
}

/** p50 of a timed `await` of a resolved promise, in µs. */
async function awaitFloorUs(): Promise<number> {
  const resolved = Promise.resolve(stub());
  const floor = new Float64Array(100_000);
  for (let i = 0; i < floor.length; i++) {
    const start = performance.now();
    await resolved;
    floor[i] = performance.now() - start;
  }
  return percentile(floor.sort(), 50) * 1000;
}

/**
 * The machine: the CPU model (the `model name` of `/proc/cpuinfo`, read by
 * `node:os`'s `cpus()`; Deno lets a script read `/proc` itself only with
 * `--allow-all`), cores, Deno and V8, and the load average.
 */
function readMachine(): Machine {
  return {
    cpu: os.cpus()[0]?.model.trim() || "unknown CPU",
    cores: navigator.hardwareConcurrency,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    os: Deno.build.os,
    loadAverage: Deno.loadavg(),
  };
}

/** Runs every round and returns the result (medians and every round). */
async function run(rounds: number, cycles: number): Promise<LatencyResult> {
  for (const workers of WORKER_COUNTS) {
    if (
      !Number.isInteger(cycles) || cycles <= 0 || cycles % (4 * workers) !== 0
    ) {
      throw new RangeError(
        `Invalid "--cycles": must be a multiple of ${
          4 * workers
        }, received ${cycles}`,
      );
    }
  }
  samples = new Float64Array(cycles);
  const machine = readMachine();
  const clock = {
    performanceNowNs: clockCostNs(),
    awaitFloorUs: await awaitFloorUs(),
  };
  console.log(
    `${machine.cpu}, ${machine.cores} cores, Deno ${machine.deno} (V8 ${machine.v8}); ` +
      `performance.now() ${clock.performanceNowNs.toFixed(0)} ns, ` +
      `timed await floor ${formatMicroseconds(clock.awaitFloorUs)}`,
  );
  const perRound = new Map<string, Stats[]>();
  const key = (name: string, workers: number): string => `${name}@${workers}`;
  for (let round = -WARMUP_ROUNDS; round < rounds; round++) {
    const started = performance.now();
    const shift = ((round % CONTENDERS.length) + CONTENDERS.length) %
      CONTENDERS.length;
    const order = [...CONTENDERS.slice(shift), ...CONTENDERS.slice(0, shift)];
    for (const workers of WORKER_COUNTS) {
      for (const contender of order) {
        const stats = await measure(
          contender,
          workers,
          cycles,
          round % 2 === 0,
        );
        if (round < 0) continue;
        const list = perRound.get(key(contender.name, workers)) ?? [];
        list.push(stats);
        perRound.set(key(contender.name, workers), list);
      }
    }
    console.log(
      `${round < 0 ? "warm-up round" : `round ${round + 1}/${rounds}`}: ${
        ((performance.now() - started) / 1000).toFixed(1)
      } s`,
    );
  }

  const cells: Cell[] = [];
  for (const contender of CONTENDERS) {
    for (const workers of WORKER_COUNTS) {
      const list = perRound.get(key(contender.name, workers))!;
      const of = (pick: (s: Stats) => number): number => median(list.map(pick));
      cells.push({
        pool: contender.name,
        workers,
        throughput: of((s) => s.throughput),
        timedThroughput: of((s) => s.timedThroughput),
        p50Us: of((s) => s.p50Us),
        p99Us: of((s) => s.p99Us),
        p999Us: of((s) => s.p999Us),
        maxUs: of((s) => s.maxUs),
        rounds: list,
      });
    }
  }
  return {
    date: new Date().toISOString().slice(0, 10),
    machine,
    settings: {
      poolSize: POOL_SIZE,
      workers: [...WORKER_COUNTS],
      cycles,
      rounds,
      warmupRounds: WARMUP_ROUNDS,
    },
    clock,
    pools: CONTENDERS.map((c) => c.name),
    cells,
  };
}

/** The result as a Markdown table (the README's). */
function formatTable(result: LatencyResult): string {
  const rows = [
    "| pool | workers | cycles/s | cycles/s, timed | p50 | p99 | p99.9 |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const cell of result.cells) {
    rows.push(
      `| ${cell.pool} | ${cell.workers} | ${formatCount(cell.throughput)} | ${
        formatCount(cell.timedThroughput)
      } | ${formatMicroseconds(cell.p50Us)} | ${
        formatMicroseconds(cell.p99Us)
      } | ${formatMicroseconds(cell.p999Us)} |`,
    );
  }
  return rows.join("\n");
}

/**
 * Runs `deno fmt` on the SVG, which the repository's `deno fmt --check`
 * covers (it lays out markup its own way: indented children, attributes
 * wrapped at 80 columns).
 */
async function formatSvg(): Promise<void> {
  const path = SVG_FILE.pathname;
  try {
    const { success } = await new Deno.Command("deno", {
      args: ["fmt", "--quiet", path],
      stdin: "null",
    }).output();
    if (success) return;
  } catch {
    // no --allow-run=deno, or no deno on the PATH: say so below
  }
  console.log(`(could not format ${path}: run deno fmt on it)`);
}

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args: args[0] === "--" ? args.slice(1) : args,
    strict: true,
    options: {
      rounds: { type: "string", default: String(DEFAULT_ROUNDS) },
      cycles: { type: "string", default: String(DEFAULT_CYCLES) },
      render: { type: "boolean", default: false },
    },
  });
  let result: LatencyResult;
  try {
    if (values.render) {
      result = JSON.parse(await Deno.readTextFile(JSON_FILE)) as LatencyResult;
    } else {
      const rounds = Number(values.rounds);
      if (!Number.isInteger(rounds) || rounds < 1) {
        throw new RangeError(
          `Invalid "--rounds": expected an integer >= 1, received "${values.rounds}"`,
        );
      }
      result = await run(rounds, Number(values.cycles));
      await Deno.writeTextFile(
        JSON_FILE,
        `${JSON.stringify(result, null, 2)}\n`,
      );
    }
  } finally {
    await closeAll();
  }
  await Deno.writeTextFile(SVG_FILE, renderLatencyChart(result));
  await formatSvg();
  console.log(`\n${formatTable(result)}\n`);
  console.log(
    values.render
      ? `Wrote ${SVG_FILE.pathname}`
      : `Wrote ${JSON_FILE.pathname} and ${SVG_FILE.pathname}`,
  );
}

if (import.meta.main) {
  await main(Deno.args);
}
