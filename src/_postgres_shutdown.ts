/**
 * Ending a connection made by the postgres.js adapter's creator: release
 * it, end its instance, and wait until its sockets are closed.
 *
 * - {@linkcode shutdown} runs once per connection: a later call (a close
 *   after a terminate, say) gets the first one's promise.
 * - From its first step the connection is gone: queries are refused and
 *   no socket is opened for it any more.
 * - It never rejects and never waits forever: the graceful end gets its
 *   grace period plus {@linkcode SOCKET_CLOSE_WAIT_MS}, the sockets still
 *   open are then destroyed, and their closing gets
 *   {@linkcode SOCKET_CLOSE_WAIT_MS} more.
 *
 * @module
 */

import type { ReservedSql } from "npm:postgres@^3";
import type { EntryState } from "./_postgres_entry_state.ts";

/** How long closing waits for the socket to be gone once ended, in ms. */
export const SOCKET_CLOSE_WAIT_MS: number = 5_000;

/** Waits at most `ms` for `promise`; clears its timer. */
export async function within(
  promise: Promise<void>,
  ms: number,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      promise,
      new Promise<void>((resolve) => timer = setTimeout(resolve, ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Destroys the sockets still open; the ones already closed are dropped. */
export function destroySockets(state: EntryState): void {
  for (const socket of state.sockets) {
    if (!socket.destroyed) socket.destroy();
  }
}

/** Releases (if needed) and ends the connection's instance. */
export function shutdown(
  connection: ReservedSql,
  state: EntryState,
  graceSeconds: number,
): Promise<void> {
  state.ending ??= (async () => {
    state.abort.abort();
    if (!state.closed && !state.released) {
      state.released = true;
      try {
        connection.release();
      } catch {
        // already released
      }
    }
    if (graceSeconds === 0) destroySockets(state);
    if (state.sql !== null) {
      await within(
        state.sql.end({ timeout: graceSeconds }).catch(() => {}),
        graceSeconds * 1_000 + SOCKET_CLOSE_WAIT_MS,
      );
    }
    destroySockets(state);
    await within(
      Promise.all([
        state.whenClosed,
        ...[...state.sockets].filter((socket) => !socket.closed).map(
          (socket) =>
            new Promise<void>((resolve) =>
              socket.once("close", () => resolve())
            ),
        ),
      ]).then(() => {}),
      SOCKET_CLOSE_WAIT_MS,
    );
  })();
  return state.ending;
}
