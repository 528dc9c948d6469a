import assert from "node:assert/strict";
import { QueuePool } from "../mod.ts";
import { FakeDriver } from "./_test_fake_driver.ts";

Deno.test("PoolEntry shows a listener that logs it its public interface only", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, { dialect: driver.dialect });
  const seen: string[] = [];
  pool.on("checkout", (_conn, entry) => {
    assert.deepEqual(Reflect.ownKeys(entry), []);
    seen.push(Deno.inspect(entry));
    seen.push(Deno.inspect(entry, { getters: true, showHidden: true }));
  });
  await using _conn = await pool.connect();
  assert.equal(seen.length, 2);
  for (const text of seen) {
    assert.match(text, /^PoolEntry \{/);
    for (
      const name of [
        "dbapiConnection",
        "driverConnection",
        "info",
        "recordInfo",
        "inUse: true",
      ]
    ) {
      assert.ok(text.includes(name), `${name} missing from ${text}`);
    }
    for (
      const internal of [
        "users",
        "label",
        "openedAt",
        "skipNextPing",
        "softInvalidatedAt",
        "neverCheckedOut",
        "generation",
        "opening",
        "context",
      ]
    ) {
      assert.ok(!text.includes(internal), `${internal} shown in ${text}`);
    }
  }
});
