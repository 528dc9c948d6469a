/**
 * A script run as a subprocess by `idle_exit_pg_test.ts`: a pool with
 * `idleTimeoutMs` over node-postgres or postgres.js, used and then left
 * alone, never disposed of. It prints one JSON line once its work is done
 * and must then exit by itself once the idle connections are closed: the
 * pool's own timer must not keep it running, and nothing else may.
 *
 * Environment: `DBPOOL_IDLE_URL` (the server), `DBPOOL_IDLE_DRIVER` (`pg`
 * or `postgres`) and `DBPOOL_IDLE_TIMEOUT_MS` (`none` for no idle timeout).
 *
 * @module
 */

import { QueuePool } from "../src/queue_pool.ts";
import { PG_DIALECT, type PgClient, pgCreator } from "../src/pg.ts";
import {
  POSTGRES_DIALECT,
  postgresCreator,
  type PostgresReservedSql,
} from "../src/postgres.ts";

const url = Deno.env.get("DBPOOL_IDLE_URL") ?? "";
const driver = Deno.env.get("DBPOOL_IDLE_DRIVER") ?? "pg";
const given = Deno.env.get("DBPOOL_IDLE_TIMEOUT_MS") ?? "200";
/** `none` runs the control: no idle timeout, so the process must stay alive. */
const idleTimeoutMs = given === "none" ? null : Number(given);
const options = {
  poolSize: 2,
  idleTimeoutMs,
  logger: { debug() {}, info() {}, warn() {}, error() {} },
};

let rows = 0;
if (driver === "pg") {
  const pool = new QueuePool<PgClient>(pgCreator(url), {
    ...options,
    dialect: PG_DIALECT,
  });
  await Promise.all([0, 1].map(async () => {
    await using conn = await pool.connect();
    const result = await conn.driverConnection!.query("SELECT 1");
    rows += result.rowCount ?? 0;
  }));
} else {
  const pool = new QueuePool<PostgresReservedSql>(
    postgresCreator(url, { onnotice: () => {} }),
    { ...options, dialect: POSTGRES_DIALECT },
  );
  await Promise.all([0, 1].map(async () => {
    await using conn = await pool.connect();
    const result = await conn.driverConnection!`SELECT 1`;
    rows += result.length;
  }));
}

// deno-lint-ignore no-console -- the script's result, read by the test
console.log(
  JSON.stringify({ rows, doneAt: performance.timeOrigin + performance.now() }),
);
