import assert from "node:assert/strict";
import { QueuePool } from "../mod.ts";
import { poolInternals } from "./_pool_classes.ts";
import { FakeClock, FakeDriver } from "./_test_fake_driver.ts";

Deno.test("QueuePool with recycleMs shortens a connection's lifetime by at most 2.5%", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    clock: clock.fn,
    recycleMs: 1_000,
  });
  // The largest draw: the lifetime is 975 ms.
  poolInternals.engine(pool).context.random = () => 1;
  const first = await pool.connect();
  const original = first.dbapiConnection;
  await first.close();
  clock.advance(975);
  const kept = await pool.connect();
  assert.equal(kept.dbapiConnection, original, "an age of 975 ms is kept");
  await kept.close();
  clock.advance(1);
  await using recycled = await pool.connect();
  assert.notEqual(recycled.dbapiConnection, original);
  assert.equal(driver.counts.create, 2);
});

Deno.test("QueuePool with recycleMs does not expire connections opened together all at once", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  const count = 20;
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    clock: clock.fn,
    recycleMs: 1_000,
    poolSize: count,
    maxOverflow: 0,
  });
  const opened = await Promise.all(
    Array.from({ length: count }, () => pool.connect()),
  );
  for (const conn of opened) await conn.close();
  const ageRecycled = async (age: number): Promise<number> => {
    clock.now = age;
    const before = driver.counts.create!;
    const held = await Promise.all(
      Array.from({ length: count }, () => pool.connect()),
    );
    for (const conn of held) await conn.close();
    return driver.counts.create! - before;
  };
  assert.equal(await ageRecycled(975), 0, "none before 97.5% of recycleMs");
  const midway = await ageRecycled(987.5);
  assert(
    midway > 0 && midway < count,
    `some, not all, recycled midway: ${midway}`,
  );
});
