/**
 * `idleTimeoutMs` lets a process exit: a script that uses a pool over a
 * live PostgreSQL and never disposes of it ends by itself once its idle
 * connections are closed, through each adapter.
 */

import assert from "node:assert/strict";
import { needs } from "../src/_test_permissions.ts";
import { PG_CLUSTER_NEEDS, startPgCluster } from "./_pg_cluster.ts";
import { within } from "./_pg_test_helpers.ts";
import { spawnTestScript } from "./_deno_subprocess.ts";

const IDLE_TIMEOUT_MS = 300;
/** The most a script may run past its idle timeout before it exits. */
const EXIT_BOUND_MS = 3_000;

/** Runs `_idle_exit.ts` with its output piped. */
function spawnScript(
  url: string,
  driver: string,
  idleTimeoutMs: string,
): Deno.ChildProcess {
  return spawnTestScript("./_idle_exit.ts", {
    DBPOOL_IDLE_URL: url,
    DBPOOL_IDLE_DRIVER: driver,
    DBPOOL_IDLE_TIMEOUT_MS: idleTimeoutMs,
  });
}

Deno.test({
  name:
    "QueuePool with idleTimeoutMs lets a process that never disposes of it exit by itself",
  ...needs(PG_CLUSTER_NEEDS),
}, async (t) => {
  await using cluster = await startPgCluster();
  for (const driver of ["pg", "postgres"]) {
    await t.step(
      driver === "pg" ? "node-postgres" : "postgres.js",
      async () => {
        const child = spawnScript(
          cluster.url,
          driver,
          String(IDLE_TIMEOUT_MS),
        );
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
        const exitedAt = performance.timeOrigin + performance.now();
        const { code, stdout, stderr } = await output;
        const decoder = new TextDecoder();
        const report = `${decoder.decode(stdout)}\n${decoder.decode(stderr)}`;
        assert.equal(code, 0, report);
        const result = JSON.parse(
          decoder.decode(stdout).trim().split("\n").at(-1)!,
        );
        assert.equal(result.rows, 2, report);
        const afterWorkMs = exitedAt - result.doneAt;
        // deno-lint-ignore no-console -- the number the test measures, for the record
        console.log(
          `${driver}: exited ${
            Math.round(afterWorkMs)
          } ms after its work (idleTimeoutMs ${IDLE_TIMEOUT_MS})`,
        );
        assert(afterWorkMs >= IDLE_TIMEOUT_MS - 50, `${afterWorkMs} ms`);
        assert(
          afterWorkMs < IDLE_TIMEOUT_MS + EXIT_BOUND_MS,
          `${afterWorkMs} ms`,
        );
      },
    );
  }

  await t.step(
    "the control: without idleTimeoutMs the same script keeps running",
    async () => {
      const child = spawnScript(cluster.url, "pg", "none");
      const output = child.output();
      const stillRunning = await within(
        output,
        IDLE_TIMEOUT_MS + EXIT_BOUND_MS,
        "the control script's exit",
      ).then(() => false, () => true);
      if (stillRunning) child.kill("SIGKILL");
      const { stdout } = await output;
      assert(stillRunning, "the control exited by itself");
      const result = JSON.parse(
        new TextDecoder().decode(stdout).trim().split("\n").at(-1)!,
      );
      assert.equal(result.rows, 2);
    },
  );
});
