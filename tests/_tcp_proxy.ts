/**
 * Test helper: a loopback TCP proxy that can cut connections when given
 * bytes pass through it, to make a network failure happen at an exact point
 * of a protocol exchange (during the startup, at one query, …).
 *
 * {@linkcode startTcpProxy} listens on 127.0.0.1 at a free port and relays
 * each accepted connection to the target. {@linkcode TcpProxy.cutWhen} adds
 * a rule: the next time the bytes pass in the given direction (they may
 * straddle two reads), that connection is closed on both sides and the
 * chunk holding them is not relayed, as if the network died right there.
 *
 * @example Cut the connection when the client sends a query
 * ```ts ignore
 * import { startTcpProxy } from "./_tcp_proxy.ts";
 *
 * await using proxy = startTcpProxy({ hostname: "127.0.0.1", port: 5432 });
 * proxy.cutWhen("typarray"); // the array-type lookup of postgres.js
 * // connect to 127.0.0.1:${proxy.port} …
 * await proxy.cut(); // resolves once a connection has been cut
 * ```
 *
 * @module
 */

/** Which way the bytes travel: from the client to the server, or back. */
export type Direction = "toServer" | "toClient";

/** Options of {@linkcode TcpProxy.cutWhen}. */
export interface CutWhenOptions {
  /**
   * The direction to watch.
   *
   * @default {"toServer"}
   */
  direction?: Direction;
  /**
   * How many connections the rule cuts before it is spent.
   *
   * @default {1}
   */
  times?: number;
}

/** A running proxy, as returned by {@linkcode startTcpProxy}. */
export interface TcpProxy extends AsyncDisposable {
  /** Always `127.0.0.1`. */
  readonly hostname: string;
  /** The port it listens on. */
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections cut by a rule so far. */
  readonly cuts: number;
  /** Connections currently relayed. */
  readonly open: number;
  /**
   * Cuts the connection that `bytes` (UTF-8 for a string) next pass
   * through, `times` times in all.
   */
  cutWhen(bytes: string | Uint8Array, options?: CutWhenOptions): void;
  /** Resolves when the next cut (or, with `count`, the cut number `count`) has happened. */
  cut(count?: number): Promise<void>;
  /** Stops listening, closes every connection and waits for the relays to end. */
  close(): Promise<void>;
}

interface Rule {
  readonly bytes: Uint8Array;
  readonly direction: Direction;
  remaining: number;
}

/** The first index of `needle` in `haystack`, or -1. */
function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return i;
  }
  return -1;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) {
    written += await conn.write(data.subarray(written));
  }
}

/**
 * Starts a proxy to `target`.
 *
 * @param target Where to relay connections.
 * @returns The running proxy; close it with `await using` or `close()`.
 */
export function startTcpProxy(
  target: { hostname: string; port: number },
): TcpProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  const rules: Rule[] = [];
  const closers = new Set<() => void>();
  const relays = new Set<Promise<void>>();
  const cutWaiters: { count: number; resolve: () => void }[] = [];
  let accepted = 0;
  let cuts = 0;
  let closing: Promise<void> | null = null;

  const noteCut = (): void => {
    cuts++;
    for (const waiter of [...cutWaiters]) {
      if (cuts >= waiter.count) {
        cutWaiters.splice(cutWaiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };

  /** The rule the chunk (after `tail`) triggers, if any. */
  const match = (
    direction: Direction,
    tail: Uint8Array,
    chunk: Uint8Array,
  ): Rule | undefined => {
    const live = rules.filter((rule) =>
      rule.direction === direction && rule.remaining > 0
    );
    if (live.length === 0) return undefined;
    const joined = new Uint8Array(tail.length + chunk.length);
    joined.set(tail);
    joined.set(chunk, tail.length);
    return live.find((rule) => indexOf(joined, rule.bytes) !== -1);
  };

  const relay = async (client: Deno.Conn): Promise<void> => {
    let server: Deno.Conn;
    try {
      server = await Deno.connect({
        hostname: target.hostname,
        port: target.port,
      });
    } catch {
      client.close();
      return;
    }
    let closed = false;
    const closeBoth = (): void => {
      if (closed) return;
      closed = true;
      closers.delete(closeBoth);
      for (const conn of [client, server]) {
        try {
          conn.close();
        } catch {
          // already closed
        }
      }
    };
    closers.add(closeBoth);
    const pump = async (
      from: Deno.Conn,
      to: Deno.Conn,
      direction: Direction,
    ): Promise<void> => {
      const buffer = new Uint8Array(64 * 1024);
      const longest = (): number =>
        rules.reduce((max, rule) => Math.max(max, rule.bytes.length), 0);
      let tail = new Uint8Array(0);
      try {
        while (!closed) {
          const n = await from.read(buffer);
          if (n === null) break;
          const chunk = buffer.slice(0, n);
          const rule = match(direction, tail, chunk);
          if (rule !== undefined) {
            rule.remaining--;
            closeBoth();
            noteCut();
            return;
          }
          await writeAll(to, chunk);
          const keep = Math.max(0, longest() - 1);
          const joined = new Uint8Array(tail.length + chunk.length);
          joined.set(tail);
          joined.set(chunk, tail.length);
          tail = joined.slice(Math.max(0, joined.length - keep));
        }
      } catch {
        // the other side closed, or we did
      }
      closeBoth();
    };
    await Promise.all([
      pump(client, server, "toServer"),
      pump(server, client, "toClient"),
    ]);
  };

  const accepting = (async () => {
    try {
      for await (const client of listener) {
        accepted++;
        if (closing !== null) {
          client.close();
          continue;
        }
        const running = relay(client);
        relays.add(running);
        running.finally(() => relays.delete(running));
      }
    } catch {
      // the listener was closed
    }
  })();

  const close = (): Promise<void> =>
    closing ??= (async () => {
      try {
        listener.close();
      } catch {
        // already closed
      }
      await accepting;
      for (const closeBoth of [...closers]) closeBoth();
      await Promise.all([...relays]);
    })();

  return {
    hostname: "127.0.0.1",
    port,
    get accepted(): number {
      return accepted;
    },
    get cuts(): number {
      return cuts;
    },
    get open(): number {
      return closers.size;
    },
    cutWhen(bytes: string | Uint8Array, options: CutWhenOptions = {}): void {
      rules.push({
        bytes: typeof bytes === "string"
          ? new TextEncoder().encode(bytes)
          : bytes,
        direction: options.direction ?? "toServer",
        remaining: options.times ?? 1,
      });
    },
    cut(count?: number): Promise<void> {
      const wanted = count ?? cuts + 1;
      if (cuts >= wanted) return Promise.resolve();
      return new Promise((resolve) =>
        cutWaiters.push({ count: wanted, resolve })
      );
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
