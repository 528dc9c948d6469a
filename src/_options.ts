/**
 * Strict validation of pool options (D10): unknown keys and wrong types throw
 * `TypeError`, out-of-range numbers `RangeError`, at construction, with a
 * message naming the option and the value received.
 *
 * @module
 */

import { DEFAULT_DIALECT, type Dialect } from "./dialect.ts";
import type { PoolEventName, PoolListener, PoolListenerFn } from "./events.ts";
import type { PoolLogger } from "./logger.ts";
import { CONSOLE_LOGGER } from "./logger.ts";
import { checkEventName } from "./_listeners.ts";

const ACTION = "Cannot create pool";

/** The option keys every pool accepts. */
export const COMMON_KEYS: readonly string[] = [
  "recycleMs",
  "echo",
  "loggingName",
  "logger",
  "resetOnReturn",
  "events",
  "listeners",
  "dialect",
  "prePing",
  "clock",
  "connectTimeoutMs",
  "validationTimeoutMs",
];

/** Renders a received value for an error message. */
export function describe(value: unknown): string {
  if (typeof value === "string") return `"${value}"`;
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "symbol") return value.toString();
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  if (value !== null && typeof value === "object") return "an object";
  return String(value);
}

/** Throws `TypeError` for keys not in `allowed`; returns the options as a record. */
export function checkKeys(
  options: unknown,
  allowed: ReadonlySet<string>,
  className: string,
): Record<string, unknown> {
  if (options === undefined) return {};
  if (
    options === null || typeof options !== "object" || Array.isArray(options)
  ) {
    throw new TypeError(
      `${ACTION}: options must be an object, received ${describe(options)}`,
    );
  }
  const record = options as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!allowed.has(key) && record[key] !== undefined) {
      throw new TypeError(
        `${ACTION}: unknown option "${key}" for ${className}`,
      );
    }
  }
  return record;
}

/** A number option: integer (or finite) and at least `min`. */
export function checkNumber(
  record: Record<string, unknown>,
  key: string,
  fallback: number,
  min: number,
  integer: boolean,
): number {
  const value = record[key];
  if (value === undefined) return fallback;
  if (typeof value !== "number") {
    throw new TypeError(
      `${ACTION}: "${key}" must be a number, received ${describe(value)}`,
    );
  }
  if (
    !Number.isFinite(value) || value < min ||
    (integer && !Number.isInteger(value))
  ) {
    throw new RangeError(
      `${ACTION}: "${key}" must be ${
        integer ? "an integer" : "a finite number"
      } >= ${min}, received ${describe(value)}`,
    );
  }
  return value;
}

/** A number option that also accepts `null`. */
export function checkNullableNumber(
  record: Record<string, unknown>,
  key: string,
  fallback: number | null,
  min: number,
): number | null {
  if (record[key] === null) return null;
  if (record[key] === undefined) return fallback;
  return checkNumber(record, key, 0, min, false);
}

/** A boolean option. */
export function checkBoolean(
  record: Record<string, unknown>,
  key: string,
  fallback: boolean,
): boolean {
  const value = record[key];
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") {
    throw new TypeError(
      `${ACTION}: "${key}" must be a boolean, received ${describe(value)}`,
    );
  }
  return value;
}

/** Common options, normalised. */
export interface CommonOptions<C> {
  recycleMs: number | null;
  echo: boolean | "debug";
  loggingName: string | undefined;
  logger: PoolLogger;
  resetOnReturn: "rollback" | "commit" | null;
  events: ReadonlyArray<readonly [PoolEventName, PoolListenerFn]>;
  listeners: ReadonlyArray<PoolListener<C>>;
  dialect: Dialect<C>;
  prePing: boolean;
  clock: () => number;
  /** `true` when no `clock` was given (the real monotonic clock). */
  clockIsDefault: boolean;
  connectTimeoutMs: number | null;
  validationTimeoutMs: number | null;
}

function defaultClock(): number {
  return performance.now();
}

/** Validates and normalises the options every pool has. */
export function checkCommon<C>(
  record: Record<string, unknown>,
): CommonOptions<C> {
  const recycleMs = checkNullableNumber(record, "recycleMs", null, 0);

  const echo = record.echo ?? false;
  if (typeof echo !== "boolean" && echo !== "debug") {
    throw new TypeError(
      `${ACTION}: "echo" must be a boolean or "debug", received ${
        describe(echo)
      }`,
    );
  }

  const loggingName = record.loggingName;
  if (loggingName !== undefined && typeof loggingName !== "string") {
    throw new TypeError(
      `${ACTION}: "loggingName" must be a string, received ${
        describe(loggingName)
      }`,
    );
  }

  const logger = record.logger ?? CONSOLE_LOGGER;
  if (
    logger === null || typeof logger !== "object" ||
    !["debug", "info", "warn", "error"].every((level) =>
      typeof (logger as Record<string, unknown>)[level] === "function"
    )
  ) {
    throw new TypeError(
      `${ACTION}: "logger" must have debug, info, warn and error methods, received ${
        describe(logger)
      }`,
    );
  }

  let resetOnReturn: "rollback" | "commit" | null;
  const reset = record.resetOnReturn;
  if (reset === undefined || reset === "rollback" || reset === true) {
    resetOnReturn = "rollback";
  } else if (reset === "commit") {
    resetOnReturn = "commit";
  } else if (reset === null || reset === false) {
    resetOnReturn = null;
  } else {
    throw new TypeError(
      `Invalid value for 'resetOnReturn': ${describe(reset)}`,
    );
  }

  const events = record.events ?? [];
  if (!Array.isArray(events)) {
    throw new TypeError(
      `${ACTION}: "events" must be an array of [name, listener] pairs, received ${
        describe(events)
      }`,
    );
  }
  for (const pair of events) {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new TypeError(
        `${ACTION}: each of "events" must be a [name, listener] pair, received ${
          describe(pair)
        }`,
      );
    }
    checkEventName(pair[0], "create pool");
    if (typeof pair[1] !== "function") {
      throw new TypeError(
        `${ACTION}: the listener of "${
          pair[0]
        }" in "events" must be a function, received ${describe(pair[1])}`,
      );
    }
  }

  const listeners = record.listeners ?? [];
  if (
    !Array.isArray(listeners) ||
    !listeners.every((item) => item !== null && typeof item === "object")
  ) {
    throw new TypeError(
      `${ACTION}: "listeners" must be an array of listener objects, received ${
        describe(listeners)
      }`,
    );
  }

  const dialect = record.dialect ?? DEFAULT_DIALECT;
  if (
    dialect === null || typeof dialect !== "object" ||
    typeof (dialect as Dialect<C>).name !== "string"
  ) {
    throw new TypeError(
      `${ACTION}: "dialect" must be an object with a string "name", received ${
        describe(dialect)
      }`,
    );
  }

  const prePing = checkBoolean(record, "prePing", false);
  if (prePing && typeof (dialect as Dialect<C>).ping !== "function") {
    throw new TypeError(
      `${ACTION}: "prePing" requires a dialect with a ping() method, received dialect "${
        (dialect as Dialect<C>).name
      }" without one`,
    );
  }

  const clock = record.clock ?? defaultClock;
  if (typeof clock !== "function") {
    throw new TypeError(
      `${ACTION}: "clock" must be a function, received ${describe(clock)}`,
    );
  }

  return {
    recycleMs,
    echo,
    loggingName,
    logger: logger as PoolLogger,
    resetOnReturn,
    events: events as ReadonlyArray<readonly [PoolEventName, PoolListenerFn]>,
    listeners: listeners as ReadonlyArray<PoolListener<C>>,
    dialect: dialect as Dialect<C>,
    prePing,
    clock: clock as () => number,
    clockIsDefault: clock === defaultClock,
    connectTimeoutMs: checkNullableNumber(
      record,
      "connectTimeoutMs",
      30_000,
      0,
    ),
    validationTimeoutMs: checkNullableNumber(
      record,
      "validationTimeoutMs",
      5_000,
      0,
    ),
  };
}
