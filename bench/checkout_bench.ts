/**
 * Checkout benchmarks: `AsyncAdaptedQueuePool` against peer pools from npm
 * and a bare linked-list pool (the practical floor, `_bare_pool.ts`).
 *
 * Workload: the usual grid of pool benchmarks (HikariCP's, deadpool's), on
 * stub resources so that only the pool's own work is measured: a pool of 16
 * plain objects and W concurrent workers, each looping
 * acquire → one microtask (`await null`) → release. Every bench iteration
 * performs {@linkcode CYCLES} cycles in all, split evenly across the
 * workers, so cycles/s = CYCLES / (time per iteration). Groups: W = 16
 * (uncontended, 1:1), 64 (4:1) and 1024 (64:1). Pools are built and warmed
 * (all 16 resources created) at the top level, outside the measured region.
 * Two more rows run the same pool with the operations features on
 * (`idleTimeoutMs`, `leakDetectionMs`; `stats()` counts in every pool), then
 * also instrumented through an OpenTelemetry SDK meter.
 *
 * The "timeout storm" group queues N waiters on an exhausted queue pool
 * (`poolSize: 1`, `maxOverflow: 0`, `timeoutMs: 1`) and times how long it
 * takes until all N have been rejected; the 40k row should cost at most
 * 4.5× the 10k row (linear, not O(n²)). The same storm on the bare pool is
 * the reference for what V8 itself costs when every error of a storm is made
 * in one loop: 40k live errors outgrow the young generation, and the bare
 * pool's ratio is about 5×. The queue pool rejects in batches (see
 * `src/_waiters.ts`) and measures about 4×.
 *
 * Run: `deno bench --lock=bench/deno.lock --allow-env --allow-read --allow-net --allow-sys bench/checkout_bench.ts`
 * (the peers are full `npm:` specifiers locked in `bench/deno.lock`, so that
 * the library and the demo never resolve them).
 * Add `--v8-flags=--expose-gc` for steadier storm rows (a full GC runs
 * before each measured storm).
 *
 * @module
 */

import { createPool as createGenericPool } from "npm:generic-pool@^3.9.0";
import { Pool as TarnPool } from "npm:tarn@^3.0.2";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "npm:@opentelemetry/sdk-metrics@^2";
import { QueuePool } from "../mod.ts";
import { instrumentPool } from "../src/otel.ts";
import { BarePool } from "./_bare_pool.ts";
import { stubPgPool } from "./_stub_pg_pool.ts";

/** Resources per pool. */
const POOL_SIZE = 16;
/** Acquire/release cycles per bench iteration, split across the workers. */
const CYCLES = 16_384;
/** Concurrent workers per group. */
const WORKER_COUNTS: readonly number[] = [16, 64, 1024];
/** Acquire timeout for the pools that have one (tarn's and QueuePool's default). */
const TIMEOUT_MS = 30_000;
/** Waiter counts of the timeout-storm group. */
const STORM_SIZES: readonly number[] = [10_000, 40_000];

type Stub = Record<string, never>;

function stub(): Stub {
  return {};
}

/** Acquires `POOL_SIZE` resources at once and releases them all. */
async function warm<R>(
  acquire: () => Promise<R>,
  release: (resource: R) => unknown,
): Promise<void> {
  const held: Promise<R>[] = [];
  for (let i = 0; i < POOL_SIZE; i++) held.push(acquire());
  const resources = await Promise.all(held);
  await Promise.all(resources.map(release));
}

/** Throws unless a warmed pool holds all `POOL_SIZE` resources idle. */
function expectWarm(pool: string, idle: number): void {
  if (idle !== POOL_SIZE) {
    throw new Error(
      `Cannot warm ${pool}: expected ${POOL_SIZE} idle resources, found ${idle}`,
    );
  }
}

/** Starts `workers` copies of `worker`, sharing `CYCLES` cycles evenly. */
async function drive(
  workers: number,
  worker: (cycles: number) => Promise<void>,
): Promise<void> {
  const cycles = CYCLES / workers;
  const running: Promise<void>[] = new Array(workers);
  for (let i = 0; i < workers; i++) running[i] = worker(cycles);
  await Promise.all(running);
}

// --- AsyncAdaptedQueuePool (this package) ----------------------------------

const queuePool = new QueuePool(stub, { poolSize: POOL_SIZE, maxOverflow: 0 });
await warm(() => queuePool.connect(), (conn) => conn.close());
expectWarm("QueuePool", queuePool.checkedIn());

async function queuePoolWorker(cycles: number): Promise<void> {
  for (let i = 0; i < cycles; i++) {
    const conn = await queuePool.connect();
    await null;
    await conn.close();
  }
}

async function queuePoolNoAwaitWorker(cycles: number): Promise<void> {
  for (let i = 0; i < cycles; i++) {
    const conn = await queuePool.connect();
    await null;
    void conn.close();
  }
}

// --- the same pool with the operations features on -------------------------

/** `idleTimeoutMs` and `leakDetectionMs` set (`stats()` always counts). */
const OPERATIONS = { idleTimeoutMs: 600_000, leakDetectionMs: 600_000 };

const opsPool = new QueuePool(stub, {
  poolSize: POOL_SIZE,
  maxOverflow: 0,
  ...OPERATIONS,
});
await warm(() => opsPool.connect(), (conn) => conn.close());
expectWarm("QueuePool (operations)", opsPool.checkedIn());

/** An OpenTelemetry SDK meter provider that aggregates and never exports. */
const meterProvider = new MeterProvider({
  readers: [
    new PeriodicExportingMetricReader({
      exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
      exportIntervalMillis: 3_600_000,
    }),
  ],
});
const otelPool = new QueuePool(stub, {
  poolSize: POOL_SIZE,
  maxOverflow: 0,
  ...OPERATIONS,
});
instrumentPool(otelPool, { meter: meterProvider.getMeter("bench") });
await warm(() => otelPool.connect(), (conn) => conn.close());
expectWarm("QueuePool (operations, OpenTelemetry)", otelPool.checkedIn());

function poolWorker(
  pool: QueuePool<Stub>,
): (cycles: number) => Promise<void> {
  return async (cycles) => {
    for (let i = 0; i < cycles; i++) {
      const conn = await pool.connect();
      await null;
      await conn.close();
    }
  };
}
const opsPoolWorker = poolWorker(opsPool);
const otelPoolWorker = poolWorker(otelPool);

// --- tarn --------------------------------------------------------------------

const tarnPool = new TarnPool<Stub>({
  create: stub,
  destroy: () => {},
  min: 0,
  max: POOL_SIZE,
  acquireTimeoutMillis: TIMEOUT_MS,
});
await warm(() => tarnPool.acquire().promise, (r) => tarnPool.release(r));
expectWarm("tarn", tarnPool.numFree());

async function tarnWorker(cycles: number): Promise<void> {
  for (let i = 0; i < cycles; i++) {
    const resource = await tarnPool.acquire().promise;
    await null;
    tarnPool.release(resource);
  }
}

// --- generic-pool ------------------------------------------------------------

const genericFactory = {
  create: (): Promise<Stub> => Promise.resolve(stub()),
  destroy: (): Promise<void> => Promise.resolve(),
};
const genericPool = createGenericPool(genericFactory, {
  max: POOL_SIZE,
  min: 0,
});
await warm(() => genericPool.acquire(), (r) => genericPool.release(r));
expectWarm("generic-pool", genericPool.available);

async function genericPoolWorker(cycles: number): Promise<void> {
  for (let i = 0; i < cycles; i++) {
    const resource = await genericPool.acquire();
    await null;
    void genericPool.release(resource);
  }
}

const genericTimeoutPool = createGenericPool(genericFactory, {
  max: POOL_SIZE,
  min: 0,
  acquireTimeoutMillis: TIMEOUT_MS,
});
await warm(
  () => genericTimeoutPool.acquire(),
  (r) => genericTimeoutPool.release(r),
);
expectWarm("generic-pool", genericTimeoutPool.available);

async function genericTimeoutPoolWorker(cycles: number): Promise<void> {
  for (let i = 0; i < cycles; i++) {
    const resource = await genericTimeoutPool.acquire();
    await null;
    void genericTimeoutPool.release(resource);
  }
}

// --- pg-pool -----------------------------------------------------------------

const pgPool = stubPgPool(POOL_SIZE);
await warm(() => pgPool.connect(), (client) => client.release());
expectWarm("pg-pool", pgPool.idleCount);

async function pgPoolWorker(cycles: number): Promise<void> {
  for (let i = 0; i < cycles; i++) {
    const client = await pgPool.connect();
    await null;
    client.release();
  }
}

// --- bare linked-list pool (the floor) ---------------------------------------

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

// --- checkout groups ---------------------------------------------------------
// Every `fn` is an `async` function on purpose: `deno bench` awaits `fn` only
// when it is an AsyncFunction, and would otherwise call it in a tight loop,
// never letting the started workers run.

for (const workers of WORKER_COUNTS) {
  const group = `checkout, ${workers} workers on ${POOL_SIZE}`;
  Deno.bench({
    group,
    name: "AsyncAdaptedQueuePool",
    baseline: true,
    fn: async () => await drive(workers, queuePoolWorker),
  });
  Deno.bench({
    group,
    name: "AsyncAdaptedQueuePool (close not awaited)",
    fn: async () => await drive(workers, queuePoolNoAwaitWorker),
  });
  Deno.bench({
    group,
    name: "AsyncAdaptedQueuePool, idleTimeoutMs + leakDetectionMs",
    fn: async () => await drive(workers, opsPoolWorker),
  });
  Deno.bench({
    group,
    name: "AsyncAdaptedQueuePool, the same + OpenTelemetry (SDK meter)",
    fn: async () => await drive(workers, otelPoolWorker),
  });
  Deno.bench({
    group,
    name: "tarn",
    fn: async () => await drive(workers, tarnWorker),
  });
  Deno.bench({
    group,
    name: "generic-pool",
    fn: async () => await drive(workers, genericPoolWorker),
  });
  Deno.bench({
    group,
    name: "generic-pool (acquireTimeoutMillis 30000)",
    fn: async () => await drive(workers, genericTimeoutPoolWorker),
  });
  Deno.bench({
    group,
    name: "pg-pool",
    fn: async () => await drive(workers, pgPoolWorker),
  });
  Deno.bench({
    group,
    name: "bare linked-list pool",
    fn: async () => await drive(workers, barePoolWorker),
  });
}

// --- timeout storm -------------------------------------------------------------

const stormPool = new QueuePool(stub, {
  poolSize: 1,
  maxOverflow: 0,
  timeoutMs: 1,
});
const stormHeld = await stormPool.connect();

const bareStormPool = new BarePool<Stub>([], 1);

/** V8's `gc()`, present only when run with `--v8-flags=--expose-gc`. */
const collectGarbage: (() => void) | undefined =
  (globalThis as { gc?: () => void }).gc;

/**
 * Queues `waiters` acquires on an exhausted pool and measures until every
 * one of them has been rejected.
 */
async function storm(
  b: Deno.BenchContext,
  waiters: number,
  acquire: () => Promise<unknown>,
): Promise<void> {
  const pending: Promise<unknown>[] = new Array(waiters);
  // With `--v8-flags=--expose-gc`, start each storm on a clean heap so the
  // previous storm's garbage is not collected inside the measured region.
  collectGarbage?.();
  b.start();
  for (let i = 0; i < waiters; i++) pending[i] = acquire();
  const settled = await Promise.allSettled(pending);
  b.end();
  if (settled.some((result) => result.status !== "rejected")) {
    throw new Error("Timeout storm: a waiter was served instead of rejected");
  }
}

for (const waiters of STORM_SIZES) {
  const label = `${waiters / 1000}k waiters`;
  Deno.bench({
    group: "timeout storm",
    name: `AsyncAdaptedQueuePool, ${label}`,
    baseline: waiters === STORM_SIZES[0],
    n: 30,
    warmup: 5,
    fn: async (b) => await storm(b, waiters, () => stormPool.connect()),
  });
}
for (const waiters of STORM_SIZES) {
  const label = `${waiters / 1000}k waiters`;
  Deno.bench({
    group: "timeout storm (bare reference)",
    name: `bare linked-list pool, ${label}`,
    baseline: waiters === STORM_SIZES[0],
    n: 30,
    warmup: 5,
    fn: async (b) => await storm(b, waiters, () => bareStormPool.acquire()),
  });
}

// --- teardown ------------------------------------------------------------------

globalThis.addEventListener("unload", () => {
  void stormHeld.close().then(() => stormPool.dispose());
  void queuePool.dispose();
  void tarnPool.destroy();
  void genericPool.drain().then(() => genericPool.clear());
  void genericTimeoutPool.drain().then(() => genericTimeoutPool.clear());
  void pgPool.end();
  barePool.close();
  bareStormPool.close();
});
