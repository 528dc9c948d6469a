/**
 * The clustering example of `handleError`, on two real PostgreSQL servers:
 * a `QueuePool` whose creator spreads its connections over servers A and B
 * (and falls back to B when A is down), and a `handleError` listener that,
 * on a disconnect, soft-invalidates only the connections of the server that
 * failed and keeps the pool from invalidating the rest. Eight workers run
 * `select pg_backend_pid()` through `withConnection()` while A is stopped:
 * only requests on A fail, B's connections stay (same backends), and
 * traffic recovers on B.
 */

import assert from "node:assert/strict";
import { needs } from "../src/_test_permissions.ts";
import type { ConnectionPoolEntry } from "../src/connection.ts";
import { PG_DIALECT, type PgClient, pgCreator } from "../src/pg.ts";
import { QueuePool } from "../src/queue_pool.ts";
import { PG_CLUSTER_NEEDS, startPgCluster } from "./_pg_cluster.ts";
import { within } from "./_pg_test_helpers.ts";

type Host = "A" | "B";

const APPLICATION = "handle_error_pg_test";
const WORKERS = 8;

/** One request of one worker. */
interface Request {
  /** 0: before A was stopped; 1: while it stopped; 2: after. */
  readonly phase: 0 | 1 | 2;
  readonly host: Host | null;
  readonly pid: number | null;
  readonly error: unknown;
}

/** Resolves `until(n)` once `count` reaches `n`: no polling, no sleep. */
class Counter {
  count = 0;
  #waiting: { n: number; resolve: () => void }[] = [];

  add(): void {
    this.count++;
    this.#waiting = this.#waiting.filter(({ n, resolve }) => {
      if (this.count < n) return true;
      resolve();
      return false;
    });
  }

  until(n: number): Promise<void> {
    if (this.count >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push({ n, resolve }));
  }
}

Deno.test({
  name:
    "handleError over two PostgreSQL servers: stopping one fails only its requests, the other's connections stay, traffic recovers",
  ...needs(PG_CLUSTER_NEEDS),
}, async () => {
  await using a = await startPgCluster();
  await using b = await startPgCluster();
  const connectTo = {
    A: pgCreator({
      connectionString: a.url,
      connectionTimeoutMillis: 5_000,
      application_name: APPLICATION,
    }),
    B: pgCreator({
      connectionString: b.url,
      connectionTimeoutMillis: 5_000,
      application_name: APPLICATION,
    }),
  };
  const entriesOf = {
    A: new Set<ConnectionPoolEntry<PgClient>>(),
    B: new Set<ConnectionPoolEntry<PgClient>>(),
  };
  const down = new Set<Host>();
  let turn = 0;
  const fallbacks: unknown[] = [];

  /** Alternates A and B; B when A is known down or refuses. */
  const creator = async (
    entry: ConnectionPoolEntry<PgClient>,
  ): Promise<PgClient> => {
    let host: Host = turn++ % 2 === 0 ? "A" : "B";
    let client: PgClient | null = null;
    if (host === "A" && !down.has("A")) {
      try {
        client = await connectTo.A();
      } catch (error) {
        fallbacks.push(error);
        host = "B";
      }
    } else {
      host = "B";
    }
    client ??= await connectTo.B();
    entriesOf.A.delete(entry);
    entriesOf.B.delete(entry);
    entriesOf[host].add(entry);
    entry.info.set("host", host);
    return client;
  };

  const logged: string[] = [];
  const quiet = (): void => {};
  const collect = (line: string): void => void logged.push(line);
  await using pool = new QueuePool(creator, {
    dialect: PG_DIALECT,
    poolSize: WORKERS,
    maxOverflow: 0,
    timeoutMs: 10_000,
    connectTimeoutMs: 10_000,
    // A's connections whose rollback on return fails are logged, not printed.
    logger: { debug: quiet, info: quiet, warn: collect, error: collect },
  });
  const handled: { host: unknown; isDisconnect: boolean }[] = [];
  pool.on("handleError", async (context) => {
    const host = context.entry.info.get("host");
    handled.push({ host, isDisconnect: context.isDisconnect });
    if (!context.isDisconnect) return;
    context.invalidatePoolOnDisconnect = false;
    if (host !== "A" && host !== "B") return;
    down.add(host);
    for (const entry of entriesOf[host]) {
      if (entry !== context.entry) {
        await entry.invalidate(context.error, { soft: true });
      }
    }
  });
  const closedOn: unknown[] = [];
  pool.on("close", (_client, entry) => {
    closedOn.push(entry.info.get("host"));
  });

  // Open the eight connections: four on A, four on B.
  const warm = await Promise.all(
    Array.from({ length: WORKERS }, () => pool.connect()),
  );
  const pidsBefore = { A: new Set<number>(), B: new Set<number>() };
  for (const conn of warm) {
    const host = conn.info.get("host") as Host;
    const { rows } = await conn.dbapiConnection!.query<{ pid: number }>(
      "select pg_backend_pid() as pid",
    );
    pidsBefore[host].add(rows[0]!.pid);
  }
  await Promise.all(warm.map((conn) => conn.close()));
  assert.deepEqual([pidsBefore.A.size, pidsBefore.B.size], [4, 4]);

  const requests: Request[] = [];
  const done = new Counter();
  const recovered = new Counter();
  let phase: 0 | 1 | 2 = 0;
  let stop = false;
  const worker = async (): Promise<void> => {
    while (!stop) {
      const started = phase;
      let host: Host | null = null;
      try {
        const pid = await pool.withConnection(async (conn) => {
          host = conn.info.get("host") as Host;
          const { rows } = await conn.dbapiConnection!.query<{ pid: number }>(
            "select pg_backend_pid() as pid",
          );
          return rows[0]!.pid;
        }, { signal: AbortSignal.timeout(15_000) });
        requests.push({ phase: started, host, pid, error: null });
        if (started === 2) recovered.add();
      } catch (error) {
        requests.push({ phase: started, host, pid: null, error });
      }
      done.add();
    }
  };
  const workers = Promise.all(Array.from({ length: WORKERS }, worker));
  try {
    await within(done.until(200), 30_000, "traffic before the stop");
    phase = 1;
    await within(a.stop(), 60_000, "stopping server A");
    phase = 2;
    await within(recovered.until(400), 60_000, "traffic after the stop");
  } finally {
    stop = true;
    await within(workers, 30_000, "the workers");
  }

  const failed = requests.filter((r) => r.error !== null);
  const succeeded = requests.filter((r) => r.error === null);
  const tail = requests.slice(-200);
  const pidsAfterB = new Set(
    requests.filter((r) => r.phase === 2 && r.pid !== null && r.host === "B")
      .map((r) => r.pid!),
  );
  const summary = {
    requests: requests.length,
    succeeded: succeeded.length,
    failed: failed.length,
    failedOn: [...new Set(failed.map((r) => r.host))],
    failures: failed.map((r) =>
      r.error instanceof Error ? r.error.message : String(r.error)
    ),
    pidsBefore: { A: [...pidsBefore.A], B: [...pidsBefore.B] },
    pidsAfterOnB: [...pidsAfterB],
    handled: handled.length,
    fallbacks: fallbacks.length,
    closedOn,
    logged,
    stats: pool.stats(),
  };
  // The numbers of one run, for the failure message of any check below.
  const context = JSON.stringify(summary);
  const summaryFile = Deno.env.get("DBPOOL_SUMMARY_FILE");
  if (summaryFile !== undefined) await Deno.writeTextFile(summaryFile, context);

  // Before the stop, everything succeeded, on both servers.
  assert.ok(
    requests.filter((r) => r.phase === 0).every((r) => r.error === null),
    context,
  );
  assert.ok(requests.some((r) => r.phase === 0 && r.host === "A"), context);
  // Only requests on A failed, each with a disconnect the dialect knows.
  for (const r of failed) {
    assert.equal(r.host, "A", context);
    assert.equal(PG_DIALECT.isDisconnect(r.error, null), true, context);
  }
  assert.ok(handled.every((h) => h.host === "A"), context);
  // B's connections were never closed: the same four backends serve on.
  assert.deepEqual(closedOn, ["A", "A", "A", "A"], context);
  for (const pid of pidsBefore.B) assert.ok(pidsAfterB.has(pid), context);
  // A's slots were re-created against B: traffic fully recovered.
  assert.ok(tail.every((r) => r.error === null && r.host === "B"), context);
  assert.equal(pidsAfterB.size, WORKERS, context);
  assert.deepEqual([entriesOf.A.size, entriesOf.B.size], [0, WORKERS], context);
  const stats = pool.stats();
  assert.equal(stats.open, stats.idle + stats.checkedOut, context);
  assert.deepEqual(
    [stats.open, stats.closes, stats.recycles + stats.invalidations],
    [WORKERS, 4, 4],
    context,
  );
});
