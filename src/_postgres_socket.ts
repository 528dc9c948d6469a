/**
 * The socket factory of the postgres.js adapter: its creator passes
 * {@linkcode openSocket} to postgres.js as the `socket` option, so every
 * socket of a connection, TLS or not, is opened here (by a `socket` option
 * of the user's, when there is one, called from here).
 *
 * - No socket is opened for a connection that is gone (closed, being
 *   closed, or whose making failed or was given up), and a socket that
 *   finishes opening after that is destroyed at once: no server session is
 *   ever left behind.
 * - Until the connection is handed out, each call is one attempt at the
 *   session: the hosts are tried in turn, with a pause after each round
 *   that grows up to 0.5 s and ends early when the connection is given up.
 *   Afterwards postgres.js only asks for a socket to cancel a query, which
 *   goes to the session's host.
 * - Every socket opened is in its state's `sockets` until it closes, and
 *   its latest error is kept as the cause of a connect timeout. (Whatever
 *   a user's `socket` option returns that is not a socket is handed to
 *   postgres.js untouched.)
 * - On a tracked connection the protocol's messages are followed to keep
 *   the transaction status and the COPY flag; the data is only read, never
 *   changed or consumed.
 *
 * @module
 */

import net from "node:net";
import {
  type AnySocket,
  closedError,
  type EntryState,
  isGone,
} from "./_postgres_entry_state.ts";

/** The longest pause between two rounds of connection attempts, in ms. */
const MAX_RETRY_PAUSE_MS = 500;

/**
 * Follows the PostgreSQL message stream on a socket (type byte, 4-byte
 * length, body) and records the status byte of each ReadyForQuery (`Z`),
 * and whether a COPY is in progress (`G`, `H` or `W` up to the next `Z`).
 */
function watchReadyForQuery(socket: AnySocket, state: EntryState): void {
  const header = new Uint8Array(5);
  let headerLength = 0;
  let remaining = 0; // body bytes still to skip
  let wantStatus = false; // the next body byte is a ReadyForQuery status
  socket.on("data", (chunk: Uint8Array) => {
    let i = 0;
    const length = chunk.length;
    while (i < length) {
      if (remaining > 0) {
        if (wantStatus) {
          const byte = chunk[i];
          state.status = byte === 0x49 ? "I" : byte === 0x54 ? "T" : "E";
          state.copying = false;
          wantStatus = false;
        }
        const skip = Math.min(remaining, length - i);
        i += skip;
        remaining -= skip;
        continue;
      }
      header[headerLength++] = chunk[i++]!;
      if (headerLength === 5) {
        headerLength = 0;
        const type = header[0];
        const messageLength = ((header[1]! << 24) | (header[2]! << 16) |
          (header[3]! << 8) | header[4]!) >>> 0;
        remaining = messageLength - 4;
        wantStatus = type === 0x5a && remaining > 0; // 'Z'
        // 'G' CopyInResponse, 'H' CopyOutResponse, 'W' CopyBothResponse
        if (type === 0x47 || type === 0x48 || type === 0x57) {
          state.copying = true;
        }
      }
    }
  });
}

/** Where the creator connects: a Unix socket, or hosts tried in turn. */
export interface Target {
  readonly path: string | undefined;
  readonly hosts: readonly string[];
  readonly ports: readonly number[];
}

/** The target as the connect-timeout error names it: the socket path, or `host:port,…`. */
export function describeTarget(target: Target): string {
  return target.path ??
    target.hosts.map((host, i) => `${host}:${target.ports[i]}`).join(",");
}

/** The pause before round `round` (1, 2, …) of connection attempts, in ms. */
function retryPauseMs(round: number): number {
  return Math.min(MAX_RETRY_PAUSE_MS, 10 * 2 ** round);
}

/** postgres.js's `socket` option: returns a socket, or a promise of one. */
export type SocketFactory = (options: unknown) => unknown;

/** Whether `value` has what the factory uses of a socket. */
function isSocketLike(value: unknown): value is AnySocket {
  return value !== null && typeof value === "object" &&
    typeof Reflect.get(value, "destroy") === "function" &&
    typeof Reflect.get(value, "once") === "function" &&
    typeof Reflect.get(value, "on") === "function";
}

/** Waits `ms`, or rejects with `CONNECTION_CLOSED` as soon as `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(closedError("connect"));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Opens a socket for postgres.js (its `socket` option), or refuses with
 * `CONNECTION_CLOSED` when the connection is closed, being closed or was
 * given up, so that no server session is ever left behind. Before the
 * connection is handed out, each call is an attempt at the session: the
 * hosts are tried in turn, with a short growing pause after each round.
 * Afterwards postgres.js only asks for a socket to cancel a query, which
 * goes to the session's host.
 */
export async function openSocket(
  state: EntryState,
  target: Target,
  userSocket: SocketFactory | null,
  options: unknown,
): Promise<unknown> {
  if (isGone(state)) throw closedError("open a socket");
  const cancelling = state.ready;
  if (!cancelling) {
    const attempt = state.attempts++;
    const count = target.path === undefined ? target.hosts.length : 1;
    if (attempt > 0 && attempt % count === 0) {
      await pause(retryPauseMs(attempt / count), state.abort.signal);
    }
    state.hostIndex = attempt % count;
  }
  const host = target.hosts[state.hostIndex];
  const port = target.ports[state.hostIndex];
  let socket: unknown;
  if (userSocket !== null) {
    socket = await userSocket(options);
  } else {
    socket = target.path !== undefined
      ? net.connect(target.path)
      : net.connect(port!, host!);
    // postgres.js names the server in its errors, and picks the TLS server
    // name, from these fields.
    Object.assign(socket as AnySocket, { host, port });
  }
  if (!isSocketLike(socket)) return socket;
  if (isGone(state)) {
    socket.destroy();
    throw closedError("open a socket");
  }
  state.sockets.add(socket);
  socket.once("close", () => state.sockets.delete(socket));
  socket.on("error", (error: unknown) => state.lastError = error);
  if (state.tracked && !cancelling) watchReadyForQuery(socket, state);
  return socket;
}
