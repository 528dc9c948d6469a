/**
 * OpenTelemetry metrics for a pool, named as the OpenTelemetry semantic
 * conventions name a database client's connection pool
 * (`db.client.connection.*`): {@linkcode instrumentPool}.
 *
 * - The gauges and the timeout counter are observed: the meter reads the
 *   pool's {@linkcode Pool.stats} when it collects, and the pool does no
 *   work for them in between.
 * - The three histograms (`create_time`, `wait_time`, `use_time`, in
 *   seconds) are recorded as things happen, and only while the pool is
 *   instrumented: an uninstrumented pool pays one `null` check per
 *   checkout and per return.
 * - This entry needs `npm:@opentelemetry/api`; the core (`@dbpool/pool`)
 *   has no dependency.
 *
 * @example With the OpenTelemetry SDK's in-memory exporter
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   AggregationTemporality,
 *   InMemoryMetricExporter,
 *   MeterProvider,
 *   PeriodicExportingMetricReader,
 * } from "npm:@opentelemetry/sdk-metrics@^2";
 * import { QueuePool } from "@dbpool/pool";
 * import { instrumentPool } from "@dbpool/pool/otel";
 *
 * const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
 * const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
 * const provider = new MeterProvider({ readers: [reader] });
 *
 * await using pool = new QueuePool(() => ({}), { poolSize: 2, loggingName: "app" });
 * using _metrics = instrumentPool(pool, { meter: provider.getMeter("app") });
 * await (await pool.connect()).close();
 *
 * await reader.forceFlush();
 * const names = exporter.getMetrics()[0]!.scopeMetrics[0]!.metrics
 *   .map((metric) => metric.descriptor.name);
 * assert.ok(names.includes("db.client.connection.count"));
 * assert.ok(names.includes("db.client.connection.wait_time"));
 * await provider.shutdown();
 * ```
 *
 * @module
 */

import { metrics } from "npm:@opentelemetry/api@^1.9";
import { Pool } from "./pool.ts";
import {
  attachTimings,
  defaultPoolName,
  poolSnapshot,
} from "./_instrumentation.ts";
import { describe, isPlainObject } from "./_options.ts";

// The types of the public signatures, re-exported for the docs.
export type {
  CloseOptions,
  ConnectOptions,
  Creator,
  Pool,
  PoolOptions,
  PoolStats,
} from "./pool.ts";
export type {
  ConnectionPoolEntry,
  InvalidateOptions,
  ManagesConnection,
  PoolProxiedConnection,
} from "./connection.ts";
export type {
  HandleErrorContext,
  ListenOptions,
  PoolEventMap,
  PoolEventName,
  PoolListener,
  PoolListenerFn,
  PoolResetState,
} from "./events.ts";
export type { Dialect } from "./dialect.ts";
export type { PoolLogger } from "./logger.ts";

/**
 * The attributes of one measurement.
 *
 * @example
 * ```ts
 * import type { MeasurementAttributes } from "@dbpool/pool/otel";
 *
 * const attributes: MeasurementAttributes = { "db.client.connection.pool.name": "primary" };
 * ```
 */
export type MeasurementAttributes = Record<string, string | number | boolean>;

/**
 * How {@linkcode instrumentPool} describes each instrument it makes.
 *
 * @example
 * ```ts
 * import type { PoolInstrumentOptions } from "@dbpool/pool/otel";
 *
 * const options: PoolInstrumentOptions = { unit: "s", description: "Checkout wait" };
 * ```
 */
export interface PoolInstrumentOptions {
  /** The unit, in UCUM (`s`, `{connection}`). */
  unit?: string;
  /** What the instrument measures. */
  description?: string;
  /** Hints to the SDK, such as histogram bucket boundaries in seconds. */
  advice?: { explicitBucketBoundaries?: number[] };
}

/**
 * The histograms {@linkcode instrumentPool} records to.
 *
 * @example
 * ```ts
 * import type { PoolHistogram } from "@dbpool/pool/otel";
 *
 * const recorded: number[] = [];
 * const histogram: PoolHistogram = { record: (value) => void recorded.push(value) };
 * histogram.record(0.004);
 * ```
 */
export interface PoolHistogram {
  /** Records one value. */
  record(value: number, attributes?: MeasurementAttributes): void;
}

/**
 * What the callback of the observed instruments is given at each
 * collection.
 *
 * @example
 * ```ts
 * import type { PoolObservations } from "@dbpool/pool/otel";
 *
 * const seen: number[] = [];
 * const observations: PoolObservations = { observe: (_instrument, value) => void seen.push(value) };
 * observations.observe({}, 3);
 * ```
 */
export interface PoolObservations {
  /** Reports `value` for one of the observed instruments. */
  observe(
    instrument: object,
    value: number,
    attributes?: MeasurementAttributes,
  ): void;
}

/**
 * What {@linkcode instrumentPool} needs of a meter: the methods it calls.
 * Every OpenTelemetry `Meter` (from `npm:@opentelemetry/api`, the SDK's,
 * or Deno's built-in one) has them.
 *
 * @example
 * ```ts
 * import { metrics } from "npm:@opentelemetry/api@^1.9";
 * import type { PoolMeter } from "@dbpool/pool/otel";
 *
 * const meter: PoolMeter = metrics.getMeter("my-service");
 * ```
 */
export interface PoolMeter {
  /** Makes a histogram. */
  createHistogram(
    name: string,
    options?: PoolInstrumentOptions,
  ): PoolHistogram;
  /** Makes a monotonic counter whose value is observed at collection. */
  createObservableCounter(
    name: string,
    options?: PoolInstrumentOptions,
  ): object;
  /** Makes a counter whose value is observed at collection, up or down. */
  createObservableUpDownCounter(
    name: string,
    options?: PoolInstrumentOptions,
  ): object;
  /** Has `callback` observe `instruments` at each collection. */
  addBatchObservableCallback(
    callback: (observations: PoolObservations) => void,
    instruments: object[],
  ): void;
  /** Undoes {@linkcode PoolMeter.addBatchObservableCallback}. */
  removeBatchObservableCallback(
    callback: (observations: PoolObservations) => void,
    instruments: object[],
  ): void;
}

/**
 * Options of {@linkcode instrumentPool}.
 *
 * @example
 * ```ts
 * import { metrics } from "npm:@opentelemetry/api@^1.9";
 * import type { InstrumentPoolOptions } from "@dbpool/pool/otel";
 *
 * const options: InstrumentPoolOptions = {
 *   meter: metrics.getMeter("my-service"),
 *   poolName: "primary",
 * };
 * ```
 */
export interface InstrumentPoolOptions {
  /**
   * Where the instruments are made. Default:
   * `metrics.getMeter("@dbpool/pool")` from `@opentelemetry/api`, the
   * global meter provider's (Deno's own with `OTEL_DENO=true`; a no-op
   * meter when no provider is registered).
   */
  meter?: PoolMeter;
  /**
   * The `db.client.connection.pool.name` attribute of every measurement,
   * unique within the application. Default: the pool's `loggingName`, else
   * `host:port/database` (or the SQLite path) for a pool made by
   * `createPoolFromUrl`, else the pool's class name.
   */
  poolName?: string;
}

/** Name of the attribute that tells pools apart. */
const POOL_NAME = "db.client.connection.pool.name";
/** Name of the attribute that tells idle connections from used ones. */
const STATE = "db.client.connection.state";
const INSTRUMENT_OPTION_KEYS = new Set(["meter", "poolName"]);
/**
 * Histogram bucket boundaries, in seconds: the conventions' own for
 * database durations (1 ms to 10 s), below them 10 µs to 500 µs, where
 * the waits of a pool with idle connections fall.
 */
const BUCKETS: readonly number[] = [
  0.00001,
  0.00005,
  0.0001,
  0.0005,
  0.001,
  0.005,
  0.01,
  0.05,
  0.1,
  0.5,
  1,
  5,
  10,
];

/**
 * Reports `pool`'s metrics through an OpenTelemetry meter, as the
 * semantic conventions for database client connection pools name them,
 * every measurement with the attribute `db.client.connection.pool.name`:
 *
 * | instrument | kind | what |
 * | --- | --- | --- |
 * | `db.client.connection.count` | up-down counter | open connections, by `db.client.connection.state`: `idle` or `used` (open and not idle) |
 * | `db.client.connection.idle.max` | up-down counter | most connections kept idle (not reported when unbounded) |
 * | `db.client.connection.idle.min` | up-down counter | fewest connections kept idle (`minIdle`) |
 * | `db.client.connection.max` | up-down counter | most connections open at a time (not reported when unbounded) |
 * | `db.client.connection.pending_requests` | up-down counter | checkouts waiting |
 * | `db.client.connection.timeouts` | counter | checkouts that timed out waiting |
 * | `db.client.connection.create_time` | histogram (s) | time the creator took to make a connection |
 * | `db.client.connection.wait_time` | histogram (s) | time from `connect()` to the connection, for each checkout that got one |
 * | `db.client.connection.use_time` | histogram (s) | time from a checkout to its return (a detached connection never returns) |
 *
 * Instrumenting a pool twice (two meters, say) reports to both. Disposing
 * the result stops the reporting; the pool is not touched otherwise. A
 * duration is recorded where the pool is instrumented when it ends: a
 * checkout still waiting when its instrumentation is disposed (or replaced)
 * is not recorded there.
 *
 * @typeParam C The pool's driver connection type.
 * @param pool The pool to report on.
 * @param options The meter and the pool's name.
 * @returns What stops the reporting, for `using` or `[Symbol.dispose]()`.
 * @throws {TypeError} When `pool` is not a pool, or an option is invalid.
 *
 * @example With Deno's built-in OpenTelemetry (run with `OTEL_DENO=true`)
 * ```ts
 * import { QueuePool } from "@dbpool/pool";
 * import { instrumentPool } from "@dbpool/pool/otel";
 *
 * await using pool = new QueuePool(() => ({}), { loggingName: "primary" });
 * // The global meter: Deno's exporter with OTEL_DENO=true, else a no-op.
 * using _metrics = instrumentPool(pool);
 * await (await pool.connect()).close();
 * ```
 */
export function instrumentPool<C>(
  pool: Pool<C>,
  options: InstrumentPoolOptions = {},
): Disposable {
  if (!(pool instanceof Pool)) {
    throw new TypeError(
      `Cannot instrument pool: "pool" must be a Pool, received ${
        describe(pool)
      }`,
    );
  }
  const { meter, poolName } = checkOptions(options);
  const attributes: MeasurementAttributes = {
    [POOL_NAME]: poolName ?? defaultPoolName(pool),
  };
  const idle: MeasurementAttributes = { ...attributes, [STATE]: "idle" };
  const used: MeasurementAttributes = { ...attributes, [STATE]: "used" };

  // No integer valueType: Deno's built-in meter takes doubles only.
  const connections = { unit: "{connection}" };
  const count = meter.createObservableUpDownCounter(
    "db.client.connection.count",
    {
      ...connections,
      description:
        "The number of connections that are currently in state described by the state attribute",
    },
  );
  const idleMax = meter.createObservableUpDownCounter(
    "db.client.connection.idle.max",
    {
      ...connections,
      description: "The maximum number of idle open connections allowed",
    },
  );
  const idleMin = meter.createObservableUpDownCounter(
    "db.client.connection.idle.min",
    {
      ...connections,
      description: "The minimum number of idle open connections allowed",
    },
  );
  const max = meter.createObservableUpDownCounter(
    "db.client.connection.max",
    {
      ...connections,
      description: "The maximum number of open connections allowed",
    },
  );
  const pending = meter.createObservableUpDownCounter(
    "db.client.connection.pending_requests",
    {
      unit: "{request}",
      description:
        "The number of current pending requests for an open connection",
    },
  );
  const timeouts = meter.createObservableCounter(
    "db.client.connection.timeouts",
    {
      unit: "{timeout}",
      description:
        "The number of connection timeouts that have occurred trying to obtain a connection from the pool",
    },
  );
  const observed: object[] = [
    count,
    idleMax,
    idleMin,
    max,
    pending,
    timeouts,
  ];
  const observe = (result: PoolObservations): void => {
    const { stats, idleMax: mostIdle, idleMin: leastIdle } = poolSnapshot(
      pool,
    );
    result.observe(count, stats.idle, idle);
    result.observe(count, Math.max(0, stats.open - stats.idle), used);
    if (mostIdle !== null) result.observe(idleMax, mostIdle, attributes);
    result.observe(idleMin, leastIdle, attributes);
    if (stats.max !== null) result.observe(max, stats.max, attributes);
    result.observe(pending, stats.pending, attributes);
    result.observe(timeouts, stats.timeouts, attributes);
  };
  const seconds = {
    unit: "s",
    advice: { explicitBucketBoundaries: [...BUCKETS] },
  };
  const createTime = meter.createHistogram(
    "db.client.connection.create_time",
    { ...seconds, description: "The time it took to create a new connection" },
  );
  const waitTime = meter.createHistogram("db.client.connection.wait_time", {
    ...seconds,
    description: "The time it took to obtain an open connection from the pool",
  });
  const useTime = meter.createHistogram("db.client.connection.use_time", {
    ...seconds,
    description:
      "The time between borrowing a connection and returning it to the pool",
  });
  // Every instrument is made before anything is registered: a meter that
  // throws leaves nothing behind.
  meter.addBatchObservableCallback(observe, observed);
  const detach = attachTimings(pool, {
    wait: (ms) => waitTime.record(ms / 1000, attributes),
    use: (ms) => useTime.record(ms / 1000, attributes),
    create: (ms) => createTime.record(ms / 1000, attributes),
  });

  let disposed = false;
  return {
    [Symbol.dispose](): void {
      if (disposed) return;
      disposed = true;
      detach();
      meter.removeBatchObservableCallback(observe, observed);
    },
  };
}

/** The options, checked, with the default meter. */
function checkOptions(
  options: unknown,
): { meter: PoolMeter; poolName: string | undefined } {
  if (!isPlainObject(options)) {
    throw new TypeError(
      `Cannot instrument pool: "options" must be a plain object, received ${
        describe(options)
      }`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!INSTRUMENT_OPTION_KEYS.has(key)) {
      throw new TypeError(
        `Cannot instrument pool: unknown option "${key}", expected "meter" or "poolName"`,
      );
    }
  }
  const given = options.meter ?? metrics.getMeter("@dbpool/pool");
  const poolName = options.poolName;
  for (
    const method of [
      "createHistogram",
      "createObservableCounter",
      "createObservableUpDownCounter",
      "addBatchObservableCallback",
      "removeBatchObservableCallback",
    ] as const
  ) {
    if (
      typeof given !== "object" || given === null ||
      typeof (given as Record<string, unknown>)[method] !== "function"
    ) {
      throw new TypeError(
        `Cannot instrument pool: "meter" must be an OpenTelemetry Meter (with ${method}()), received ${
          describe(given)
        }`,
      );
    }
  }
  if (
    poolName !== undefined && (typeof poolName !== "string" || poolName === "")
  ) {
    throw new TypeError(
      `Cannot instrument pool: "poolName" must be a non-empty string, received ${
        describe(poolName)
      }`,
    );
  }
  return {
    meter: given as PoolMeter,
    poolName: poolName as string | undefined,
  };
}
