/**
 * The options of `createPoolFromUrl()`: split into the pool's and the
 * drivers', and the pool's `connectTimeoutMs` carried over to the driver
 * the URL selects.
 *
 * - The caller's options object is never changed: the split copies it.
 * - Only the shape of the options is checked here (an object, driver
 *   settings that are objects, a `driver` naming one of the three
 *   adapters, no `dialect`, no `pg.connectionString`);
 *   the values are left to the pool and the driver adapters, which reject
 *   bad ones with their own messages.
 * - A connect timeout set in the driver settings or in the URL always
 *   wins: the pool's `connectTimeoutMs` is only the driver's fallback
 *   (decided here for postgres.js, by the creator for node-postgres). A
 *   `connectTimeoutMs` that is not valid is not passed on; the pool
 *   rejects it.
 *
 * @module
 */

import type { SqliteConnectOptions } from "./sqlite.ts";
import type { PgClientConfig } from "./pg.ts";
import type { PostgresOptions } from "./postgres.ts";
import { ACTION, DRIVER_NAMES, type DriverName } from "./_url_parse.ts";
import { redact, scrub } from "./_url_secrets.ts";

/** The driver settings of the options (their public documentation is on `CreatePoolFromUrlOptions`). */
export interface DriverOptions {
  sqlite?: SqliteConnectOptions;
  pg?: Omit<PgClientConfig, "connectionString">;
  postgres?: PostgresOptions;
}

const DRIVER_OPTION_KEYS: readonly string[] = ["sqlite", "pg", "postgres"];

/**
 * The `driver` option, checked: one of {@linkcode DRIVER_NAMES}, or
 * `undefined` when absent (or when the options are not an object, which
 * {@linkcode splitOptions} rejects).
 */
export function driverOption(options: unknown): DriverName | undefined {
  if (options === null || typeof options !== "object") return undefined;
  // Own keys only, as the pool reads its options.
  const value = Object.hasOwn(options, "driver")
    ? (options as { driver?: unknown }).driver
    : undefined;
  if (value === undefined) return undefined;
  if (!DRIVER_NAMES.includes(value as DriverName)) {
    const names = DRIVER_NAMES.map((name) => `"${name}"`);
    throw new TypeError(
      `${ACTION}: "driver" must be ${names.slice(0, -1).join(", ")} or ${
        names.at(-1)
      }, received ${
        typeof value === "string"
          ? `"${value}"`
          : value === null
          ? "null"
          : typeof value
      }`,
    );
  }
  return value as DriverName;
}

/** Splits the options into the pool's and the drivers'; checks the shapes. */
export function splitOptions(
  options: unknown,
): {
  driverOptions: DriverOptions;
  poolOptions: Record<string, unknown>;
} {
  if (options === undefined) return { driverOptions: {}, poolOptions: {} };
  if (
    options === null || typeof options !== "object" || Array.isArray(options)
  ) {
    throw new TypeError(
      `${ACTION}: "options" must be an object, received ${
        options === null
          ? "null"
          : Array.isArray(options)
          ? "an array"
          : typeof options
      }`,
    );
  }
  const poolOptions: Record<string, unknown> = { ...options };
  delete poolOptions.driver; // read by driverOption()
  const driverOptions: Record<string, unknown> = {};
  for (const key of DRIVER_OPTION_KEYS) {
    const value = poolOptions[key];
    delete poolOptions[key];
    if (value === undefined) continue;
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new TypeError(
        `${ACTION}: "${key}" must be an object, received ${
          value === null ? "null" : typeof value
        }`,
      );
    }
    driverOptions[key] = value;
  }
  if (poolOptions.dialect !== undefined) {
    throw new TypeError(
      `${ACTION}: unknown option "dialect": the dialect comes from the URL`,
    );
  }
  if (
    (driverOptions.pg as Record<string, unknown> | undefined)
      ?.connectionString !== undefined
  ) {
    throw new TypeError(
      `${ACTION}: unknown option "pg.connectionString": the URL is the connection string`,
    );
  }
  return {
    driverOptions: driverOptions as DriverOptions,
    poolOptions,
  };
}

/**
 * The pool's `connectTimeoutMs`, for the driver: passed on when valid; a
 * wrong value is left for the pool to reject, with its own message.
 */
export function driverConnectTimeout(
  value: unknown,
): { connectTimeoutMs?: number | null } {
  return value === null ||
      (typeof value === "number" && Number.isFinite(value) && value >= 0)
    ? { connectTimeoutMs: value }
    : {};
}

/**
 * The postgres.js settings with the pool's `connectTimeoutMs` as
 * `connect_timeout` (seconds; `0` disables it), when the pool option was
 * given and neither the settings nor the URL set `connect_timeout`.
 * postgres.js's own default is 30 s, the same as the pool's.
 */
export function postgresSettings(
  href: string,
  settings: PostgresOptions | undefined,
  connectTimeoutMs: unknown,
): PostgresOptions | undefined {
  const timeout = driverConnectTimeout(connectTimeoutMs);
  if (
    timeout.connectTimeoutMs === undefined ||
    settings?.connect_timeout !== undefined ||
    /[?&]connect_timeout=/.test(href)
  ) {
    return settings;
  }
  const ms = timeout.connectTimeoutMs;
  return {
    ...settings,
    "connect_timeout": ms === null ? 0 : Math.max(ms, 1) / 1_000,
  };
}

/**
 * What `createPoolFromUrl()` throws when a driver's creator helper rejects
 * the URL at once: its own `TypeError` for a URL the driver cannot parse
 * or whose percent-encoding is malformed (the URL redacted), else the
 * driver's error with the secrets scrubbed.
 */
export function creatorError(
  error: unknown,
  href: string,
  secrets: readonly string[],
): unknown {
  if (error instanceof TypeError && /invalid url/i.test(error.message)) {
    return new TypeError(`${ACTION}: invalid URL "${redact(href)}"`);
  }
  if (error instanceof TypeError && /percent-encoding/.test(error.message)) {
    return new TypeError(
      `${ACTION}: invalid percent-encoding in the user, password or host of "${
        redact(href)
      }"`,
    );
  }
  return scrub(error, secrets);
}
