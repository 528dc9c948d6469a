/**
 * An in-memory fake driver for unit tests: connections that record their
 * rollback/commit/close/terminate calls, a driver that can be "shut down",
 * a dialect with ping, a fake clock, a recording logger, an event
 * recorder and the assertions over what they record. Not published.
 *
 * @module
 */

import assert from "node:assert/strict";
import type {
  ConnectionPoolEntry,
  PoolProxiedConnection,
} from "./connection.ts";
import type { Dialect } from "./dialect.ts";
import type { PoolLogger } from "./logger.ts";
import type { Creator, Pool } from "./pool.ts";
import { POOL_EVENT_NAMES, type PoolEventName } from "./events.ts";

/** The error a dead fake connection or a shut-down driver throws. */
export class FakeDisconnect extends Error {
  constructor(message = "fake server closed the connection") {
    super(message);
    this.name = "FakeDisconnect";
  }
}

/** A fake driver connection. */
export class FakeConnection {
  readonly id: number;
  readonly driver: FakeDriver;
  /** Every call made on it, in order: "rollback", "commit", "close", "terminate", "ping", "query". */
  readonly calls: string[] = [];
  /** `false` after close or terminate. */
  open = true;
  /** A killed connection (server side): pings fail, queries throw. */
  dead = false;
  /** Transaction state reported to `inTransaction` (undefined = unknown). */
  inTransaction: boolean | undefined = undefined;

  constructor(id: number, driver: FakeDriver) {
    this.id = id;
    this.driver = driver;
  }

  /** Runs a fake query; throws `FakeDisconnect` when dead. */
  query(sql: string): string {
    this.calls.push("query");
    if (this.dead || !this.open || this.driver.down) throw new FakeDisconnect();
    if (/^\s*begin/i.test(sql)) this.inTransaction = true;
    return sql;
  }

  rollback(): void {
    this.calls.push("rollback");
    this.driver.count("rollback");
    if (this.driver.failRollback !== null) throw this.driver.failRollback;
    if (this.inTransaction) this.inTransaction = false;
  }

  commit(): void {
    this.calls.push("commit");
    this.driver.count("commit");
    if (this.inTransaction) this.inTransaction = false;
  }

  close(): void {
    this.calls.push("close");
    this.driver.count("close");
    this.open = false;
    if (this.driver.failClose !== null) throw this.driver.failClose;
  }

  terminate(): void {
    this.calls.push("terminate");
    this.driver.count("terminate");
    this.open = false;
  }

  toString(): string {
    return `FakeConnection#${this.id}`;
  }
}

/** Options of {@linkcode FakeDriver}. */
export interface FakeDriverOptions {
  /** Milliseconds the creator waits before returning (real timer); 0 = synchronous. */
  createDelayMs?: number;
  /** Make the creator return a promise even with no delay. */
  async?: boolean;
}

/** A fake database driver: makes {@linkcode FakeConnection}s. */
export class FakeDriver {
  readonly connections: FakeConnection[] = [];
  /** Counts of driver calls across all connections. */
  readonly counts: Record<string, number> = {};
  /** While `true`, the creator throws and pings report a disconnect. */
  down = false;
  /** Thrown by the next creator call(s) (one per entry; shift()ed). */
  readonly failNext: unknown[] = [];
  /** If set, every rollback throws it. */
  failRollback: unknown = null;
  /** If set, every close throws it (after marking the connection closed). */
  failClose: unknown = null;
  /** If set, the creator awaits it before returning (to hold a creator open). */
  gate: Promise<void> | null = null;
  readonly #options: FakeDriverOptions;

  constructor(options: FakeDriverOptions = {}) {
    this.#options = options;
  }

  /** Increments `counts[name]`. */
  count(name: string): void {
    this.counts[name] = (this.counts[name] ?? 0) + 1;
  }

  /** Connections currently open. */
  get openCount(): number {
    return this.connections.filter((c) => c.open).length;
  }

  /** The creator to pass to a pool. */
  readonly creator: Creator<FakeConnection> = (entry) => {
    this.count("create");
    const make = (): FakeConnection => {
      const failure = this.failNext.shift();
      if (failure !== undefined) throw failure;
      if (this.down) throw new FakeDisconnect("fake server is down");
      const connection = new FakeConnection(this.connections.length + 1, this);
      this.connections.push(connection);
      void entry;
      return connection;
    };
    const delay = this.#options.createDelayMs ?? 0;
    if (this.gate !== null) {
      const gate = this.gate;
      return gate.then(make);
    }
    if (delay > 0) {
      return new Promise((resolve, reject) =>
        setTimeout(() => {
          try {
            resolve(make());
          } catch (error) {
            reject(error);
          }
        }, delay)
      );
    }
    if (this.#options.async) return Promise.resolve().then(make);
    return make();
  };

  /** A dialect over the fake connections, with ping, isDisconnect and inTransaction. */
  readonly dialect: Dialect<FakeConnection> = {
    name: "fake",
    rollback: (c) => c.rollback(),
    commit: (c) => c.commit(),
    close: (c) => c.close(),
    terminate: (c) => c.terminate(),
    ping: (c) => {
      c.calls.push("ping");
      this.count("ping");
      return !c.dead && c.open && !this.down;
    },
    isDisconnect: (error) => error instanceof FakeDisconnect,
    inTransaction: (c) => c.inTransaction,
  };

  /** Kills a connection server-side. */
  kill(connection: FakeConnection): void {
    connection.dead = true;
  }
}

/** A creator of fake connections (a new driver each call). */
export function fakeCreator(
  options?: FakeDriverOptions,
): Creator<FakeConnection> {
  return new FakeDriver(options).creator;
}

/** A manual clock for the `clock` option. */
export class FakeClock {
  now = 0;
  /** The function to pass as `clock`. */
  readonly fn = (): number => this.now;
  /** Moves the clock forward. */
  advance(ms: number): void {
    this.now += ms;
  }
}

/** A logged line. */
export interface LoggedLine {
  level: "debug" | "info" | "warn" | "error";
  line: string;
  context: Record<string, unknown>;
}

/**
 * A logger that records every call. `text()` renders every line and its
 * context (inspected), to check what a log shows as a whole.
 */
export function recordingLogger(): {
  logger: PoolLogger;
  lines: LoggedLine[];
  text(): string;
} {
  const lines: LoggedLine[] = [];
  const at =
    (level: LoggedLine["level"]) => (line: string, context?: unknown): void => {
      lines.push({
        level,
        line,
        context: (context ?? {}) as Record<string, unknown>,
      });
    };
  return {
    lines,
    logger: {
      debug: at("debug"),
      info: at("info"),
      warn: at("warn"),
      error: at("error"),
    },
    text: () =>
      lines.map(({ line, context }) =>
        `${line}\n${Deno.inspect(context, { depth: 4 })}`
      ).join("\n"),
  };
}

/** A recorded event: its name and arguments. */
export interface RecordedEvent {
  name: PoolEventName;
  args: unknown[];
}

/**
 * Subscribes to all eleven events of `pool` and records them in order. Each
 * record's `args` are the listener's arguments; `names()` gives
 * `"name"` or `"name#<connection id>"` strings.
 */
export function recordEvents<C>(pool: Pool<C>): {
  events: RecordedEvent[];
  names(): string[];
} {
  const events: RecordedEvent[] = [];
  for (const name of POOL_EVENT_NAMES) {
    pool.on(name, (...args: unknown[]) => {
      events.push({ name, args });
    });
  }
  return {
    events,
    names: () =>
      events.map(({ name, args }) => {
        const first = args[0];
        return first instanceof FakeConnection ? `${name}#${first.id}` : name;
      }),
  };
}

/** An entry the pool hands to a creator of fake connections. */
export type FakeEntry = ConnectionPoolEntry<FakeConnection>;

/** A checkout of a fake connection. */
export type FakeProxy = PoolProxiedConnection<FakeConnection>;

/** `"<name>#<id>"` of a fake connection, or `"<name>#null"` for anything else. */
export function tag(name: string, connection: unknown): string {
  return `${name}#${
    connection instanceof FakeConnection ? connection.id : "null"
  }`;
}

/** How many times the driver closed or terminated `c`. */
export function closes(c: FakeConnection): number {
  return c.calls.filter((call) => call === "close" || call === "terminate")
    .length;
}

/**
 * Asserts the exact event sequence: the names, each event's argument count,
 * and each argument by identity (a plain object, such as a reset state, by
 * deep equality).
 */
export function assertEvents(
  actual: readonly RecordedEvent[],
  expected: ReadonlyArray<readonly [string, ...unknown[]]>,
): void {
  assert.deepEqual(
    actual.map((event) => event.name),
    expected.map((event) => event[0]),
  );
  actual.forEach((event, i) => {
    const want = expected[i]!.slice(1);
    assert.equal(
      event.args.length,
      want.length,
      `${event.name}: ${event.args.length} arguments`,
    );
    want.forEach((arg, j) => {
      if (
        arg !== null && typeof arg === "object" &&
        Object.getPrototypeOf(arg) === Object.prototype
      ) {
        assert.deepEqual(event.args[j], arg, `${event.name}: argument ${j}`);
      } else {
        assert.equal(event.args[j], arg, `${event.name}: argument ${j}`);
      }
    });
  });
}

/** The lines logged at `level`. */
export function linesAt(
  lines: readonly LoggedLine[],
  level: LoggedLine["level"],
): string[] {
  return lines.filter((l) => l.level === level).map((l) => l.line);
}

/** Wraps a creator so the test sees every entry it is called with. */
export function entryTracking(
  creator: Creator<FakeConnection>,
): { creator: Creator<FakeConnection>; entries: FakeEntry[] } {
  const entries: FakeEntry[] = [];
  return {
    entries,
    creator: (entry) => {
      entries.push(entry);
      return creator(entry);
    },
  };
}

/** Options of {@linkcode tracer}. */
export interface TracerOptions {
  /** Put before driver calls on the timeline (`"driver.close#1"`); default `"driver."`. */
  driverPrefix?: string;
  /** Pass the driver's ping, isDisconnect and inTransaction through; default `true`. */
  probes?: boolean;
}

/**
 * One timeline of events and driver calls (`"reset#1"`, `"checkin#null"`,
 * `"driver.close#1"`…), names and connection ids only, never the arguments
 * (so proxies stay collectable).
 */
export function tracer(driver: FakeDriver, options: TracerOptions = {}): {
  timeline: string[];
  dialect: Dialect<FakeConnection>;
  watch(pool: Pool<FakeConnection>): void;
} {
  const { driverPrefix = "driver.", probes = true } = options;
  const timeline: string[] = [];
  const inner = driver.dialect;
  const call =
    (name: "rollback" | "commit" | "close" | "terminate") =>
    (c: FakeConnection): void | Promise<void> => {
      timeline.push(`${driverPrefix}${name}#${c.id}`);
      return inner[name]!(c);
    };
  const dialect: Dialect<FakeConnection> = {
    name: "fake",
    rollback: call("rollback"),
    commit: call("commit"),
    close: call("close"),
    terminate: call("terminate"),
  };
  if (probes) {
    dialect.ping = (c) => inner.ping!(c);
    dialect.isDisconnect = (e, c) => inner.isDisconnect!(e, c);
    dialect.inTransaction = (c) => inner.inTransaction!(c);
  }
  return {
    timeline,
    dialect,
    watch(pool) {
      for (const name of POOL_EVENT_NAMES) {
        pool.on(name, (conn: unknown) => {
          timeline.push(
            `${name}#${
              conn instanceof FakeConnection ? conn.id : String(conn)
            }`,
          );
        });
      }
    },
  };
}
