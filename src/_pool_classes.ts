/**
 * The registry that ties each pool class to its option table and its
 * policy factory, and internal access to a pool's engine, so that subclass
 * extension points stay off the public surface.
 *
 * @module
 */

import type { Engine } from "./_engine.ts";
import type { CommonTable, Normalised } from "./_options.ts";
import type { PolicyFactory } from "./_policy.ts";

/** What a pool class registers. */
export interface PoolClassSpec<T extends CommonTable> {
  /** Every option the class accepts, with its check: the common ones first. */
  readonly options: T;
  /** Makes the class's policy from the normalised options. */
  readonly makePolicy: PolicyFactory<Normalised<T>>;
}

// deno-lint-ignore ban-types -- pool class constructors.
const specs = new Map<Function, PoolClassSpec<CommonTable>>();

/** Registers a pool class (called once per class, at module load). */
export function registerPoolClass<T extends CommonTable>(
  // deno-lint-ignore ban-types -- pool class constructors.
  target: Function,
  spec: PoolClassSpec<T>,
): void {
  specs.set(target, spec as unknown as PoolClassSpec<CommonTable>);
}

/** The spec of `target` or of its nearest registered base class. */
export function findPoolClass(
  // deno-lint-ignore ban-types -- pool class constructors.
  target: Function,
): PoolClassSpec<CommonTable> | undefined {
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
