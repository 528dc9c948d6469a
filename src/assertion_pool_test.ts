/**
 * Tests of `AssertionPool`'s own behaviour (`src/assertion_pool.ts`). What
 * it shares with every pool class is in `pool_conformance_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  AssertionPool,
  AssertionPoolError,
  type PoolProxiedConnection,
} from "../mod.ts";
import {
  closes,
  type FakeConnection,
  FakeDriver,
  tracer,
} from "./_test_fake_driver.ts";
import { deferred, rejection } from "./_test_helpers.ts";

/** The first checkout, from a function whose name shows in a stack trace. */
function firstCheckoutSite(
  pool: AssertionPool<FakeConnection>,
): Promise<PoolProxiedConnection<FakeConnection>> {
  return pool.connect();
}

Deno.test("AssertionPool: a second connect() while one is out rejects with the first checkout's stack", async () => {
  const driver = new FakeDriver();
  await using pool = new AssertionPool(driver.creator, {
    dialect: driver.dialect,
  });
  const first = await firstCheckoutSite(pool);
  const error = await rejection(pool.connect());
  assert.ok(error instanceof AssertionPoolError);
  assert.equal(error.name, "AssertionPoolError");
  assert.ok(
    error.message.startsWith("connection is already checked out at:\n"),
    error.message,
  );
  assert.match(error.message, /firstCheckoutSite/);
  // The failed attempt changed nothing: the first checkout is intact.
  assert.equal(first.isValid, true);
  assert.equal(driver.counts.create, 1);
  await first.close();
});

Deno.test("AssertionPool with storeTraceback: false reports no stack", async () => {
  const driver = new FakeDriver();
  await using pool = new AssertionPool(driver.creator, {
    dialect: driver.dialect,
    storeTraceback: false,
  });
  await using _first = await pool.connect();
  const error = await rejection(pool.connect());
  assert.ok(error instanceof AssertionPoolError);
  assert.equal(error.message, "connection is already checked out");
});

Deno.test("AssertionPool reuses the same driver connection after a return", async () => {
  const driver = new FakeDriver();
  await using pool = new AssertionPool(driver.creator, {
    dialect: driver.dialect,
  });
  const first = await pool.connect();
  const connection = first.dbapiConnection!;
  await first.close();
  assert.equal(connection.open, true);
  const second = await pool.connect();
  assert.equal(second.dbapiConnection, connection);
  await second.close();
  const third = await pool.connect();
  assert.equal(third.dbapiConnection, connection);
  await third.close();
  assert.equal(driver.counts.create, 1);
  assert.deepEqual(connection.calls, ["rollback", "rollback", "rollback"]);
});

Deno.test("AssertionPool.recreate() keeps storeTraceback", async () => {
  const driver = new FakeDriver();
  await using pool = new AssertionPool(driver.creator, {
    dialect: driver.dialect,
    storeTraceback: false,
  });
  await using recreated = pool.recreate();
  assert.ok(recreated instanceof AssertionPool);
  await using _first = await recreated.connect();
  const error = await rejection(recreated.connect());
  assert.ok(error instanceof AssertionPoolError);
  assert.equal(error.message, "connection is already checked out");

  await using tracing = new AssertionPool(driver.creator, {
    dialect: driver.dialect,
  });
  await using tracingCopy = tracing.recreate();
  await using _other = await firstCheckoutSite(tracingCopy);
  const traced = await rejection(tracingCopy.connect());
  assert.ok(traced instanceof AssertionPoolError);
  assert.ok(
    traced.message.startsWith("connection is already checked out at:\n"),
  );
  assert.match(traced.message, /firstCheckoutSite/);
});

Deno.test("AssertionPool.dispose() closes an idle connection now; the entry reconnects at the next checkout", async () => {
  const driver = new FakeDriver();
  const trace = tracer(driver);
  await using pool = new AssertionPool(driver.creator, {
    dialect: trace.dialect,
  });
  const first = await pool.connect();
  first.recordInfo!.set("slot", "kept");
  await first.close();
  trace.watch(pool);
  trace.timeline.length = 0;
  await pool.dispose();
  assert.deepEqual(trace.timeline, ["close#1", "driver.close#1"]);
  const second = await pool.connect();
  assert.equal(second.dbapiConnection, driver.connections[1]);
  assert.equal(second.recordInfo!.get("slot"), "kept", "same entry");
  await second.close();
  assert.equal(closes(driver.connections[0]!), 1);
  assert.equal(driver.connections[1]!.open, true);
});

Deno.test("AssertionPool.dispose() while checked out closes the connection when it is returned", async () => {
  const driver = new FakeDriver();
  const trace = tracer(driver);
  await using pool = new AssertionPool(driver.creator, {
    dialect: trace.dialect,
  });
  const first = await pool.connect();
  const connection = first.dbapiConnection!;
  trace.watch(pool);
  await pool.dispose();
  assert.equal(trace.timeline.length, 0);
  assert.equal(connection.open, true);
  assert.equal(first.isValid, true);
  // Still one checkout at a time.
  await assert.rejects(pool.connect(), AssertionPoolError);
  await first.close();
  assert.deepEqual(trace.timeline, [
    "reset#1",
    "driver.rollback#1",
    "checkin#1",
    "close#1",
    "driver.close#1",
  ]);
  const second = await pool.connect();
  assert.equal(second.dbapiConnection, driver.connections[1]);
  await second.close();
  // Only the disposal applied: the new connection is kept on return.
  assert.equal(driver.connections[1]!.open, true);
  assert.equal(closes(connection), 1);
});

Deno.test("AssertionPool after a hard invalidation lets the next checkout reconnect the same entry", async () => {
  const driver = new FakeDriver();
  await using pool = new AssertionPool(driver.creator, {
    dialect: driver.dialect,
  });
  const first = await pool.connect();
  first.recordInfo!.set("slot", 1);
  const connection = first.dbapiConnection!;
  await first.invalidate();
  assert.deepEqual(connection.calls, ["terminate"]);
  const second = await pool.connect();
  assert.equal(second.dbapiConnection, driver.connections[1]);
  assert.equal(second.recordInfo!.get("slot"), 1);
  await second.close();
  await first.close();
  assert.deepEqual(connection.calls, ["terminate"]);
});

Deno.test("AssertionPool: a failed creator does not leave the pool marked as checked out", async () => {
  const driver = new FakeDriver();
  await using pool = new AssertionPool(driver.creator, {
    dialect: driver.dialect,
  });
  const failure = new Error("refused");
  driver.failNext.push(failure);
  await assert.rejects(pool.connect(), (error) => error === failure);
  // A new entry failed: the next checkout retries.
  const first = await pool.connect();
  await first.invalidate();
  // Reconnect of the existing entry fails: the entry goes back (checkin null).
  const again = new Error("still refused");
  driver.failNext.push(again);
  await assert.rejects(pool.connect(), (error) => error === again);
  const second = await pool.connect();
  assert.ok(second.isValid);
  await second.close();
  assert.equal(driver.counts.create, 4);
});

Deno.test("AssertionPool: an aborted connect() leaves the pool free", async () => {
  const driver = new FakeDriver();
  await using pool = new AssertionPool(driver.creator, {
    dialect: driver.dialect,
  });
  const reason = new Error("cancelled");
  await assert.rejects(
    pool.connect({ signal: AbortSignal.abort(reason) }),
    (error) => error === reason,
  );
  assert.equal(driver.counts.create, undefined);

  const creating = deferred();
  driver.gate = creating.promise;
  const checkedIn = new Promise<void>((resolve) =>
    pool.on("checkin", () => resolve(), { once: true })
  );
  const controller = new AbortController();
  const pending = pool.connect({ signal: controller.signal });
  controller.abort(reason);
  await assert.rejects(pending, (error) => error === reason);
  driver.gate = null;
  creating.resolve();
  await checkedIn; // the checkout finished in the background and was returned
  const proxy = await pool.connect();
  assert.equal(proxy.dbapiConnection, driver.connections[0]);
  await proxy.close();
  assert.equal(driver.counts.create, 1);
});

Deno.test("AssertionPool rejects a non-boolean storeTraceback", () => {
  const creator = new FakeDriver().creator;
  assert.throws(
    () =>
      new AssertionPool(
        creator,
        { storeTraceback: "yes" } as unknown as { storeTraceback: boolean },
      ),
    TypeError,
  );
});
