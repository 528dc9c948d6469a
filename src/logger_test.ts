/**
 * Tests of the console-backed default logger, `CONSOLE_LOGGER`
 * (`src/logger.ts`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { CONSOLE_LOGGER, QueuePool } from "../mod.ts";

Deno.test("the default console-backed logger prints the logger name as a prefix", async () => {
  const printed: [string, unknown[]][] = [];
  // The default logger writes to the console: stub it (and restore it below).
  const stubbed = globalThis.console;
  const saved = {
    debug: stubbed.debug,
    info: stubbed.info,
    warn: stubbed.warn,
    error: stubbed.error,
  };
  for (const level of ["debug", "info", "warn", "error"] as const) {
    stubbed[level] = (...args: unknown[]) => void printed.push([level, args]);
  }
  try {
    await using pool = new QueuePool(() => ({}), {
      loggingName: "myname",
      echo: true,
    });
    assert.equal(pool.loggingName, "myname");
    const proxy = await pool.connect();
    await proxy.invalidate();
    await proxy.invalidate();
    // And directly: the context's logger name becomes the prefix.
    CONSOLE_LOGGER.debug("line", { logger: "some.name" });
    CONSOLE_LOGGER.info("plain");
  } finally {
    Object.assign(stubbed, saved);
  }
  assert.deepEqual(printed, [
    ["info", [
      "[dbpool.pool.AsyncAdaptedQueuePool.myname] Invalidate connection <Object #1>",
    ]],
    ["warn", [
      "[dbpool.pool.AsyncAdaptedQueuePool.myname] Can't invalidate an already-closed connection.",
    ]],
    ["debug", ["[some.name] line"]],
    ["info", ["plain"]],
    [
      "info",
      [
        "[dbpool.pool.AsyncAdaptedQueuePool.myname] Pool disposed. Pool size: 5  Connections in pool: 0 Current Overflow: -5 Current Checked out connections: 0",
      ],
    ],
  ]);
});
