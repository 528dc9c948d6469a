/**
 * Tests of the pool's logging (`src/_log.ts`): the logger name and what
 * each `echo` level lets through.
 *
 * @module
 */

import assert from "node:assert/strict";
import { QueuePool } from "../mod.ts";
import { FakeClock, FakeDriver, recordingLogger } from "./_test_fake_driver.ts";
import { cycle } from "./_test_pools.ts";

Deno.test("the logger name of a QueuePool is dbpool.pool.AsyncAdaptedQueuePool, with loggingName as a suffix", async () => {
  for (
    const [options, name] of [
      [{}, "dbpool.pool.AsyncAdaptedQueuePool"],
      [{ loggingName: "myname" }, "dbpool.pool.AsyncAdaptedQueuePool.myname"],
    ] as const
  ) {
    const { logger, lines } = recordingLogger();
    await using pool = new QueuePool(() => ({}), {
      ...options,
      logger,
      echo: "debug",
    });
    await cycle(pool);
    await pool.dispose();
    assert.ok(lines.length > 0);
    for (const line of lines) assert.equal(line.context.logger, name);
  }
});

/** Runs one scenario that produces every kind of line and returns them. */
async function transcript(
  echo: boolean | "debug" | undefined,
): Promise<[string, string][]> {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    logger,
    clock: clock.fn,
    recycleMs: 1_000,
    ...(echo === undefined ? {} : { echo }),
  });
  await cycle(pool);
  const b = await pool.connect();
  await b.invalidate(new Error("boom"));
  await b.invalidate();
  await cycle(pool);
  clock.advance(1_001);
  const d = await pool.connect(); // recycled
  await d.invalidate(undefined, { soft: true });
  await d.close();
  driver.failClose = new Error("close failed");
  await pool.dispose();
  driver.failClose = null;
  await using _recreated = pool.recreate();
  return lines.map((l) => [l.level, l.line]);
}

const FULL_TRANSCRIPT: [string, string][] = [
  ["debug", "Created new connection <FakeConnection #1>"],
  ["debug", "Connection <FakeConnection #1> checked out from pool"],
  ["debug", "Connection <FakeConnection #1> being returned to pool"],
  ["debug", "Connection <FakeConnection #1> rollback-on-return"],
  ["debug", "Connection <FakeConnection #1> checked out from pool"],
  ["info", "Invalidate connection <FakeConnection #1> (reason: Error:boom)"],
  ["debug", "Hard-closing connection <FakeConnection #1>"],
  ["warn", "Can't invalidate an already-closed connection."],
  ["debug", "Created new connection <FakeConnection #2>"],
  ["debug", "Connection <FakeConnection #2> checked out from pool"],
  ["debug", "Connection <FakeConnection #2> being returned to pool"],
  ["debug", "Connection <FakeConnection #2> rollback-on-return"],
  ["info", "Connection <FakeConnection #2> exceeded timeout; recycling"],
  ["debug", "Hard-closing connection <FakeConnection #2>"],
  ["debug", "Created new connection <FakeConnection #3>"],
  ["debug", "Connection <FakeConnection #3> checked out from pool"],
  ["info", "Soft Invalidate connection <FakeConnection #3>"],
  ["debug", "Connection <FakeConnection #3> being returned to pool"],
  ["debug", "Connection <FakeConnection #3> rollback-on-return"],
  ["debug", "Closing connection <FakeConnection #3>"],
  ["error", "Exception closing connection <FakeConnection #3>"],
  [
    "info",
    "Pool disposed. Pool size: 5  Connections in pool: 0 Current Overflow: -5 Current Checked out connections: 0",
  ],
  ["info", "Pool recreating"],
];

Deno.test('echo: "debug" emits the debug, info, warn and error lines', async () => {
  assert.deepEqual(await transcript("debug"), FULL_TRANSCRIPT);
});

Deno.test("echo: true emits the info lines but not the checkout/checkin debug lines", async () => {
  assert.deepEqual(
    await transcript(true),
    FULL_TRANSCRIPT.filter(([level]) => level !== "debug"),
  );
});

Deno.test("echo unset or false: only warn and error lines reach the logger", async () => {
  const expected = FULL_TRANSCRIPT.filter(([level]) =>
    level === "warn" || level === "error"
  );
  assert.deepEqual(await transcript(undefined), expected);
  assert.deepEqual(await transcript(false), expected);
});

Deno.test("log lines name a connection in a few words, never pass the driver object to the logger", async () => {
  class Client {
    processID = 4242;
    readonly big = Array.from({ length: 1_000 }, (_, i) => ({ i }));
    rollback(): void {}
    close(): void {}
  }
  const calls: unknown[][] = [];
  const logger = {
    debug: (...args: unknown[]) => void calls.push(args),
    info: (...args: unknown[]) => void calls.push(args),
    warn: (...args: unknown[]) => void calls.push(args),
    error: (...args: unknown[]) => void calls.push(args),
  };
  const pool = new QueuePool(() => new Client(), { echo: "debug", logger });
  await (await pool.connect()).close();
  await (await pool.connect()).invalidate(new Error("boom"));
  await pool.dispose();
  assert.ok(calls.length > 5);
  for (const [line, context] of calls) {
    // Everything but the error (whose stack is as long as it is).
    const { error: _error, ...rest } = context as Record<string, unknown>;
    const text = `${line} ${Deno.inspect(rest, { depth: 10 })}`;
    assert.ok(!text.includes("big"), text);
    assert.ok(text.split("\n").length <= 6, text);
  }
  const named = calls
    .map(([, context]) => (context as { connection?: unknown }).connection)
    .filter((connection) => connection !== undefined);
  assert.ok(named.length > 0);
  for (const connection of named) {
    assert.equal(connection, "Client (backend pid 4242)");
  }
});
