/**
 * `pool.addListener()`: subscribes a legacy listener object's hooks
 * (`connect`, `firstConnect`, `checkout`, `checkin`), each bound to the
 * object. Every hook is checked before any is subscribed, so a bad hook
 * subscribes nothing.
 *
 * @module
 */

import type { PoolListener } from "./events.ts";
import type { InstanceListeners } from "./_listeners.ts";
import { checkLegacyHooks, LEGACY_EVENTS } from "./_options.ts";

/** Subscribes the hooks of `listener` to `listeners`; `TypeError` for a bad one. */
export function addLegacyListener<C>(
  listeners: InstanceListeners,
  listener: PoolListener<C>,
): void {
  if (listener === null || typeof listener !== "object") {
    throw new TypeError(
      `Cannot add listener: expected a listener object, received ${
        listener === null ? "null" : typeof listener
      }`,
    );
  }
  checkLegacyHooks(listener, "Cannot add listener", "");
  for (const name of LEGACY_EVENTS) {
    const method: unknown = listener[name];
    if (typeof method === "function") {
      listeners.add(name, method.bind(listener));
    }
  }
}
