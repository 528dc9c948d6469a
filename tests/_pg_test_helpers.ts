/**
 * Helpers shared by the live PostgreSQL tests. Not published.
 *
 * @module
 */

import type { PgCluster } from "./_pg_cluster.ts";

/**
 * Statements the server logged for one backend (needs `logStatements`):
 * simple-protocol lines (`statement: …`) and extended-protocol executions
 * (`execute <name>: …`).
 */
export async function loggedStatements(
  cluster: PgCluster,
  pid: number,
): Promise<string[]> {
  const marker = `[${pid}] `;
  const pattern = / LOG: {2}(?:statement|execute [^:]*): (.*)$/;
  return (await cluster.readLog()).split("\n")
    .filter((line) => line.includes(marker))
    .map((line) => pattern.exec(line)?.[1])
    .filter((statement) => statement !== undefined);
}

/** Polls `condition` every 20 ms until it holds; throws after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) {
      throw new Error(`Timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A loopback TCP server that accepts connections, reads what the client
 * sends and never answers (as a stopped postmaster behaves once the kernel
 * has completed the handshake). Dispose of it to close everything.
 */
export interface SilentServer extends AsyncDisposable {
  /** The port on 127.0.0.1. */
  readonly port: number;
  /** How many connections were accepted. */
  accepted(): number;
  /** Resolves when the client closes a connection it opened here. */
  readonly hangUp: Promise<void>;
}

/** Starts a {@linkcode SilentServer}. */
export function silentServer(): SilentServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const reading = new Set<Promise<void>>();
  let accepted = 0;
  let hungUp!: () => void;
  const hangUp = new Promise<void>((resolve) => hungUp = resolve);
  const drain = async (conn: Deno.Conn): Promise<void> => {
    const buffer = new Uint8Array(4096);
    try {
      while ((await conn.read(buffer)) !== null) {
        // discard: never answer
      }
      hungUp(); // end of stream: the client closed its socket
    } catch {
      // closed by dispose, or reset by the client
      hungUp();
    } finally {
      if (conns.delete(conn)) conn.close();
    }
  };
  const serving = (async () => {
    try {
      for await (const conn of listener) {
        accepted++;
        conns.add(conn);
        const read = drain(conn);
        reading.add(read);
        void read.finally(() => reading.delete(read));
      }
    } catch {
      // the listener was closed
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    accepted: () => accepted,
    hangUp,
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const conn of conns) {
        conns.delete(conn);
        conn.close();
      }
      await serving;
      await Promise.all(reading);
    },
  };
}

/**
 * `promise`, or a rejection after `ms` naming `what`: turns a hang into a
 * test failure. The timer is cleared either way.
 */
export async function within<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what} did not settle within ${ms} ms`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A loopback TCP proxy to a PostgreSQL server that can hold back the
 * ReadyForQuery message following an ErrorResponse, so that a client sees a
 * query's error and not yet the transaction status after it (the server
 * flushes the two separately, so a client can always see this state).
 */
export interface ReadyForQueryProxy extends AsyncDisposable {
  /** The port on 127.0.0.1 to connect to instead of the server's. */
  readonly port: number;
  /**
   * Holds back the next ReadyForQuery that follows an ErrorResponse;
   * resolves once it is being held.
   */
  holdReadyAfterError(): Promise<void>;
  /** Sends the held ReadyForQuery (and what came after it). */
  release(): void;
}

/** Starts a {@linkcode ReadyForQueryProxy} in front of `127.0.0.1:serverPort`. */
export function readyForQueryProxy(serverPort: number): ReadyForQueryProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  /** Set while armed: called once the message is held. */
  let armed: (() => void) | null = null;
  let held: { resume: () => void } | null = null;
  const track = (task: Promise<void>): void => {
    tasks.add(task);
    void task.finally(() => tasks.delete(task));
  };
  const close = (conn: Deno.Conn): void => {
    if (conns.delete(conn)) conn.close();
  };
  /** Client to server: bytes as they come. */
  const upstream = async (from: Deno.Conn, to: Deno.Conn): Promise<void> => {
    const buffer = new Uint8Array(16_384);
    try {
      for (let n; (n = await from.read(buffer)) !== null;) {
        await to.write(buffer.subarray(0, n));
      }
    } catch {
      // either side closed
    } finally {
      close(from);
      close(to);
    }
  };
  /** Server to client: message by message, holding back one if armed. */
  const downstream = async (from: Deno.Conn, to: Deno.Conn): Promise<void> => {
    const buffer = new Uint8Array(16_384);
    let pending = new Uint8Array(0);
    let afterError = false;
    try {
      for (let n; (n = await from.read(buffer)) !== null;) {
        const joined = new Uint8Array(pending.length + n);
        joined.set(pending);
        joined.set(buffer.subarray(0, n), pending.length);
        let at = 0;
        while (joined.length - at >= 5) {
          const length = new DataView(joined.buffer, at + 1, 4).getUint32(0);
          if (joined.length - at < 1 + length) break;
          const type = String.fromCharCode(joined[at]!);
          const message = joined.subarray(at, at + 1 + length);
          at += 1 + length;
          if (type === "Z" && armed !== null && afterError) {
            const holding = armed;
            armed = null;
            await new Promise<void>((resume) => {
              held = { resume };
              holding();
            });
          }
          afterError = type === "E";
          await to.write(message);
        }
        pending = joined.slice(at);
      }
    } catch {
      // either side closed
    } finally {
      close(from);
      close(to);
    }
  };
  track((async () => {
    try {
      for await (const client of listener) {
        conns.add(client);
        const server = await Deno.connect({
          hostname: "127.0.0.1",
          port: serverPort,
        });
        conns.add(server);
        track(upstream(client, server));
        track(downstream(server, client));
      }
    } catch {
      // the listener was closed
    }
  })());
  const release = (): void => {
    const current = held;
    held = null;
    current?.resume();
  };
  return {
    port: (listener.addr as Deno.NetAddr).port,
    holdReadyAfterError: () =>
      new Promise<void>((resolve) => {
        armed = resolve;
      }),
    release,
    async [Symbol.asyncDispose]() {
      release();
      listener.close();
      for (const conn of [...conns]) close(conn);
      await Promise.all([...tasks]);
    },
  };
}
