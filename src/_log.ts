/**
 * The pool's filtered logger: echo levels, the logger name, connection labels.
 *
 * @module
 */

import type { PoolLogger } from "./logger.ts";

/** Wraps a {@linkcode PoolLogger}: filters by `echo`, names the pool, never throws. */
export class PoolLog {
  readonly name: string;
  /** The pool's class name, for error messages. */
  readonly className: string;
  /** The pool's `loggingName` option, if given. */
  readonly loggingName: string | undefined;
  readonly #logger: PoolLogger;
  /** `true` when debug lines reach the logger (`echo: "debug"`). */
  readonly debugOn: boolean;
  /** `true` when info lines reach the logger (`echo: true` or `"debug"`). */
  readonly infoOn: boolean;

  constructor(
    className: string,
    loggingName: string | undefined,
    logger: PoolLogger,
    echo: boolean | "debug",
  ) {
    this.name = loggingName === undefined
      ? `dbpool.pool.${className}`
      : `dbpool.pool.${className}.${loggingName}`;
    this.className = className;
    this.loggingName = loggingName;
    this.#logger = logger;
    this.debugOn = echo === "debug";
    this.infoOn = echo !== false;
  }

  /** Emits a debug line (only with `echo: "debug"`). */
  debug(line: string, extra?: Record<string, unknown>): void {
    if (this.debugOn) this.#emit("debug", line, extra);
  }

  /** Emits an info line (only with `echo`). */
  info(line: string, extra?: Record<string, unknown>): void {
    if (this.infoOn) this.#emit("info", line, extra);
  }

  /**
   * Emits an info line whatever `echo` says: the follow-up of a warning,
   * which must be seen wherever the warning was.
   */
  notice(line: string, extra?: Record<string, unknown>): void {
    this.#emit("info", line, extra);
  }

  /** Emits a warning (always). */
  warn(line: string, extra?: Record<string, unknown>): void {
    this.#emit("warn", line, extra);
  }

  /** Emits an error line (always). */
  error(line: string, extra?: Record<string, unknown>): void {
    this.#emit("error", line, extra);
  }

  /**
   * Logs an error raised while cleaning up after an earlier error, which is
   * the one the caller gets.
   */
  secondary(error: unknown): void {
    this.error(
      `Exception during cleanup after an earlier error: ${errorText(error)}`,
      { error },
    );
  }

  #emit(
    level: "debug" | "info" | "warn" | "error",
    line: string,
    extra: Record<string, unknown> | undefined,
  ): void {
    try {
      const context: Record<string, unknown> = { logger: this.name, ...extra };
      // A logger such as `console` prints its arguments in full: a driver
      // connection (a pg Client is hundreds of lines) is named instead.
      if (context.connection !== undefined) {
        context.connection = describeConnection(context.connection);
      }
      this.#logger[level](line, context);
    } catch {
      // A logger that throws must not break the pool.
    }
  }
}

/** `(reason: <name>:<message>)` text of an error, or `""` when there is none. */
export function reasonSuffix(error: unknown): string {
  if (error === undefined) return "";
  if (error instanceof Error) {
    return ` (reason: ${error.name}:${error.message})`;
  }
  return ` (reason: ${String(error)})`;
}

/** `String(error)`, never throwing. */
export function errorText(error: unknown): string {
  try {
    return String(error);
  } catch {
    return "<unprintable error>";
  }
}

/**
 * A driver connection in a few words: its class, and the server's process
 * id when the driver exposes one (node-postgres's `processID`), e.g.
 * `Client (backend pid 4242)`.
 */
export function describeConnection(connection: unknown): string {
  let name: string = typeof connection;
  if (
    connection !== null &&
    (typeof connection === "object" || typeof connection === "function")
  ) {
    name = (connection as { constructor?: { name?: string } }).constructor
      ?.name || "Object";
    let pid: unknown;
    try {
      pid = (connection as { processID?: unknown }).processID;
    } catch {
      pid = undefined;
    }
    if (typeof pid === "number") return `${name} (backend pid ${pid})`;
  }
  return name;
}

/** `<Ctor #n>`: a short stable label of a driver connection. */
export function connectionLabel(connection: unknown, id: number): string {
  let name: string = typeof connection;
  if (connection !== null && typeof connection === "object") {
    name = (connection as { constructor?: { name?: string } }).constructor
      ?.name || "Object";
  }
  return `<${name} #${id}>`;
}
