/**
 * Tests of the strict option checks every pool class makes at construction
 * (`src/_options.ts`): unknown keys, wrong types and out-of-range values,
 * with messages naming the option and the value received.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type Dialect,
  type PoolListener,
  type PoolOptions,
  QueuePool,
  type QueuePoolOptions,
} from "../mod.ts";
import {
  type FakeConnection,
  fakeCreator,
  FakeDriver,
} from "./_test_fake_driver.ts";
import { cycle, POOL_CLASSES } from "./_test_pools.ts";

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
  assert.throws(
    () => new QueuePool(fakeCreator(), options as Options),
    (error: unknown) => {
      assert(error instanceof type, `expected ${type.name}, got ${error}`);
      if (typeof message === "string") assert.equal(error.message, message);
      else assert.match(error.message, message);
      return true;
    },
  );
}

Deno.test("QueuePool constructor rejects an unknown option key with TypeError, and says what to use instead", () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ["pool_size", " (did you mean poolSize?)"],
    ["max_overflow", " (did you mean maxOverflow?)"],
    [
      "timeout",
      " (did you mean timeoutMs (longest wait for a free connection, in milliseconds)?)",
    ],
    ["recycle", ' (did you mean "recycleMs"?)'],
    ["poolsize", ' (did you mean "poolSize"?)'],
    ["prePIng", ' (did you mean "prePing"?)'],
    ["recyclems", ' (did you mean "recycleMs"?)'],
    ["storeTraceback", ""],
    [
      "max",
      " (did you mean poolSize (idle connections kept) and maxOverflow (extra ones while checked out)?)",
    ],
    ["connectionTimeoutMillis", " (did you mean connectTimeoutMs?)"],
    ["acquireTimeoutMillis", " (did you mean timeoutMs?)"],
    ["maxLifetime", " (did you mean recycleMs?)"],
    ["pool_pre_ping", " (did you mean prePing?)"],
  ];
  for (const [key, hint] of cases) {
    assertRejected(
      { [key]: 1 },
      TypeError,
      `Cannot create pool: unknown option "${key}" for AsyncAdaptedQueuePool${hint}`,
    );
  }
});

Deno.test("QueuePool constructor treats an undefined option value as absent", async () => {
  await using pool = new QueuePool(
    fakeCreator(),
    loose({
      poolSize: undefined,
      someTypo: undefined,
    }),
  );
  assert.equal(pool.size(), 5);
});

Deno.test("QueuePool constructor rejects options that are not an object with TypeError", () => {
  for (const options of [5, "poolSize", null, [], true]) {
    assertRejected(
      options,
      TypeError,
      /^Cannot create pool: options must be a plain object, received /,
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

Deno.test("QueuePool constructor rejects a bad poolSize with RangeError naming option and value", () => {
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

Deno.test("QueuePool constructor rejects a bad maxOverflow with RangeError naming option and value", () => {
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

Deno.test("QueuePool constructor rejects a bad timeoutMs with RangeError naming option and value", () => {
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

Deno.test("QueuePool constructor rejects a bad recycleMs with RangeError naming option and value", () => {
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

Deno.test("every pool class validates connectTimeoutMs, validationTimeoutMs, createBackoffMs and idleTimeoutMs like the other durations", async () => {
  for (
    const key of [
      "connectTimeoutMs",
      "validationTimeoutMs",
      "createBackoffMs",
      "idleTimeoutMs",
    ]
  ) {
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
      for (const { Class } of POOL_CLASSES) {
        await using _pool = new Class(fakeCreator(), { [key]: value });
      }
    }
  }
});

Deno.test("QueuePool constructor rejects a string where a number is expected with TypeError", () => {
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

Deno.test("QueuePool constructor accepts the edge values of its number options", async () => {
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

Deno.test("QueuePool constructor rejects wrongly typed non-number options with TypeError", () => {
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

Deno.test("QueuePool constructor rejects an unknown event name in events with TypeError", () => {
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

Deno.test("QueuePool constructor rejects an invalid resetOnReturn with TypeError listing the allowed values", () => {
  const allowed = `"rollback", "commit", true, false or null`;
  for (
    const [value, shown] of [
      ["none", `"none"`],
      ["ROLLBACK", `"ROLLBACK"`],
      [0, "0"],
      [1, "1"],
      [{}, "an object"],
      [new Map(), "a Map"],
    ] as const
  ) {
    assertRejected(
      { resetOnReturn: value },
      TypeError,
      `Cannot create pool: "resetOnReturn" must be ${allowed}, received ${shown}`,
    );
  }
});

Deno.test("QueuePool constructor accepts every valid resetOnReturn", async () => {
  for (
    const resetOnReturn of ["rollback", "commit", true, false, null] as const
  ) {
    await using pool = new QueuePool(fakeCreator(), { resetOnReturn });
    assert.equal(pool.size(), 5);
  }
});

Deno.test("QueuePool constructor rejects prePing without a dialect ping with TypeError", () => {
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
  // A ping that is not a function makes the dialect itself invalid.
  assertRejected(
    { prePing: true, dialect: notAFunction },
    TypeError,
    `Cannot create pool: "dialect.ping" must be a function, received true`,
  );
});

Deno.test("QueuePool constructor accepts prePing with a ping-capable dialect", async () => {
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

Deno.test("QueuePool constructor validates before making any connection", () => {
  const driver = new FakeDriver();
  assert.throws(
    () => new QueuePool(driver.creator, { poolSize: -1 }),
    RangeError,
  );
  assert.equal(driver.counts.create, undefined);
});

// ------------------------------------------------------------------ Every pool class

/** Asserts that every pool class rejects `options` with a TypeError whose message is `message`. */
function assertEveryPoolRejects(options: unknown, message: string): void {
  for (const { name, Class: Pool } of POOL_CLASSES) {
    const driver = new FakeDriver();
    assert.throws(
      () => new Pool(driver.creator, options as PoolOptions<FakeConnection>),
      (error: unknown) => {
        assert(error instanceof TypeError, `${name}: got ${error}`);
        assert.equal(error.message, message, name);
        return true;
      },
    );
    assert.equal(driver.counts.create, undefined, name);
  }
}

const DIALECT_METHODS = [
  "rollback",
  "commit",
  "close",
  "terminate",
  "ping",
  "isDisconnect",
  "inTransaction",
  "isBusy",
  "isClosed",
] as const;

Deno.test("every pool class rejects a dialect method that is present but not a function, naming the method and the value", () => {
  for (const method of DIALECT_METHODS) {
    for (
      const [value, shown] of [
        ["ROLLBACK", `"ROLLBACK"`],
        [true, "true"],
        [null, "null"],
        [{}, "an object"],
      ] as const
    ) {
      assertEveryPoolRejects(
        { dialect: { name: "broken", [method]: value } },
        `Cannot create pool: "dialect.${method}" must be a function, received ${shown}`,
      );
    }
  }
});

Deno.test("every pool class accepts dialect methods that are inherited from a class, or explicitly undefined", async () => {
  class ClassDialect implements Dialect<FakeConnection> {
    readonly name = "class";
    rollback(connection: FakeConnection): void {
      connection.rollback();
    }
    close(connection: FakeConnection): void {
      connection.close();
    }
  }
  for (const { name, Class: Pool } of POOL_CLASSES) {
    for (
      const dialect of [
        new ClassDialect(),
        { name: "sparse", ping: undefined, isBusy: undefined },
      ]
    ) {
      const driver = new FakeDriver();
      await using pool = new Pool(driver.creator, {
        dialect: dialect as Dialect<FakeConnection>,
      });
      await cycle(pool);
      if (dialect instanceof ClassDialect) {
        assert.equal(driver.counts.rollback, 1, name);
      }
    }
  }
});

Deno.test("every pool class rejects a legacy listener in the listeners option whose hook is present but not a function", () => {
  const events = ["connect", "firstConnect", "checkout", "checkin"] as const;
  for (const [index, event] of events.entries()) {
    const listeners = [
      ...Array.from({ length: index }, () => ({ checkin: () => {} })),
      { [event]: "log" },
    ];
    assertEveryPoolRejects(
      { listeners },
      `Cannot create pool: "listeners[${index}].${event}" must be a function, received "log"`,
    );
  }
  assertEveryPoolRejects(
    { listeners: [{ checkout: null }] },
    `Cannot create pool: "listeners[0].checkout" must be a function, received null`,
  );
});

Deno.test("addListener() rejects a listener whose hook is present but not a function, and subscribes none of its hooks", async () => {
  for (const { name, Class: Pool } of POOL_CLASSES) {
    const driver = new FakeDriver();
    await using pool = new Pool(driver.creator, { dialect: driver.dialect });
    const calls: string[] = [];
    const listener = {
      connect: () => void calls.push("connect"),
      checkout: () => void calls.push("checkout"),
      checkin: 42,
    };
    assert.throws(
      () =>
        pool.addListener(listener as unknown as PoolListener<FakeConnection>),
      (error: unknown) => {
        assert(error instanceof TypeError, `${name}: got ${error}`);
        assert.equal(
          error.message,
          `Cannot add listener: "checkin" must be a function, received 42`,
        );
        return true;
      },
    );
    await cycle(pool);
    assert.deepEqual(calls, [], name);
  }
});

Deno.test("every pool class rejects a clock that returns anything but a finite number, naming the clock and the reading", () => {
  for (
    const [reading, shown] of [
      [NaN, "NaN"],
      [Infinity, "Infinity"],
      [-Infinity, "-Infinity"],
      [undefined, "undefined"],
      ["5", `"5"`],
      [5n, "5n"],
      [new Date(0), "a Date"],
    ] as const
  ) {
    assertEveryPoolRejects(
      { clock: () => reading },
      `Cannot create pool: "clock" must return a finite number, received ${shown}`,
    );
  }
});

Deno.test("every pool class reads a given clock once at construction and accepts any finite reading", async () => {
  for (const { name, Class: Pool } of POOL_CLASSES) {
    for (const reading of [0, -1_000, 1e15]) {
      let calls = 0;
      await using _pool = new Pool(fakeCreator(), {
        clock: () => (calls++, reading),
      });
      assert.equal(calls, 1, name);
    }
  }
});

Deno.test("every pool class rejects options that are not a plain object, naming what it received", () => {
  class Settings {
    poolSize = 1;
  }
  const anonymous = new (class {})();
  for (
    const [options, shown] of [
      [new Map([["poolSize", 1]]), "a Map"],
      [new Set(), "a Set"],
      [new Date(0), "a Date"],
      [new Settings(), "an instance of Settings"],
      [anonymous, "an instance of an anonymous class"],
      [[], "an array"],
      [() => ({ poolSize: 1 }), "a function"],
      [null, "null"],
      [5, "5"],
      ["poolSize", `"poolSize"`],
    ] as const
  ) {
    assertEveryPoolRejects(
      options,
      `Cannot create pool: options must be a plain object, received ${shown}`,
    );
  }
});

Deno.test("pool options are read from their own keys only: inherited keys are ignored", async () => {
  await using queue = new QueuePool(
    fakeCreator(),
    Object.create({ poolSize: 1 }),
  );
  assert.equal(queue.size(), 5);
  for (const { name, Class: Pool } of POOL_CLASSES) {
    const driver = new FakeDriver();
    // An inherited unknown key is not an error, and an inherited
    // resetOnReturn: null does not turn the reset off.
    const options = Object.create({ resetOnReturn: null, bogus: 1 });
    options.dialect = driver.dialect;
    await using pool = new Pool(driver.creator, options);
    await cycle(pool);
    assert.equal(driver.counts.rollback, 1, name);
  }
});

Deno.test("every pool class accepts options in a null-prototype object", async () => {
  await using queue = new QueuePool(
    fakeCreator(),
    Object.assign(Object.create(null), { poolSize: 2, maxOverflow: 0 }),
  );
  assert.equal(queue.size(), 2);
  for (const { name, Class: Pool } of POOL_CLASSES) {
    const driver = new FakeDriver();
    const options = Object.assign(Object.create(null), {
      dialect: driver.dialect,
      resetOnReturn: "commit",
    });
    await using pool = new Pool(driver.creator, options);
    await cycle(pool);
    assert.equal(driver.counts.commit, 1, name);
  }
});

Deno.test("recreate() on every pool class re-validates and reuses the stored options", async () => {
  class ClassDialect implements Dialect<FakeConnection> {
    readonly name = "class";
    commit(connection: FakeConnection): void {
      connection.commit();
    }
    close(connection: FakeConnection): void {
      connection.close();
    }
  }
  for (const { name, Class: Pool } of POOL_CLASSES) {
    const driver = new FakeDriver();
    let connects = 0;
    let readings = 0;
    const options = Object.assign(Object.create(null), {
      dialect: new ClassDialect(),
      resetOnReturn: "commit",
      clock: () => readings++,
      listeners: [{ connect: () => void connects++ }],
    });
    const old = new Pool(driver.creator, options);
    await old.dispose();
    await using pool = old.recreate();
    await using again = pool.recreate();
    assert.equal(readings, 3, name);
    await cycle(pool);
    await cycle(again);
    assert.equal(driver.counts.commit, 2, name);
    assert.equal(connects, 2, name);
  }
});
