/**
 * Strict validation of pool options (D10): options that are not a plain
 * object, unknown keys and wrong types throw `TypeError`, out-of-range
 * numbers `RangeError`, at construction, with a message naming the option
 * and the value received. Only own enumerable keys are read.
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

/**
 * Constructors of built-in objects that {@linkcode describe} names by kind
 * ("a Map") rather than as "an instance of …".
 */
// deno-lint-ignore ban-types -- built-in constructors of every shape.
const BUILT_INS: ReadonlySet<Function> = new Set<Function>([
  Map,
  Set,
  WeakMap,
  WeakSet,
  Date,
  RegExp,
  Promise,
  Error,
  ArrayBuffer,
  DataView,
  Uint8Array,
]);

/**
 * The nearest `constructor` an object inherits: the value of the first
 * own `constructor` property along its prototype chain (the object's own
 * properties are not looked at), or `null` for a chain without one.
 */
// deno-lint-ignore ban-types -- any constructor.
function constructorOf(value: object): Function | null {
  for (
    let proto: object | null = Object.getPrototypeOf(value);
    proto !== null;
    proto = Object.getPrototypeOf(proto)
  ) {
    const own = Object.getOwnPropertyDescriptor(proto, "constructor");
    if (own !== undefined) {
      return typeof own.value === "function" ? own.value : null;
    }
  }
  return null;
}

/** `Object` itself, or another realm's `Object`. */
// deno-lint-ignore ban-types -- any constructor.
function isObjectConstructor(ctor: Function): boolean {
  return ctor === Object ||
    (ctor.name === "Object" && typeof ctor.prototype === "object" &&
      ctor.prototype !== null &&
      Object.getPrototypeOf(ctor.prototype) === null);
}

/**
 * Whether `value` is a plain object: an object literal, an
 * `Object.create(null)` object, or an object whose prototypes are plain
 * objects. Arrays, functions, `Map`s and class instances are not.
 */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return false;
  }
  const ctor = constructorOf(value);
  return ctor === null || isObjectConstructor(ctor);
}

/** Renders a received value for an error message. */
export function describe(value: unknown): string {
  if (typeof value === "string") return `"${value}"`;
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "symbol") return value.toString();
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  if (value !== null && typeof value === "object") {
    const ctor = constructorOf(value);
    if (ctor === null || isObjectConstructor(ctor)) return "an object";
    if (BUILT_INS.has(ctor)) {
      return `${/^[AEIOU]/.test(ctor.name) ? "an" : "a"} ${ctor.name}`;
    }
    return ctor.name === ""
      ? "an instance of an anonymous class"
      : `an instance of ${ctor.name}`;
  }
  return String(value);
}

/**
 * Throws `TypeError` unless `options` is `undefined` or a plain object,
 * and for keys not in `allowed`. Returns a null-prototype copy of the own
 * enumerable keys: inherited keys are never read as options.
 */
export function checkKeys(
  options: unknown,
  allowed: ReadonlySet<string>,
  className: string,
): Record<string, unknown> {
  const record: Record<string, unknown> = Object.create(null);
  if (options === undefined) return record;
  if (!isPlainObject(options)) {
    throw new TypeError(
      `${ACTION}: options must be a plain object, received ${
        describe(options)
      }`,
    );
  }
  for (const key of Object.keys(options)) {
    const value = options[key];
    if (!allowed.has(key) && value !== undefined) {
      throw new TypeError(
        `${ACTION}: unknown option "${key}" for ${className}`,
      );
    }
    if (value !== undefined) record[key] = value;
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

/**
 * The optional methods of {@linkcode Dialect}: each one present must be a
 * function.
 */
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
] as const satisfies readonly Exclude<keyof Dialect<unknown>, "name">[];

/** Fails to type-check when a method of `Dialect` is missing from {@linkcode DIALECT_METHODS}. */
const _everyDialectMethod: [
  Exclude<
    Exclude<keyof Dialect<unknown>, "name">,
    typeof DIALECT_METHODS[number]
  >,
] extends [never] ? true : never = true;

/** The hooks of a legacy listener object, in SQLAlchemy's order. */
export const LEGACY_EVENTS = [
  "connect",
  "firstConnect",
  "checkout",
  "checkin",
] as const satisfies readonly (keyof PoolListener<unknown>)[];

/**
 * Throws `TypeError` when a hook of a legacy listener object is present
 * (not `undefined`) but not a function. Hooks may be inherited (methods of
 * a class).
 *
 * @param action The failed action, for the message.
 * @param prefix Put before the hook name in the message, e.g. `listeners[0].`.
 */
export function checkLegacyHooks(
  listener: object,
  action: string,
  prefix: string,
): void {
  for (const name of LEGACY_EVENTS) {
    const hook: unknown = (listener as Record<string, unknown>)[name];
    if (hook !== undefined && typeof hook !== "function") {
      throw new TypeError(
        `${action}: "${prefix}${name}" must be a function, received ${
          describe(hook)
        }`,
      );
    }
  }
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
      `${ACTION}: "resetOnReturn" must be "rollback", "commit", true, false or null, received ${
        describe(reset)
      }`,
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
  listeners.forEach((listener: object, index) =>
    checkLegacyHooks(listener, ACTION, `listeners[${index}].`)
  );

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
  for (const method of DIALECT_METHODS) {
    const member: unknown = (dialect as Dialect<C>)[method];
    if (member !== undefined && typeof member !== "function") {
      throw new TypeError(
        `${ACTION}: "dialect.${method}" must be a function, received ${
          describe(member)
        }`,
      );
    }
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
  if (clock !== defaultClock) {
    // One reading up front: a clock returning NaN or Infinity would make
    // every deadline unreachable and every age unmeasurable.
    const reading: unknown = clock();
    if (typeof reading !== "number" || !Number.isFinite(reading)) {
      throw new TypeError(
        `${ACTION}: "clock" must return a finite number, received ${
          describe(reading)
        }`,
      );
    }
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
