import assert from "node:assert/strict";
import {
  AssertionPool,
  type Dialect,
  NullPool,
  QueuePool,
  type QueuePoolOptions,
  StaticPool,
} from "../mod.ts";
import {
  type FakeConnection,
  fakeCreator,
  FakeDriver,
} from "./_test_fake_driver.ts";
import { QUEUE_POOLS } from "./_test_helpers.ts";

type Options = QueuePoolOptions<FakeConnection>;

/** Options typed loosely, to pass wrong values on purpose. */
function loose(options: Record<string, unknown>): Options {
  return options as unknown as Options;
}

/** Asserts that constructing with `options` throws `type` with a message matching `message`. */
function assertRejected(
  options: unknown,
  type: typeof TypeError | typeof RangeError,
  message: RegExp | string,
): void {
  for (const [name, Pool] of QUEUE_POOLS) {
    assert.throws(
      () => new Pool(fakeCreator(), options as Options),
      (error: unknown) => {
        assert(
          error instanceof type,
          `${name}: expected ${type.name}, got ${error}`,
        );
        if (typeof message === "string") assert.equal(error.message, message);
        else assert.match(error.message, message);
        return true;
      },
    );
  }
}

Deno.test("QueuePool constructor rejects an unknown option key with TypeError (#113)", () => {
  for (
    const key of [
      "pool_size",
      "max_overflow",
      "timeout",
      "recycle",
      "poolsize",
      "storeTraceback",
    ]
  ) {
    assertRejected(
      { [key]: 1 },
      TypeError,
      `Cannot create pool: unknown option "${key}" for AsyncAdaptedQueuePool`,
    );
  }
});

Deno.test("QueuePool constructor treats an undefined option value as absent (#113)", async () => {
  await using pool = new QueuePool(
    fakeCreator(),
    loose({
      poolSize: undefined,
      someTypo: undefined,
    }),
  );
  assert.equal(pool.size(), 5);
});

Deno.test("QueuePool constructor rejects options that are not an object with TypeError (#113)", () => {
  for (const options of [5, "poolSize", null, [], true]) {
    assertRejected(
      options,
      TypeError,
      /^Cannot create pool: options must be an object/,
    );
  }
});

Deno.test("QueuePool constructor rejects a creator that is not a function with TypeError", () => {
  assert.throws(
    () => new QueuePool(null as unknown as () => FakeConnection),
    (error: unknown) => {
      assert(error instanceof TypeError);
      assert.match(error.message, /"creator"/);
      return true;
    },
  );
});

Deno.test("QueuePool constructor rejects a bad poolSize with RangeError naming option and value (#113)", () => {
  assertRejected(
    { poolSize: -1 },
    RangeError,
    `Cannot create pool: "poolSize" must be an integer >= 0, received -1`,
  );
  assertRejected(
    { poolSize: 1.5 },
    RangeError,
    `Cannot create pool: "poolSize" must be an integer >= 0, received 1.5`,
  );
  for (const value of [NaN, Infinity]) {
    assertRejected(
      { poolSize: value },
      RangeError,
      `Cannot create pool: "poolSize" must be an integer >= 0, received ${value}`,
    );
  }
});

Deno.test("QueuePool constructor rejects a bad maxOverflow with RangeError naming option and value (#113)", () => {
  assertRejected(
    { maxOverflow: -2 },
    RangeError,
    `Cannot create pool: "maxOverflow" must be an integer >= -1, received -2`,
  );
  assertRejected(
    { maxOverflow: -5 },
    RangeError,
    `Cannot create pool: "maxOverflow" must be an integer >= -1, received -5`,
  );
  assertRejected(
    { maxOverflow: 0.5 },
    RangeError,
    /^Cannot create pool: "maxOverflow" .*received 0\.5$/,
  );
});

Deno.test("QueuePool constructor rejects a bad timeoutMs with RangeError naming option and value (#113)", () => {
  for (const value of [-1, -0.5, NaN, Infinity]) {
    assertRejected(
      { timeoutMs: value },
      RangeError,
      new RegExp(
        `^Cannot create pool: "timeoutMs" must be .*>= 0, received ${value}$`,
      ),
    );
  }
});

Deno.test("QueuePool constructor rejects a bad recycleMs with RangeError naming option and value (#113)", () => {
  for (const value of [-1, NaN, Infinity]) {
    assertRejected(
      { recycleMs: value },
      RangeError,
      new RegExp(
        `^Cannot create pool: "recycleMs" must be .*>= 0, received ${value}$`,
      ),
    );
  }
});

Deno.test("every pool class validates connectTimeoutMs and validationTimeoutMs like the other durations", async () => {
  for (const key of ["connectTimeoutMs", "validationTimeoutMs"]) {
    for (const value of [-1, NaN, Infinity]) {
      assertRejected(
        { [key]: value },
        RangeError,
        new RegExp(
          `^Cannot create pool: "${key}" must be .*>= 0, received ${value}$`,
        ),
      );
    }
    assertRejected(
      { [key]: "10" },
      TypeError,
      `Cannot create pool: "${key}" must be a number, received "10"`,
    );
    for (const value of [null, 0, 1.5, 60_000]) {
      for (const Class of [QueuePool, NullPool, StaticPool, AssertionPool]) {
        await using _pool = new Class(fakeCreator(), { [key]: value });
      }
    }
  }
});

Deno.test("QueuePool constructor rejects a string where a number is expected with TypeError (#113)", () => {
  for (const key of ["poolSize", "maxOverflow", "timeoutMs", "recycleMs"]) {
    assertRejected(
      { [key]: "10" },
      TypeError,
      `Cannot create pool: "${key}" must be a number, received "10"`,
    );
  }
  assertRejected({ poolSize: 5n }, TypeError, /"poolSize" must be a number/);
  assertRejected({ poolSize: null }, TypeError, /"poolSize" must be a number/);
});

Deno.test("QueuePool constructor accepts the edge values of its number options (#113)", async () => {
  await using pool = new QueuePool(fakeCreator(), {
    poolSize: 0,
    maxOverflow: -1,
    timeoutMs: 0,
    recycleMs: 0,
  });
  assert.equal(pool.size(), 0);
  assert.equal(pool.timeout(), 0);
  await using nulls = new QueuePool(fakeCreator(), {
    timeoutMs: null,
    recycleMs: null,
  });
  assert.equal(nulls.timeout(), null);
  await using fractional = new QueuePool(fakeCreator(), { timeoutMs: 0.25 });
  assert.equal(fractional.timeout(), 0.25);
});

Deno.test("QueuePool constructor rejects wrongly typed non-number options with TypeError (#113)", () => {
  assertRejected(
    { useLifo: "yes" },
    TypeError,
    `Cannot create pool: "useLifo" must be a boolean, received "yes"`,
  );
  assertRejected(
    { prePing: 1 },
    TypeError,
    /^Cannot create pool: "prePing" must be a boolean, received 1$/,
  );
  assertRejected(
    { echo: "verbose" },
    TypeError,
    /^Cannot create pool: "echo" .*received "verbose"$/,
  );
  assertRejected(
    { loggingName: 5 },
    TypeError,
    /^Cannot create pool: "loggingName" must be a string, received 5$/,
  );
  assertRejected({ logger: {} }, TypeError, /^Cannot create pool: "logger" /);
  assertRejected(
    { logger: { debug() {}, info() {}, warn() {} } },
    TypeError,
    /"logger"/,
  );
  assertRejected(
    { clock: 5 },
    TypeError,
    /^Cannot create pool: "clock" must be a function, received 5$/,
  );
  assertRejected({ dialect: {} }, TypeError, /^Cannot create pool: "dialect" /);
  assertRejected({ dialect: "sqlite" }, TypeError, /"dialect"/);
  assertRejected({ events: {} }, TypeError, /^Cannot create pool: "events" /);
  assertRejected({ events: [["connect"]] }, TypeError, /"events"/);
  assertRejected({ events: [["connect", 5]] }, TypeError, /"connect"/);
  assertRejected(
    { listeners: [5] },
    TypeError,
    /^Cannot create pool: "listeners" /,
  );
  assertRejected({ listeners: {} }, TypeError, /"listeners"/);
});

Deno.test("QueuePool constructor rejects an unknown event name in events with TypeError (#113)", () => {
  assertRejected(
    { events: [["connected", () => {}]] },
    TypeError,
    /"connected"/,
  );
  assertRejected(
    { events: [["first_connect", () => {}]] },
    TypeError,
    /"first_connect"/,
  );
});

Deno.test("QueuePool constructor rejects an invalid resetOnReturn with TypeError (#3)", () => {
  assertRejected(
    { resetOnReturn: "none" },
    TypeError,
    `Invalid value for 'resetOnReturn': "none"`,
  );
  assertRejected(
    { resetOnReturn: "ROLLBACK" },
    TypeError,
    `Invalid value for 'resetOnReturn': "ROLLBACK"`,
  );
  assertRejected(
    { resetOnReturn: 0 },
    TypeError,
    `Invalid value for 'resetOnReturn': 0`,
  );
  assertRejected(
    { resetOnReturn: {} },
    TypeError,
    /^Invalid value for 'resetOnReturn': /,
  );
});

Deno.test("QueuePool constructor accepts every valid resetOnReturn (#3)", async () => {
  for (
    const resetOnReturn of ["rollback", "commit", true, false, null] as const
  ) {
    await using pool = new QueuePool(fakeCreator(), { resetOnReturn });
    assert.equal(pool.size(), 5);
  }
});

Deno.test("QueuePool constructor rejects prePing without a dialect ping with TypeError (#6)", () => {
  assertRejected({ prePing: true }, TypeError, /"prePing"/);
  const noPing: Dialect<FakeConnection> = {
    name: "noping",
    close: (c) => c.close(),
  };
  assertRejected(
    { prePing: true, dialect: noPing },
    TypeError,
    /"prePing".*"noping"/,
  );
  const notAFunction = { name: "bad", ping: true } as unknown as Dialect<
    FakeConnection
  >;
  assertRejected(
    { prePing: true, dialect: notAFunction },
    TypeError,
    /"prePing"/,
  );
});

Deno.test("QueuePool constructor accepts prePing with a ping-capable dialect (#6)", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    prePing: true,
    dialect: driver.dialect,
  });
  await (await pool.connect()).close();
  await using conn = await pool.connect();
  assert.equal(driver.counts.ping, 1);
  assert.equal(conn.dbapiConnection, driver.connections[0]);
  // prePing: false needs no ping.
  await using plain = new QueuePool(fakeCreator(), { prePing: false });
  assert.equal(plain.size(), 5);
});

Deno.test("QueuePool constructor validates before making any connection (#113)", () => {
  const driver = new FakeDriver();
  assert.throws(
    () => new QueuePool(driver.creator, { poolSize: -1 }),
    RangeError,
  );
  assert.equal(driver.counts.create, undefined);
});
