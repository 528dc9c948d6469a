/**
 * The logger interface, {@linkcode PoolLogger}, and the console-backed default.
 *
 * @module
 */

/**
 * Where the pool's log lines go. Structurally a `@std/log` `Logger`, the
 * global `console`, or any object with these four methods. Each call is
 * `logger.<level>(line, context)`: `line` is the finished text and `context`
 * an object `{ logger: <name>, … }` carrying the raw connection, entry or
 * error for structured loggers.
 *
 * @example Collecting lines in a test
 * ```ts
 * import { QueuePool, type PoolLogger } from "@dbpool/pool";
 *
 * const lines: string[] = [];
 * const logger: PoolLogger = {
 *   debug: (line) => void lines.push(line),
 *   info: (line) => void lines.push(line),
 *   warn: (line) => void lines.push(line),
 *   error: (line) => void lines.push(line),
 * };
 * await using pool = new QueuePool(() => ({}), { logger, echo: "debug" });
 * await (await pool.connect()).close();
 * console.log(lines);
 * ```
 */
export interface PoolLogger {
  /** Debug lines (`echo: "debug"`). */
  debug(message: string, ...args: unknown[]): unknown;
  /** Info lines (`echo: true`). */
  info(message: string, ...args: unknown[]): unknown;
  /** Warnings (always). */
  warn(message: string, ...args: unknown[]): unknown;
  /** Errors (always). */
  error(message: string, ...args: unknown[]): unknown;
}

/** The context object passed as the second argument of each log call. */
interface LogContext {
  logger?: unknown;
}

function prefix(context: unknown, message: string): string {
  const name = (context as LogContext | undefined)?.logger;
  return typeof name === "string" ? `[${name}] ${message}` : message;
}

/**
 * The default logger: prints `[<logger name>] <line>` on the console, with
 * the error (if any) after it.
 *
 * @example
 * ```ts
 * import { CONSOLE_LOGGER } from "@dbpool/pool";
 *
 * CONSOLE_LOGGER.info("hello", { logger: "dbpool.pool.Example" });
 * ```
 */
export const CONSOLE_LOGGER: PoolLogger = Object.freeze({
  // deno-lint-ignore no-console -- the default logger is the one place that writes to the console.
  debug: (m: string, c?: unknown) => console.debug(prefix(c, m)),
  // deno-lint-ignore no-console -- the default logger is the one place that writes to the console.
  info: (m: string, c?: unknown) => console.info(prefix(c, m)),
  warn: (m: string, c?: unknown) => {
    const error = (c as { error?: unknown } | undefined)?.error;
    // deno-lint-ignore no-console -- the default logger is the one place that writes to the console.
    if (error !== undefined) console.warn(prefix(c, m), error);
    // deno-lint-ignore no-console -- the default logger is the one place that writes to the console.
    else console.warn(prefix(c, m));
  },
  error: (m: string, c?: unknown) => {
    const error = (c as { error?: unknown } | undefined)?.error;
    // deno-lint-ignore no-console -- the default logger is the one place that writes to the console.
    if (error !== undefined) console.error(prefix(c, m), error);
    // deno-lint-ignore no-console -- the default logger is the one place that writes to the console.
    else console.error(prefix(c, m));
  },
});
