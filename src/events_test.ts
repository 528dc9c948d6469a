/**
 * Tests of the pool's events as `PoolEventMap` (`src/events.ts`) declares
 * them: the arguments each event receives, in order. When each event fires
 * is tested with the behaviour that fires it (`pool_checkout_test.ts`,
 * `pool_return_test.ts`, ...); registering listeners in
 * `_listeners_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Creator, QueuePool } from "../mod.ts";
import {
  assertEvents,
  type FakeConnection,
  FakeDriver,
  recordEvents,
} from "./_test_fake_driver.ts";

Deno.test("every event receives exactly the arguments PoolEventMap declares for it, in order", async () => {
  const driver = new FakeDriver();
  const entries: unknown[] = [];
  const creator: Creator<FakeConnection> = (entry) => {
    entries.push(entry);
    return driver.creator(entry);
  };
  await using pool = new QueuePool(creator, {
    dialect: driver.dialect,
    poolSize: 1,
    maxOverflow: 0,
  });
  const rec = recordEvents(pool);
  const p1 = await pool.connect();
  const softError = new Error("soft");
  await p1.invalidate(softError, { soft: true });
  await p1.close();
  const p2 = await pool.connect(); // replaced after the soft invalidation
  const hardError = new Error("hard");
  await p2.invalidate(hardError);
  const p3 = await pool.connect();
  await p3.detach();
  await p3.close();
  const [c1, c2, c3] = driver.connections;
  const entry = entries[0];
  assert.equal(entries.length, 3);
  assert.ok(entries.every((e) => e === entry));
  assertEvents(rec.events, [
    ["firstConnect", c1, entry],
    ["connect", c1, entry],
    ["checkout", c1, entry, p1],
    ["softInvalidate", c1, entry, softError],
    ["reset", c1, entry, {
      transactionWasReset: false,
      terminateOnly: false,
      asyncioSafe: true,
    }],
    ["checkin", c1, entry],
    ["close", c1, entry],
    ["connect", c2, entry],
    ["checkout", c2, entry, p2],
    ["invalidate", c2, entry, hardError],
    ["close", c2, entry],
    ["checkin", null, entry],
    ["connect", c3, entry],
    ["checkout", c3, entry, p3],
    ["detach", c3, entry],
    ["reset", c3, entry, {
      transactionWasReset: false,
      terminateOnly: true,
      asyncioSafe: true,
    }],
    ["closeDetached", c3],
  ]);
});

Deno.test("invalidate and softInvalidate pass undefined as the third argument when no error is given", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, { dialect: driver.dialect });
  const proxy = await pool.connect();
  const rec = recordEvents(pool);
  await proxy.invalidate(undefined, { soft: true });
  await proxy.invalidate();
  const [soft, hard] = [rec.events[0]!, rec.events[1]!];
  assert.equal(soft.name, "softInvalidate");
  assert.equal(soft.args.length, 3);
  assert.equal(soft.args[2], undefined);
  assert.equal(hard.name, "invalidate");
  assert.equal(hard.args.length, 3);
  assert.equal(hard.args[2], undefined);
});
