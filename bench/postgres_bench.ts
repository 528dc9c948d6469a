/**
 * PostgreSQL benchmarks: `AsyncAdaptedQueuePool` over the node-postgres
 * adapter (the baseline) against `pg.Pool` and postgres.js's own pool, on a
 * real server.
 *
 * Workload: every pool holds
 * {@linkcode CONNECTIONS} connections, and W concurrent workers loop
 * checkout → `SELECT 1` → return until {@linkcode QUERIES} queries have
 * completed in all (a shared countdown, so the total is exact for any W).
 * queries/s = QUERIES / (time per iteration). Groups: W = N (1:1) and
 * W = 4N (4:1).
 *
 * - ours: `new QueuePool(pgCreator(…), { dialect: PG_DIALECT, poolSize: N,
 *   maxOverflow: 0 })`, reset on return left at its default (`"rollback"`):
 *   the adapter's `inTransaction` (the ReadyForQuery status) makes the idle
 *   return skip the `ROLLBACK`.
 * - pg.Pool: `new pg.Pool({ connectionString, max: N })`, `connect()` →
 *   `query("SELECT 1")` → `release()`, pg-pool's defaults otherwise.
 * - postgres.js: `postgres(url, { max: N })`, `` await sql`SELECT 1` ``
 *   (its default: named prepared statements).
 *
 * Setup happens at the top level, outside the measured region: a throwaway
 * PostgreSQL cluster (`tests/_pg_cluster.ts`) unless `DATABASE_URL` is set,
 * then the three pools (`_pg_bench_setup.ts`), each warmed until all N
 * connections are open (the count per pool from `pg_stat_activity` is
 * printed). Teardown happens when the process ends (`unload`, SIGINT,
 * SIGTERM): the server is stopped synchronously (`pg_ctl stop -m fast -w`,
 * which ends every pooled backend; the client sockets close with the
 * process) and its directory deleted. Bench functions await all their work,
 * so a failure is a failed bench (the process still reaches `unload`), never
 * a dangling rejection. When no server can be started (or a permission is
 * missing), one ignored bench says why and the run passes.
 *
 * On a small machine the client and the server share the CPUs, so the ratio
 * between two benches can move by ±30% from one run to the next (each bench
 * runs to the end before the next starts). `bench/_pg_interleaved.ts`
 * interleaves the same workload round by round and reports the CPU time per
 * query of the client and of the server: use it to cross-check a ratio.
 *
 * Run: `deno bench --lock=bench/deno.lock --allow-all bench/postgres_bench.ts`
 * (the cluster needs `--allow-run` and `--allow-write`; with `DATABASE_URL`,
 * `--allow-net --allow-env` suffice)
 *
 * @module
 */

import {
  type PgCluster,
  pgClusterUnavailableReason,
  startPgCluster,
} from "../tests/_pg_cluster.ts";
import {
  type ContenderName,
  type Contenders,
  createContenders,
  DISPLAY_NAMES,
  drive,
  stopClusterSync,
  warmAll,
  whyUnavailable,
} from "./_pg_bench_setup.ts";

/** Connections per pool (the same for the three pools). */
const CONNECTIONS = 8;
/** Queries per bench iteration, shared by all the workers. */
const QUERIES = 2_000;
/** Worker counts, as [group, workers]. */
const LEVELS: readonly (readonly [string, number])[] = [
  [`1:1 (${CONNECTIONS} workers)`, CONNECTIONS],
  [`4:1 (${4 * CONNECTIONS} workers)`, 4 * CONNECTIONS],
];
/** Measured iterations and warmup iterations per bench. */
const N = 120;
const WARMUP = 20;
/** The contenders, baseline first. */
const ORDER: readonly ContenderName[] = ["ours", "pgPool", "postgresJs"];

/** Registers one ignored bench that says why nothing is measured. */
function skip(reason: string): void {
  // deno-lint-ignore no-console
  console.warn(`postgres_bench: skipped: ${reason}`);
  Deno.bench({
    name: `postgres benches skipped: ${reason}`,
    ignore: true,
    fn() {},
  });
}

const started = await whyUnavailable(
  pgClusterUnavailableReason,
  () => startPgCluster(),
);

if (typeof started === "string") {
  skip(started);
} else {
  const cluster: PgCluster = started.cluster;

  // Teardown when the process ends. `deno bench` has no "after all" hook and
  // an `unload` listener cannot await, so the server is stopped synchronously
  // (`pg_ctl stop -m fast -w`): that ends every pooled backend (the pools'
  // sockets close with the process). The same on SIGINT/SIGTERM, which would
  // otherwise skip `unload`. Registered before any pool exists.
  const teardown = (): void => stopClusterSync(cluster);
  globalThis.addEventListener("unload", teardown);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      teardown();
      Deno.exit(signal === "SIGINT" ? 130 : 143);
    });
  }

  let contenders: Contenders | null = null;
  try {
    contenders = createContenders(cluster.url, CONNECTIONS);
    const description = await warmAll(cluster, contenders, CONNECTIONS);
    // deno-lint-ignore no-console
    console.log(
      `postgres_bench: ${description}; ${QUERIES} queries per iteration`,
    );
  } catch (error) {
    contenders = null;
    teardown();
    skip(
      `setting up the pools failed: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
  }

  if (contenders !== null) {
    const { queries } = contenders;
    for (const [group, workers] of LEVELS) {
      for (const name of ORDER) {
        const query = queries[name];
        Deno.bench({
          name: DISPLAY_NAMES[name],
          group,
          baseline: name === "ours",
          n: N,
          warmup: WARMUP,
          async fn() {
            await drive(workers, QUERIES, query);
          },
        });
      }
    }
  }
}
