/**
 * `createBackoffMs` against a live PostgreSQL that refuses connections: a
 * throwaway cluster with a tiny `max_connections`, saturated by held
 * connections, then hammered through a pool from several workers, with and
 * without the backoff.
 */

import assert from "node:assert/strict";
import { needs } from "../src/_test_permissions.ts";
import { CreateBackoffError } from "../src/errors.ts";
import { PG_DIALECT, type PgClient, pgCreator } from "../src/pg.ts";
import { QueuePool } from "../src/queue_pool.ts";
import { PG_CLUSTER_NEEDS, startPgCluster } from "./_pg_cluster.ts";

const MAX_CONNECTIONS = 3;
const WORKERS = 8;
const HAMMER_MS = 2_500;

/** Lets timers and I/O run between a worker's attempts (pacing, not synchronisation). */
function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1));
}

interface Run {
  /** Creator calls made while the server was full. */
  attempts: number;
  /** Checkouts refused by the backoff, without a creator call. */
  backedOff: number;
  /** The last backoff error seen, if any. */
  lastBackoff: CreateBackoffError | null;
}

/** A pool over `url` whose creator calls are counted, and a hammer for it. */
function countedPool(url: string, createBackoffMs: number | null) {
  const create = pgCreator(url, { connectTimeoutMs: 5_000 });
  const counter = { calls: 0 };
  const pool = new QueuePool<PgClient>(() => {
    counter.calls++;
    return create();
  }, {
    dialect: PG_DIALECT,
    poolSize: WORKERS,
    maxOverflow: 0,
    timeoutMs: 0,
    createBackoffMs,
  });
  return { pool, counter };
}

/** `WORKERS` loops checking out (and returning) connections for `ms`. */
async function hammer(
  pool: QueuePool<PgClient>,
  counter: { calls: number },
  ms: number,
): Promise<Run> {
  const run: Run = { attempts: 0, backedOff: 0, lastBackoff: null };
  const before = counter.calls;
  const until = performance.now() + ms;
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      while (performance.now() < until) {
        try {
          const conn = await pool.connect();
          await conn.close();
          assert.fail("the server is full: no checkout may succeed");
        } catch (error) {
          if (error instanceof CreateBackoffError) {
            run.backedOff++;
            run.lastBackoff = error;
          } else {
            assert.match(String(error), /too many clients/);
          }
        }
        await yieldToLoop();
      }
    }),
  );
  run.attempts = counter.calls - before;
  return run;
}

Deno.test({
  name:
    "createBackoffMs spares a PostgreSQL that refuses connections and recovers within one backoff",
  ...needs(PG_CLUSTER_NEEDS),
}, async () => {
  await using cluster = await startPgCluster({
    settings: {
      "max_connections": MAX_CONNECTIONS,
      "superuser_reserved_connections": 0,
    },
  });
  const create = pgCreator(cluster.url);
  const held: PgClient[] = [];
  try {
    for (;;) {
      try {
        held.push(await create());
      } catch (error) {
        assert.match(String(error), /too many clients/);
        break;
      }
    }
    assert.equal(held.length, MAX_CONNECTIONS);

    const plain = countedPool(cluster.url, null);
    let without: Run;
    try {
      without = await hammer(plain.pool, plain.counter, HAMMER_MS);
    } finally {
      await plain.pool.dispose();
    }

    const backoff = countedPool(cluster.url, 50);
    try {
      const withBackoff = await hammer(
        backoff.pool,
        backoff.counter,
        HAMMER_MS,
      );
      // deno-lint-ignore no-console -- the numbers the test measures, for the record
      console.log(
        `creator calls in ${HAMMER_MS} ms from ${WORKERS} workers against a full server: ` +
          `${without.attempts} without createBackoffMs, ${withBackoff.attempts} with 50 ms ` +
          `(${withBackoff.backedOff} checkouts refused without a call)`,
      );
      assert(without.attempts > 100, `without: ${without.attempts}`);
      assert(
        withBackoff.attempts * 10 < without.attempts,
        `with ${withBackoff.attempts}, without ${without.attempts}`,
      );
      assert(withBackoff.attempts <= 50, `with: ${withBackoff.attempts}`);
      assert(withBackoff.lastBackoff !== null);
      assert.match(String(withBackoff.lastBackoff.cause), /too many clients/);

      // Free the server; the pool must succeed once the backoff in progress ends.
      const backoffNow = withBackoff.lastBackoff.backoffMs;
      for (const client of held.splice(0)) await client.end();
      const freedAt = performance.now();
      for (;;) {
        try {
          const conn = await backoff.pool.connect();
          await conn.close();
          break;
        } catch (error) {
          if (!(error instanceof CreateBackoffError)) {
            assert.match(String(error), /too many clients/);
          }
        }
        await yieldToLoop();
      }
      const recoveryMs = performance.now() - freedAt;
      // deno-lint-ignore no-console -- the numbers the test measures, for the record
      console.log(
        `recovered ${
          Math.round(recoveryMs)
        } ms after the server was freed (backoff in progress: ${
          Math.round(backoffNow)
        } ms)`,
      );
      assert(
        recoveryMs < backoffNow * 2 + 1_000,
        `recovery took ${recoveryMs} ms with a backoff of ${backoffNow} ms`,
      );
    } finally {
      await backoff.pool.dispose();
    }
  } finally {
    for (const client of held) await client.end();
  }
});
