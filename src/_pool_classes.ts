/**
 * The registry that ties each pool class to its policy and its extra option
 * keys, and internal access to a pool's engine, so that subclass extension
 * points stay off the public surface.
 *
 * @module
 */

import type { Engine } from "./_engine.ts";
import type { PolicyFactory } from "./_policy.ts";

/** How a pool class builds its policy. */
export interface PoolClassSpec {
  /** Option keys the class accepts beyond the common ones. */
  readonly keys: readonly string[];
  /** Validates the class's own options and makes its policy. */
  readonly makePolicy: PolicyFactory<Record<string, unknown>>;
}

// deno-lint-ignore ban-types -- pool class constructors.
const specs = new Map<Function, PoolClassSpec>();

/** Registers a pool class (called once per class, at module load). */
// deno-lint-ignore ban-types -- pool class constructors.
export function registerPoolClass(target: Function, spec: PoolClassSpec): void {
  specs.set(target, spec);
}

/** The spec of `target` or of its nearest registered base class. */
// deno-lint-ignore ban-types -- pool class constructors.
export function findPoolClass(target: Function): PoolClassSpec | undefined {
  // deno-lint-ignore ban-types -- walking the constructor chain.
  for (let cls: Function | null = target; cls !== null;) {
    const spec = specs.get(cls);
    if (spec !== undefined) return spec;
    const parent: unknown = Object.getPrototypeOf(cls);
    // deno-lint-ignore ban-types -- walking the constructor chain.
    cls = typeof parent === "function" ? parent as Function : null;
  }
  return undefined;
}

/** Internal access to a pool's engine; filled in by `Pool`'s static block. */
export const poolInternals = {} as {
  engine<C>(pool: object): Engine<C>;
};
