/**
 * Strict validation of pool options, one table per pool class. A table has
 * one row per option: the function that checks a given value (or
 * `undefined`) and returns it normalised, with its default filled in. The
 * keys a class accepts are its table's keys, and a table is typed against
 * the class's options interface (`satisfies`), so a row cannot be missing
 * or extra. {@linkcode checkOptions} runs a table in its order and hands
 * back the normalised options, which the engine and the policy take as is.
 *
 * Options that are not a plain object, unknown keys and wrong types throw
 * `TypeError`, out-of-range numbers `RangeError`, at construction, with a
 * message naming the option and the value received. Only own enumerable
 * keys are read.
 *
 * @module
 */

import { DEFAULT_DIALECT, type Dialect } from "./dialect.ts";
import type { PoolEventName, PoolListener, PoolListenerFn } from "./events.ts";
import { CONSOLE_LOGGER, type PoolLogger } from "./logger.ts";
import type { PoolOptions } from "./pool_options.ts";
import { checkEventName } from "./_listeners.ts";
import { hint } from "./_option_hints.ts";

const ACTION = "Cannot create pool";

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
export function isPlainObject(
  value: unknown,
): value is Record<string, unknown> {
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

/** The options as given: own enumerable keys whose value is not `undefined`. */
export type GivenOptions = Readonly<Record<string, unknown>>;

/**
 * Checks one option: its value (`undefined` when not given) in, the
 * normalised value out; throws `TypeError` or `RangeError`. `given` holds
 * every option given, for a check that depends on another one.
 */
export type Check<T> = (value: unknown, key: string, given: GivenOptions) => T;

/** A table of checks, one per option. */
export type Table = Readonly<Record<string, Check<unknown>>>;

/** One check per option of `O`: no option missing, none extra. */
export type OptionTable<O> = { readonly [K in keyof O]-?: Check<unknown> };

/** The normalised options a table produces. */
export type Normalised<T extends Table> = {
  readonly [K in keyof T]: T[K] extends Check<infer R> ? R : never;
};

/**
 * Validates `options` against `table`: a plain object (or `undefined`),
 * with only the table's keys, each value checked in the table's order.
 *
 * @returns The options as given (a null-prototype copy, for `recreate()`)
 *   and normalised.
 */
export function checkOptions<T extends Table>(
  options: unknown,
  table: T,
  className: string,
): { given: GivenOptions; normalised: Normalised<T> } {
  const given: Record<string, unknown> = Object.create(null);
  if (options !== undefined) {
    if (!isPlainObject(options)) {
      throw new TypeError(
        `${ACTION}: options must be a plain object, received ${
          describe(options)
        }`,
      );
    }
    for (const key of Object.keys(options)) {
      const value = options[key];
      if (value === undefined) continue;
      if (!Object.hasOwn(table, key)) {
        throw new TypeError(
          `${ACTION}: unknown option "${key}" for ${className}${
            hint(key, table)
          }`,
        );
      }
      given[key] = value;
    }
  }
  const normalised: Record<string, unknown> = {};
  for (const key of Object.keys(table)) {
    normalised[key] = table[key]!(given[key], key, given);
  }
  return { given, normalised: normalised as Normalised<T> };
}

/** A number option: an integer (or any finite number) of at least `min`. */
export function numberOption(
  fallback: number,
  min: number,
  integer: boolean,
): Check<number> {
  return (value, key) => {
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
  };
}

/** A duration or similar: a finite number of at least `min`, or `null`. */
export function nullableNumberOption(
  fallback: number | null,
  min: number,
): Check<number | null> {
  const finite = numberOption(0, min, false);
  return (value, key, given) => {
    if (value === null) return null;
    if (value === undefined) return fallback;
    return finite(value, key, given);
  };
}

/** A boolean option. */
export function booleanOption(fallback: boolean): Check<boolean> {
  return (value, key) => {
    if (value === undefined) return fallback;
    if (typeof value !== "boolean") {
      throw new TypeError(
        `${ACTION}: "${key}" must be a boolean, received ${describe(value)}`,
      );
    }
    return value;
  };
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

function checkEcho(value: unknown): boolean | "debug" {
  const echo = value ?? false;
  if (typeof echo !== "boolean" && echo !== "debug") {
    throw new TypeError(
      `${ACTION}: "echo" must be a boolean or "debug", received ${
        describe(echo)
      }`,
    );
  }
  return echo;
}

function checkLoggingName(value: unknown): string | undefined {
  if (value !== undefined && typeof value !== "string") {
    throw new TypeError(
      `${ACTION}: "loggingName" must be a string, received ${describe(value)}`,
    );
  }
  return value;
}

function checkLogger(value: unknown): PoolLogger {
  const logger = value ?? CONSOLE_LOGGER;
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
  return logger as PoolLogger;
}

function checkResetOnReturn(value: unknown): "rollback" | "commit" | null {
  if (value === undefined || value === "rollback" || value === true) {
    return "rollback";
  }
  if (value === "commit") return "commit";
  if (value === null || value === false) return null;
  throw new TypeError(
    `${ACTION}: "resetOnReturn" must be "rollback", "commit", true, false or null, received ${
      describe(value)
    }`,
  );
}

function checkEvents(
  value: unknown,
): ReadonlyArray<readonly [PoolEventName, PoolListenerFn]> {
  const events = value ?? [];
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
  return events as ReadonlyArray<readonly [PoolEventName, PoolListenerFn]>;
}

function checkListeners(value: unknown): ReadonlyArray<PoolListener<unknown>> {
  const listeners = value ?? [];
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
  return listeners as ReadonlyArray<PoolListener<unknown>>;
}

function checkDialect(value: unknown): Dialect<unknown> {
  const dialect = value ?? DEFAULT_DIALECT;
  if (
    dialect === null || typeof dialect !== "object" ||
    typeof (dialect as Dialect<unknown>).name !== "string"
  ) {
    throw new TypeError(
      `${ACTION}: "dialect" must be an object with a string "name", received ${
        describe(dialect)
      }`,
    );
  }
  for (const method of DIALECT_METHODS) {
    const member: unknown = (dialect as Dialect<unknown>)[method];
    if (member !== undefined && typeof member !== "function") {
      throw new TypeError(
        `${ACTION}: "dialect.${method}" must be a function, received ${
          describe(member)
        }`,
      );
    }
  }
  return dialect as Dialect<unknown>;
}

const checkBoolean = booleanOption(false);

/** `prePing`; it needs a dialect with `ping()` (checked by the row before it). */
function checkPrePing(
  value: unknown,
  key: string,
  given: GivenOptions,
): boolean {
  const prePing = checkBoolean(value, key, given);
  const dialect = (given.dialect ?? DEFAULT_DIALECT) as Dialect<unknown>;
  if (prePing && typeof dialect.ping !== "function") {
    throw new TypeError(
      `${ACTION}: "prePing" requires a dialect with a ping() method, received dialect "${dialect.name}" without one`,
    );
  }
  return prePing;
}

/** The real clock: high-resolution, monotonic, in milliseconds. */
function monotonicClock(): number {
  return performance.now();
}

/**
 * The pool's one clock, for every timestamp, age and deadline: the real
 * one, or one given (a testing aid), which is read once here to check it
 * returns a finite number (`NaN` or `Infinity` would keep every timeout
 * from firing).
 */
function checkClock(value: unknown): () => number {
  const clock = value ?? monotonicClock;
  if (clock === monotonicClock) return monotonicClock;
  if (typeof clock !== "function") {
    throw new TypeError(
      `${ACTION}: "clock" must be a function, received ${describe(clock)}`,
    );
  }
  const reading: unknown = clock();
  if (typeof reading !== "number" || !Number.isFinite(reading)) {
    throw new TypeError(
      `${ACTION}: "clock" must return a finite number, received ${
        describe(reading)
      }`,
    );
  }
  return clock as () => number;
}

/**
 * The options every pool accepts, in the order they are checked. A new
 * common option is a field of `PoolOptions` and a row here; the room that
 * uses it reads it from the engine's options.
 */
export const COMMON_OPTIONS = {
  recycleMs: nullableNumberOption(null, 0),
  echo: checkEcho,
  loggingName: checkLoggingName,
  logger: checkLogger,
  resetOnReturn: checkResetOnReturn,
  events: checkEvents,
  listeners: checkListeners,
  dialect: checkDialect,
  prePing: checkPrePing,
  clock: checkClock,
  connectTimeoutMs: nullableNumberOption(30_000, 0),
  validationTimeoutMs: nullableNumberOption(5_000, 0),
  createBackoffMs: nullableNumberOption(null, 0),
  idleTimeoutMs: nullableNumberOption(null, 0),
  leakDetectionMs: nullableNumberOption(null, 0),
} as const satisfies OptionTable<PoolOptions<unknown>>;

/** The checks every pool class's table starts with. */
export type CommonTable = typeof COMMON_OPTIONS;

/** The options every pool has, normalised. */
export type CommonOptions = Normalised<CommonTable>;
