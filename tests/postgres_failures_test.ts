/**
 * The postgres.js adapter when things go wrong, on a real PostgreSQL:
 * connections cut while they are being made (through a loopback proxy),
 * backends killed in a storm, every host of a URL down.
 */

import assert from "node:assert/strict";
import { needs } from "../src/_test_permissions.ts";
import postgres from "npm:postgres@^3";
import {
  POSTGRES_DIALECT,
  postgresCreator,
  type PostgresOptions,
} from "../src/postgres.ts";
import { PG_CLUSTER_NEEDS, startPgCluster } from "./_pg_cluster.ts";
import { waitFor, within } from "./_pg_test_helpers.ts";
import { startTcpProxy } from "./_tcp_proxy.ts";
import {
  countUnhandledRejections,
  describeReasons,
} from "./_unhandled_rejections.ts";
import { runKillStorm } from "./_kill_storm.ts";
import { rejection } from "../src/_test_helpers.ts";
import { spawnTestScript } from "./_deno_subprocess.ts";

/** A loopback port nothing listens on. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}

Deno.test({
  name:
    "postgresCreator() with every host down fails within connect_timeout instead of retrying forever",
  ...needs({ env: true, net: true }),
}, async () => {
  const ports = [closedPort(), closedPort()];
  const url = `postgres://nobody:secret@127.0.0.1:${ports[0]},127.0.0.1:${
    ports[1]
  }/nothing`;
  const started = performance.now();
  const error = await within(
    rejection(postgresCreator(url, { "connect_timeout": 1 })()),
    15_000,
    "postgresCreator() with every host down",
  );
  const elapsed = performance.now() - started;
  assert.equal(codeOf(error), "CONNECT_TIMEOUT", String(error));
  assert.equal(POSTGRES_DIALECT.isDisconnect(error, null), true);
  assert.match(String(error), new RegExp(`127\\.0\\.0\\.1:${ports[1]}`));
  assert.doesNotMatch(String(error), /secret/);
  assert.ok(elapsed >= 990, `failed after ${elapsed} ms, before the timeout`);
  assert.ok(elapsed < 6_000, `failed after ${elapsed} ms`);
});

Deno.test({
  name:
    "postgres.js connections when things go wrong, against a live PostgreSQL",
  ...needs(PG_CLUSTER_NEEDS),
}, async (t) => {
  await using cluster = await startPgCluster();
  const admin = postgres(cluster.url, { max: 1, onnotice: () => {} });
  /** The server sessions with this `application_name`. */
  const sessions = async (application: string): Promise<number> => {
    const [row] = await admin`
      SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE application_name = ${application}`;
    return Number(row!.n);
  };
  const settings = (application: string): PostgresOptions => ({
    "connect_timeout": 10,
    connection: { "application_name": application },
    onnotice: () => {},
  });

  /** The cluster's URL, through a proxy. */
  const viaProxy = (proxy: { hostname: string; port: number }): string =>
    `postgres://${cluster.user}:${
      encodeURIComponent(cluster.password)
    }@${proxy.hostname}:${proxy.port}/${cluster.database}`;

  try {
    await t.step(
      "a connection cut during the array-type lookup fails cleanly: no unhandled rejection, no session left behind",
      async () => {
        const application = "pgjs_cut_lookup";
        await using proxy = startTcpProxy({
          hostname: cluster.host,
          port: cluster.port,
        });
        const url = viaProxy(proxy);
        using unhandled = countUnhandledRejections();
        proxy.cutWhen("typarray");
        const connect = postgresCreator(url, settings(application));

        const error = await within(
          rejection(connect()),
          15_000,
          "the cut connection",
        );
        assert.equal(proxy.cuts, 1);
        assert.equal(
          POSTGRES_DIALECT.isDisconnect(error, null),
          true,
          String(error),
        );

        // The next connection looks the array types up, and parses arrays.
        const sql = await within(connect(), 15_000, "the next connection");
        try {
          const [row] = await sql`
            SELECT ARRAY[1, 2, 3]::int4[] AS ints, ARRAY['a', 'b"c']::text[] AS texts,
                   ARRAY[[true, false]]::bool[] AS nested`;
          assert.deepEqual(row!.ints, [1, 2, 3]);
          assert.deepEqual(row!.texts, ["a", 'b"c']);
          assert.deepEqual(row!.nested, [[true, false]]);
          const [echo] = await sql`SELECT ${sql.array([4, 5])}::int4[] AS back`;
          assert.deepEqual(echo!.back, [4, 5]);
        } finally {
          await POSTGRES_DIALECT.close(sql);
        }
        await unhandled.settle();
        assert.equal(unhandled.count, 0, describeReasons(unhandled.reasons));
        await waitFor(
          async () => (await sessions(application)) === 0,
          "no session of the creator to remain",
        );
      },
    );

    await t.step(
      "connections cut while being made, then the pool disposed of: no session remains and the process exits by itself",
      async () => {
        const application = "pgjs_cuts_then_dispose";
        await using proxy = startTcpProxy({
          hostname: cluster.host,
          port: cluster.port,
        });
        // Twice during authentication (postgres.js then retries at once),
        // twice during the array-type lookup (making that connection fails).
        proxy.cutWhen("SCRAM-SHA-256", { times: 2 });
        proxy.cutWhen("typarray", { times: 2 });
        const child = spawnTestScript("./_postgres_cuts_then_dispose.ts", {
          DBPOOL_CUTS_URL: cluster.url,
          DBPOOL_CUTS_POOL_URL: viaProxy(proxy),
          DBPOOL_CUTS_APP: application,
        });
        const output = child.output();
        let exited = false;
        try {
          await within(output, 30_000, "the script's exit");
          exited = true;
        } finally {
          if (!exited) {
            child.kill("SIGKILL");
            await output;
          }
        }
        const { code, stdout, stderr } = await output;
        const decoder = new TextDecoder();
        const report = `${decoder.decode(stdout)}\n${decoder.decode(stderr)}`;
        assert.equal(code, 0, report);
        const result = JSON.parse(
          decoder.decode(stdout).trim().split("\n").at(-1)!,
        );
        assert.equal(result.unhandled, 0, report);
        assert.equal(result.sessionsAfterDispose, 0, report);
        assert.ok(proxy.cuts >= 2, report); // the two lookups at least
        assert.ok(result.ok >= 1, report);
        assert.equal(result.ok + result.failed, 8, report);
      },
    );

    await t.step(
      "a pool under a storm of backend kills: no unhandled rejection, only disconnect errors, no session left after dispose",
      async () => {
        const runs = Number(Deno.env.get("DBPOOL_KILL_STORM_RUNS") || 1);
        for (let run = 1; run <= runs; run++) {
          const result = await runKillStorm({
            cluster,
            application: `pgjs_kill_storm_${run}`,
            tcp: Deno.env.get("DBPOOL_KILL_STORM_TCP") === "1",
          });
          const what = `run ${run}: ${JSON.stringify(result)}`;
          assert.equal(result.unhandled, 0, what);
          assert.deepEqual(result.unexpected, [], what);
          assert.equal(result.ok + result.failed, 2_000, what);
          assert.ok(result.kills > 0, what);
          assert.equal(result.recovered, true, what);
          assert.equal(result.sessionsAfterDispose, 0, what);
        }
      },
    );
  } finally {
    await admin.end({ timeout: 5 });
  }
});
