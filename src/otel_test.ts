/**
 * `instrumentPool()`: the instruments, their names, units and attributes,
 * the values they read from each pool class, the three histograms timed on
 * the pool's clock, and disposal. Measured through the OpenTelemetry SDK
 * and its in-memory exporter.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from "npm:@opentelemetry/sdk-metrics@^2";
import { FakeClock, FakeDriver, recordingLogger } from "./_test_fake_driver.ts";
import { AssertionPool } from "./assertion_pool.ts";
import { NullPool } from "./null_pool.ts";
import { instrumentPool } from "./otel.ts";
import { QueuePool } from "./queue_pool.ts";
import { SingletonContextPool } from "./singleton_context_pool.ts";
import { StaticPool } from "./static_pool.ts";
import { createPoolFromUrl } from "./url.ts";
import { poolInternals } from "./_pool_classes.ts";
import { needs } from "./_test_permissions.ts";

/** An SDK meter provider whose metrics a test reads when it wants. */
class Metrics implements AsyncDisposable {
  readonly exporter = new InMemoryMetricExporter(
    AggregationTemporality.CUMULATIVE,
  );
  readonly #reader = new PeriodicExportingMetricReader({
    exporter: this.exporter,
    exportIntervalMillis: 3_600_000,
  });
  readonly provider = new MeterProvider({ readers: [this.#reader] });
  readonly meter = this.provider.getMeter("test");

  /** Every metric collected now, by name. */
  async collect(): Promise<Map<string, MetricData>> {
    this.exporter.reset();
    await this.#reader.forceFlush();
    const byName = new Map<string, MetricData>();
    for (const resource of this.exporter.getMetrics()) {
      for (const scope of resource.scopeMetrics) {
        for (const metric of scope.metrics) {
          byName.set(metric.descriptor.name, metric);
        }
      }
    }
    return byName;
  }

  /** The value of each data point of `name`, keyed by its attributes. */
  async points(name: string): Promise<Map<string, unknown>> {
    const metric = (await this.collect()).get(name);
    const points = new Map<string, unknown>();
    for (const point of metric?.dataPoints ?? []) {
      points.set(JSON.stringify(point.attributes), point.value);
    }
    return points;
  }

  /** The one histogram point of `name`. */
  async histogram(name: string): Promise<Histogram> {
    const metric = (await this.collect()).get(name);
    assert.ok(metric !== undefined, `no ${name} collected`);
    assert.equal(metric.dataPoints.length, 1);
    return (metric.dataPoints[0] as DataPoint<Histogram>).value;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.provider.shutdown();
  }
}

const NAME = "db.client.connection.pool.name";

function attrs(pool: string, state?: string): string {
  return JSON.stringify(
    state === undefined
      ? { [NAME]: pool }
      : { [NAME]: pool, "db.client.connection.state": state },
  );
}

Deno.test("instrumentPool reports the conventions' instruments with their units and the pool's name", async () => {
  await using metrics = new Metrics();
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 3,
    maxOverflow: 2,
    loggingName: "primary",
  });
  using _instrumented = instrumentPool(pool, { meter: metrics.meter });
  await (await pool.connect()).close();
  const collected = await metrics.collect();
  const units = Object.fromEntries(
    [...collected.values()].map((metric) => [
      metric.descriptor.name,
      metric.descriptor.unit,
    ]),
  );
  assert.deepEqual(units, {
    "db.client.connection.count": "{connection}",
    "db.client.connection.idle.max": "{connection}",
    "db.client.connection.idle.min": "{connection}",
    "db.client.connection.max": "{connection}",
    "db.client.connection.pending_requests": "{request}",
    "db.client.connection.timeouts": "{timeout}",
    "db.client.connection.create_time": "s",
    "db.client.connection.wait_time": "s",
    "db.client.connection.use_time": "s",
  });
  for (const metric of collected.values()) {
    for (const point of metric.dataPoints) {
      assert.equal(point.attributes[NAME], "primary", metric.descriptor.name);
    }
  }
});

Deno.test("instrumentPool's gauges follow the queue pool: idle and used connections, limits, waiting checkouts, timeouts", async () => {
  await using metrics = new Metrics();
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 2,
    maxOverflow: 1,
    minIdle: 1,
    timeoutMs: 0,
  });
  using _instrumented = instrumentPool(pool, {
    meter: metrics.meter,
    poolName: "p",
  });
  const a = await pool.connect();
  const b = await pool.connect();
  await b.close();
  assert.deepEqual(
    await metrics.points("db.client.connection.count"),
    new Map([[attrs("p", "idle"), 1], [attrs("p", "used"), 1]]),
  );
  assert.deepEqual(
    await metrics.points("db.client.connection.max"),
    new Map([[attrs("p"), 3]]),
  );
  assert.deepEqual(
    await metrics.points("db.client.connection.idle.max"),
    new Map([[attrs("p"), 2]]),
  );
  assert.deepEqual(
    await metrics.points("db.client.connection.idle.min"),
    new Map([[attrs("p"), 1]]),
  );
  const c = await pool.connect();
  const d = await pool.connect();
  // Full, and timeoutMs 0: the next checkout times out at once.
  await assert.rejects(pool.connect(), { name: "PoolTimeoutError" });
  await assert.rejects(pool.connect(), { name: "PoolTimeoutError" });
  assert.deepEqual(
    await metrics.points("db.client.connection.timeouts"),
    new Map([[attrs("p"), 2]]),
  );
  assert.deepEqual(
    await metrics.points("db.client.connection.count"),
    new Map([[attrs("p", "idle"), 0], [attrs("p", "used"), 3]]),
  );
  for (const proxy of [a, c, d]) await proxy.close();
});

Deno.test("instrumentPool counts the checkouts waiting in pending_requests", async () => {
  await using metrics = new Metrics();
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    maxOverflow: 0,
  });
  using _instrumented = instrumentPool(pool, {
    meter: metrics.meter,
    poolName: "p",
  });
  const held = await pool.connect();
  const waiting = [pool.connect(), pool.connect()];
  assert.deepEqual(
    await metrics.points("db.client.connection.pending_requests"),
    new Map([[attrs("p"), 2]]),
  );
  await held.close();
  await (await waiting[0]!).close();
  await (await waiting[1]!).close();
  assert.deepEqual(
    await metrics.points("db.client.connection.pending_requests"),
    new Map([[attrs("p"), 0]]),
  );
});

Deno.test("instrumentPool times creations, waits and uses on the pool's clock, in seconds", async () => {
  await using metrics = new Metrics();
  const clock = new FakeClock();
  const driver = new FakeDriver();
  const creator: typeof driver.creator = (entry) => {
    clock.advance(40); // the creator takes 40 ms
    return driver.creator(entry);
  };
  await using pool = new QueuePool(creator, {
    dialect: driver.dialect,
    poolSize: 1,
    maxOverflow: 0,
    clock: clock.fn,
  });
  using _instrumented = instrumentPool(pool, { meter: metrics.meter });

  const first = await pool.connect(); // waits for the creation: 40 ms
  const second = pool.connect(); // waits for the first's return
  clock.advance(250); // the first is used for 250 ms
  await first.close();
  const next = await second;
  clock.advance(10);
  await next.close();

  const create = await metrics.histogram("db.client.connection.create_time");
  assert.deepEqual([create.count, create.sum], [1, 0.04]);
  const wait = await metrics.histogram("db.client.connection.wait_time");
  assert.equal(wait.count, 2);
  assert.equal(wait.min, 0.04);
  assert.equal(wait.max, 0.25);
  const use = await metrics.histogram("db.client.connection.use_time");
  assert.equal(use.count, 2);
  assert.deepEqual([use.min, use.max], [0.01, 0.25]);
  // Checkout waits are short: buckets go down to 10 microseconds.
  assert.equal(use.buckets.boundaries[0], 0.00001);
});

Deno.test("a clock that goes backwards never makes a negative wait or use: it counts as no time", async () => {
  await using metrics = new Metrics();
  const clock = new FakeClock();
  clock.now = 1_000;
  const driver = new FakeDriver({ async: true });
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    clock: clock.fn,
  });
  using _instrumented = instrumentPool(pool, { meter: metrics.meter });
  const checkout = pool.connect();
  clock.now = 600; // set back while the connection is made
  const proxy = await checkout;
  clock.now = 100; // and again while it is used
  await proxy.close();
  for (const name of ["wait_time", "use_time"]) {
    const histogram = await metrics.histogram(`db.client.connection.${name}`);
    assert.deepEqual([histogram.count, histogram.min, histogram.max], [
      1,
      0,
      0,
    ]);
  }
});

Deno.test("instrumentPool times neither a failed checkout's wait nor a detached connection's use", async () => {
  await using metrics = new Metrics();
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: 0,
  });
  using _instrumented = instrumentPool(pool, { meter: metrics.meter });
  const held = await pool.connect();
  await assert.rejects(pool.connect(), { name: "PoolTimeoutError" });
  await held.detach();
  await held.close();
  const wait = await metrics.histogram("db.client.connection.wait_time");
  assert.equal(wait.count, 1);
  const collected = await metrics.collect();
  assert.equal(
    collected.get("db.client.connection.use_time")?.dataPoints.length ?? 0,
    0,
  );
});

Deno.test("a connection detached while the pool was not instrumented is never timed when it is closed", async () => {
  await using metrics = new Metrics();
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
  });
  const first = instrumentPool(pool, { meter: metrics.meter });
  const proxy = await pool.connect();
  first[Symbol.dispose]();
  await proxy.detach();
  await using later = new Metrics();
  using _again = instrumentPool(pool, { meter: later.meter });
  await proxy.close();
  assert.equal(
    (await later.collect()).get("db.client.connection.use_time"),
    undefined,
  );
});

Deno.test("an invalidated connection's use is timed until its invalidation", async () => {
  await using metrics = new Metrics();
  const clock = new FakeClock();
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    clock: clock.fn,
  });
  using _instrumented = instrumentPool(pool, { meter: metrics.meter });
  const proxy = await pool.connect();
  clock.advance(30);
  await proxy.invalidate(new Error("gone"));
  clock.advance(1_000);
  await proxy.close();
  const use = await metrics.histogram("db.client.connection.use_time");
  assert.deepEqual([use.count, use.sum], [1, 0.03]);
});

Deno.test("instrumentPool's limits for each pool class", async (t) => {
  const driver = new FakeDriver();
  const cases = [
    {
      pool: new NullPool(driver.creator, { dialect: driver.dialect }),
      max: undefined,
      idleMax: 0,
    },
    {
      pool: new StaticPool(driver.creator, { dialect: driver.dialect }),
      max: 1,
      idleMax: 1,
    },
    {
      pool: new AssertionPool(driver.creator, { dialect: driver.dialect }),
      max: 1,
      idleMax: 1,
    },
    {
      pool: new SingletonContextPool(driver.creator, {
        dialect: driver.dialect,
        poolSize: 4,
      }),
      max: 4,
      idleMax: 4,
    },
    {
      pool: new QueuePool(driver.creator, {
        dialect: driver.dialect,
        poolSize: 0,
      }),
      max: undefined,
      idleMax: undefined,
    },
  ];
  for (const { pool, max, idleMax } of cases) {
    await t.step(String(pool), async () => {
      await using metrics = new Metrics();
      using _instrumented = instrumentPool(pool, {
        meter: metrics.meter,
        poolName: "p",
      });
      await (await pool.connect()).close();
      assert.equal(
        (await metrics.points("db.client.connection.max")).get(attrs("p")),
        max,
      );
      assert.equal(
        (await metrics.points("db.client.connection.idle.max")).get(
          attrs("p"),
        ),
        idleMax,
      );
      const count = await metrics.points("db.client.connection.count");
      const stats = pool.stats();
      assert.equal(count.get(attrs("p", "idle")), stats.idle);
      assert.equal(count.get(attrs("p", "used")), stats.open - stats.idle);
      await pool.dispose();
    });
  }
});

Deno.test("the pool name defaults to loggingName, else to the class name", async () => {
  await using metrics = new Metrics();
  const driver = new FakeDriver();
  await using named = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    loggingName: "orders",
  });
  await using plain = new StaticPool(driver.creator, {
    dialect: driver.dialect,
  });
  using _a = instrumentPool(named, { meter: metrics.meter });
  using _b = instrumentPool(plain, { meter: metrics.meter });
  const names = [
    ...(await metrics.points("db.client.connection.idle.min")).keys(),
  ].map((key) => JSON.parse(key)[NAME]).sort();
  assert.deepEqual(names, ["StaticPool", "orders"]);
});

Deno.test({
  name:
    "a pool from createPoolFromUrl is named by its database, without credentials",
  ...needs({ read: true, write: true }),
}, async () => {
  await using metrics = new Metrics();
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/app.db`;
    await using file = await createPoolFromUrl(`sqlite://${path}`);
    await using memory = await createPoolFromUrl("sqlite::memory:");
    await using named = await createPoolFromUrl("sqlite::memory:", {
      loggingName: "cache",
    });
    using _a = instrumentPool(file, { meter: metrics.meter });
    using _b = instrumentPool(memory, { meter: metrics.meter });
    using _c = instrumentPool(named, { meter: metrics.meter });
    const names = [
      ...(await metrics.points("db.client.connection.idle.min")).keys(),
    ].map((key) => JSON.parse(key)[NAME]).sort();
    assert.deepEqual(names, [path, ":memory:", "cache"].sort());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a pool recreated from one made by createPoolFromUrl keeps its name", async () => {
  await using metrics = new Metrics();
  await using original = await createPoolFromUrl("sqlite::memory:");
  await using recreated = original.recreate();
  using _instrumented = instrumentPool(recreated, { meter: metrics.meter });
  const names = [
    ...(await metrics.points("db.client.connection.idle.min")).keys(),
  ].map((key) => JSON.parse(key)[NAME]);
  assert.deepEqual(names, [":memory:"]);
});

Deno.test("disposing the instrumentation stops its reporting; another one on the same pool goes on", async () => {
  await using metrics = new Metrics();
  await using other = new Metrics();
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
  });
  const first = instrumentPool(pool, { meter: metrics.meter });
  const second = instrumentPool(pool, { meter: other.meter });
  await (await pool.connect()).close();
  first[Symbol.dispose]();
  first[Symbol.dispose](); // a second call does nothing
  await (await pool.connect()).close();
  const collected = await metrics.collect();
  assert.equal(collected.get("db.client.connection.count"), undefined);
  assert.equal(
    (await metrics.histogram("db.client.connection.wait_time")).count,
    1,
  );
  assert.equal(
    (await other.histogram("db.client.connection.wait_time")).count,
    2,
  );
  second[Symbol.dispose]();
  // Nothing left attached: checkouts are timed no more.
  assert.equal(poolInternals.engine(pool).context.timings, null);
});

Deno.test("replacing the instrumentation while a checkout waits reports each wait and use once, where it is attached when it ends", async () => {
  await using before = new Metrics();
  await using after = new Metrics();
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    maxOverflow: 0,
  });
  const replaced = instrumentPool(pool, { meter: before.meter });
  const held = await pool.connect();
  const waiting = pool.connect();
  replaced[Symbol.dispose]();
  using _replacement = instrumentPool(pool, { meter: after.meter });
  await held.close();
  await (await waiting).close();
  const wait = "db.client.connection.wait_time";
  const use = "db.client.connection.use_time";
  // The first checkout was served before the replacement, the waiting one
  // after it; both came back after it.
  assert.equal((await before.histogram(wait)).count, 1);
  assert.equal((await before.collect()).get(use), undefined);
  assert.equal((await after.histogram(wait)).count, 1);
  assert.equal((await after.histogram(use)).count, 2);
});

Deno.test("a checkout waiting when the instrumentation is disposed is not reported", async () => {
  await using metrics = new Metrics();
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    maxOverflow: 0,
  });
  const instrumented = instrumentPool(pool, { meter: metrics.meter });
  const held = await pool.connect();
  const waiting = pool.connect();
  instrumented[Symbol.dispose]();
  await held.close();
  await (await waiting).close();
  assert.equal(
    (await metrics.histogram("db.client.connection.wait_time")).count,
    1,
  );
});

Deno.test("instrumentPool rejects what is not a pool, a meter or a name with a TypeError", () => {
  const driver = new FakeDriver();
  const pool = new QueuePool(driver.creator, { dialect: driver.dialect });
  const cases: [unknown, unknown, RegExp][] = [
    [{}, undefined, /"pool" must be a Pool, received an object/],
    [null, undefined, /"pool" must be a Pool, received null/],
    [pool, new Map(), /"options" must be a plain object, received a Map/],
    [pool, { metre: {} }, /unknown option "metre", expected "meter" or/],
    [pool, { meter: {} }, /"meter" must be an OpenTelemetry Meter/],
    [pool, { meter: 1 }, /"meter" must be an OpenTelemetry Meter/],
    [pool, { poolName: "" }, /"poolName" must be a non-empty string/],
    [pool, { poolName: 7 }, /"poolName" must be a non-empty string/],
  ];
  for (const [target, options, message] of cases) {
    assert.throws(
      () =>
        instrumentPool(
          target as QueuePool<object>,
          options as Record<string, never>,
        ),
      (error: unknown) =>
        error instanceof TypeError && message.test(error.message) &&
        error.message.startsWith("Cannot instrument pool: "),
    );
  }
});

Deno.test("without a meter, the global one is used: a no-op when no provider is registered", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
  });
  using _instrumented = instrumentPool(pool);
  await (await pool.connect()).close();
  assert.equal(pool.stats().checkouts, 1);
});

Deno.test("a meter that throws never fails a checkout or a return: its first error is logged", async () => {
  const driver = new FakeDriver();
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    maxOverflow: 0,
    logger,
  });
  const broken = {
    createHistogram: () => ({
      record(): void {
        throw new Error("exporter broke");
      },
    }),
    createObservableCounter: () => ({}),
    createObservableUpDownCounter: () => ({}),
    addBatchObservableCallback(): void {},
    removeBatchObservableCallback(): void {},
  };
  using _instrumented = instrumentPool(pool, { meter: broken });
  for (let i = 0; i < 3; i++) await (await pool.connect()).close();
  assert.deepEqual(
    [pool.stats().checkouts, pool.stats().idle, pool.stats().checkedOut],
    [3, 1, 0],
  );
  const errors = lines.filter((line) => line.level === "error");
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.line, /instrumentation.*exporter broke/);
});
