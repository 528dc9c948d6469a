/**
 * A script run as a subprocess by `postgres_failures_test.ts`: a pool over
 * postgres.js whose connections the test cuts (through its loopback proxy)
 * while they are being made, then disposed of. It prints one JSON line and
 * must then exit by itself: it never calls `Deno.exit()`, so a socket or a
 * timer left behind by the adapter keeps it running, and the test sees
 * that. (The proxy runs in the test, so that closing it cannot end what the
 * adapter left open here.)
 *
 * Environment: `DBPOOL_CUTS_POOL_URL` (the server through the proxy, for
 * the pool), `DBPOOL_CUTS_URL` (the server, reached directly for the count)
 * and `DBPOOL_CUTS_APP` (the `application_name` of the pool's sessions).
 *
 * Output: `{"ok", "failed", "sessionsAfterDispose", "unhandled"}`, where
 * `sessionsAfterDispose` counts the server sessions of the pool once it is
 * disposed of (waiting up to 5 s for them to end).
 *
 * @module
 */

import postgres from "npm:postgres@^3";
import { QueuePool } from "../src/queue_pool.ts";
import { POSTGRES_DIALECT, postgresCreator } from "../src/postgres.ts";
import { countUnhandledRejections } from "./_unhandled_rejections.ts";

const server = Deno.env.get("DBPOOL_CUTS_URL") ?? "";
const poolUrl = Deno.env.get("DBPOOL_CUTS_POOL_URL") ?? "";
const app = Deno.env.get("DBPOOL_CUTS_APP") ?? "dbpool_cuts";

using unhandled = countUnhandledRejections();
const pool = new QueuePool(
  postgresCreator(poolUrl, {
    "connect_timeout": 10,
    connection: { "application_name": app },
    onnotice: () => {},
  }),
  {
    dialect: POSTGRES_DIALECT,
    poolSize: 2,
    maxOverflow: 0,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  },
);
let ok = 0;
let failed = 0;
const work = async (): Promise<void> => {
  for (let i = 0; i < 4; i++) {
    try {
      await using conn = await pool.connect();
      await conn.driverConnection!`SELECT 1`;
      ok++;
    } catch {
      failed++;
    }
  }
};
await Promise.all([work(), work()]);
await pool.dispose();

const admin = postgres(server, { max: 1, onnotice: () => {} });
let sessions = -1;
const deadline = performance.now() + 5_000;
for (;;) {
  const [row] = await admin`
    SELECT count(*)::int AS n FROM pg_stat_activity
    WHERE application_name = ${app}`;
  sessions = Number(row!.n);
  if (sessions === 0 || performance.now() > deadline) break;
  await new Promise((resolve) => setTimeout(resolve, 50));
}
await admin.end();
await unhandled.settle();

// deno-lint-ignore no-console -- the script's result, read by the test
console.log(JSON.stringify({
  ok,
  failed,
  sessionsAfterDispose: sessions,
  unhandled: unhandled.count,
}));
