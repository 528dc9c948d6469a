/**
 * The typed listener registry behind `pool.on()`, `Pool.on()`, the `events`
 * and `listeners` options.
 *
 * Dispatch works on compiled snapshots: one frozen array per event name,
 * rebuilt only after a registration changed. A listener added or removed
 * during a dispatch takes effect from the next one, and a pool without
 * listeners checks one array length per event.
 *
 * @module
 */

import {
  POOL_EVENT_NAMES,
  type PoolEventName,
  type PoolListenerFn,
} from "./events.ts";

/** One registration. */
export class ListenerRecord {
  readonly event: PoolEventName;
  readonly fn: PoolListenerFn;
  readonly once: boolean;
  removed = false;
  /** A `once` record already called (removal alone does not stop a dispatch in progress). */
  consumed = false;
  /** The abort signal it was registered with, if any (carried by `recreate()`). */
  signal: AbortSignal | undefined = undefined;
  /** Set while registered with an abort signal. */
  detachSignal: (() => void) | null = null;
  constructor(event: PoolEventName, fn: PoolListenerFn, once: boolean) {
    this.event = event;
    this.fn = fn;
    this.once = once;
  }
}

/** A class-level registration: applies to instances of `target` and its subclasses. */
interface ClassRecord {
  // deno-lint-ignore ban-types -- any class constructor.
  readonly target: Function;
  readonly record: ListenerRecord;
}

const EVENT_SET: ReadonlySet<string> = new Set(POOL_EVENT_NAMES);

/** Bumped on every change, so instances know when to recompile. */
let version = 0;
const classRecords: ClassRecord[] = [];

/** Compiled listeners of one pool: one frozen array per event. */
export type CompiledListeners = Readonly<
  Record<PoolEventName, readonly ListenerRecord[]>
>;

const EMPTY: readonly ListenerRecord[] = Object.freeze([]);

/**
 * Throws `TypeError` unless `event` is one of the ten event names.
 *
 * @param action The failed action, for the message.
 */
export function checkEventName(
  event: unknown,
  action: string,
): asserts event is PoolEventName {
  if (typeof event !== "string" || !EVENT_SET.has(event)) {
    throw new TypeError(
      `Cannot ${action}: unknown event name ${
        typeof event === "string" ? `"${event}"` : String(event)
      }, expected one of ${POOL_EVENT_NAMES.join(", ")}`,
    );
  }
}

function checkListener(fn: unknown, action: string): void {
  if (typeof fn !== "function") {
    throw new TypeError(
      `Cannot ${action}: the listener must be a function, received ${typeof fn}`,
    );
  }
}

/** Options accepted by {@linkcode InstanceListeners.add} and {@linkcode addClassListener}. */
export interface AddOptions {
  signal?: AbortSignal | undefined;
  once?: boolean | undefined;
  insert?: boolean | undefined;
}

function checkAddOptions(options: unknown, action: string): AddOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot ${action}: options must be an object, received ${
        options === null ? "null" : typeof options
      }`,
    );
  }
  const { signal, once, insert } = options as Record<string, unknown>;
  for (const key of Object.keys(options)) {
    if (key !== "signal" && key !== "once" && key !== "insert") {
      throw new TypeError(`Cannot ${action}: unknown option "${key}"`);
    }
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`Cannot ${action}: "signal" must be an AbortSignal`);
  }
  if (once !== undefined && typeof once !== "boolean") {
    throw new TypeError(`Cannot ${action}: "once" must be a boolean`);
  }
  if (insert !== undefined && typeof insert !== "boolean") {
    throw new TypeError(`Cannot ${action}: "insert" must be a boolean`);
  }
  return options as AddOptions;
}

/**
 * Validates one registration (event name, listener, options), lets `store`
 * keep its record, and ties the record's removal to the `signal` option and
 * to the returned disposable. With an already aborted signal nothing is
 * stored.
 *
 * @param store Keeps the record (at the front when `insert`); returns the
 *   function that removes it.
 */
function register(
  event: unknown,
  fn: unknown,
  options: unknown,
  action: string,
  store: (record: ListenerRecord, insert: boolean) => () => void,
): Disposable {
  checkEventName(event, action);
  checkListener(fn, action);
  const { signal, once = false, insert = false } = checkAddOptions(
    options,
    action,
  );
  if (signal?.aborted) return NOOP_DISPOSABLE;
  const record = new ListenerRecord(event, fn as PoolListenerFn, once);
  const remove = store(record, insert);
  bindSignal(record, signal, remove);
  return makeDisposable(remove);
}

function makeDisposable(remove: () => void): Disposable {
  return { [Symbol.dispose]: remove };
}

const NOOP_DISPOSABLE: Disposable = Object.freeze(makeDisposable(() => {}));

function bindSignal(
  record: ListenerRecord,
  signal: AbortSignal | undefined,
  remove: () => void,
): void {
  if (signal === undefined) return;
  record.signal = signal;
  const onAbort = (): void => remove();
  signal.addEventListener("abort", onAbort, { once: true });
  record.detachSignal = () => signal.removeEventListener("abort", onAbort);
}

function unbind(record: ListenerRecord): void {
  record.removed = true;
  record.detachSignal?.();
  record.detachSignal = null;
}

/**
 * Registers a class-level listener (static `Pool.on()`).
 *
 * @param target The class whose instances (and subclasses' instances) get it.
 */
export function addClassListener(
  // deno-lint-ignore ban-types -- any class constructor.
  target: Function,
  event: unknown,
  fn: unknown,
  options: unknown,
): Disposable {
  return register(
    event,
    fn,
    options,
    "add class-level listener",
    (record, insert) => {
      const entry: ClassRecord = { target, record };
      if (insert) classRecords.unshift(entry);
      else classRecords.push(entry);
      version++;
      return () => removeClassRecord(entry);
    },
  );
}

function removeClassRecord(entry: ClassRecord): void {
  const index = classRecords.indexOf(entry);
  if (index === -1) return;
  classRecords.splice(index, 1);
  unbind(entry.record);
  version++;
}

/**
 * Removes class-level registrations of `fn` for `event` on exactly `target`.
 */
export function removeClassListener(
  // deno-lint-ignore ban-types -- any class constructor.
  target: Function,
  event: unknown,
  fn: unknown,
): void {
  checkEventName(event, "remove class-level listener");
  for (let i = classRecords.length - 1; i >= 0; i--) {
    const entry = classRecords[i]!;
    if (
      entry.target === target && entry.record.event === event &&
      entry.record.fn === fn
    ) {
      removeClassRecord(entry);
    }
  }
}

/** The listeners of one pool instance, plus the compiled view with the class-level ones. */
export class InstanceListeners {
  readonly #owner: object;
  #records: ListenerRecord[] = [];
  #compiledVersion = -1;
  #compiled: CompiledListeners | null = null;
  #localVersion = 0;
  #compiledLocal = -1;

  /** @param owner The pool; class-level listeners apply when `owner instanceof target`. */
  constructor(owner: object) {
    this.#owner = owner;
  }

  /** Registers an instance listener. */
  add(event: unknown, fn: unknown, options?: unknown): Disposable {
    return register(event, fn, options, "add listener", (record, insert) => {
      this.#insert(record, insert);
      return () => this.#remove(record);
    });
  }

  /** Copies the records of another pool, for `recreate()`. */
  copyFrom(other: InstanceListeners): void {
    for (const record of other.#records) {
      const copy = new ListenerRecord(record.event, record.fn, record.once);
      this.#insert(copy, false);
      // Aborting the original's signal removes the copy too.
      bindSignal(copy, record.signal, () => this.#remove(copy));
    }
  }

  #insert(record: ListenerRecord, first: boolean): void {
    if (first) this.#records.unshift(record);
    else this.#records.push(record);
    this.#localVersion++;
  }

  #remove(record: ListenerRecord): void {
    const index = this.#records.indexOf(record);
    if (index === -1) return;
    this.#records.splice(index, 1);
    unbind(record);
    this.#localVersion++;
  }

  /** Removes instance registrations of `fn` for `event`. */
  remove(event: unknown, fn: unknown): void {
    checkEventName(event, "remove listener");
    for (let i = this.#records.length - 1; i >= 0; i--) {
      const record = this.#records[i]!;
      if (record.event === event && record.fn === fn) this.#remove(record);
    }
  }

  /** Removes a `once` record before its first call; `false` if it was already called. */
  consumeOnce(record: ListenerRecord): boolean {
    if (record.consumed) return false;
    record.consumed = true;
    if (record.removed) return true; // removed during this dispatch: still called (§9.1)
    this.#remove(record);
    if (!record.removed) {
      // A class-level record.
      const entry = classRecords.find((c) => c.record === record);
      if (entry !== undefined) removeClassRecord(entry);
    }
    return true;
  }

  /** The compiled listeners, class-level first, rebuilt only when something changed. */
  get compiled(): CompiledListeners {
    if (
      this.#compiled !== null && this.#compiledVersion === version &&
      this.#compiledLocal === this.#localVersion
    ) {
      return this.#compiled;
    }
    const lists = {} as Record<PoolEventName, ListenerRecord[]>;
    for (const name of POOL_EVENT_NAMES) lists[name] = [];
    for (const { target, record } of classRecords) {
      if (this.#owner instanceof target) lists[record.event].push(record);
    }
    for (const record of this.#records) lists[record.event].push(record);
    const compiled = {} as Record<PoolEventName, readonly ListenerRecord[]>;
    for (const name of POOL_EVENT_NAMES) {
      compiled[name] = lists[name].length === 0
        ? EMPTY
        : Object.freeze(lists[name]);
    }
    this.#compiled = Object.freeze(compiled);
    this.#compiledVersion = version;
    this.#compiledLocal = this.#localVersion;
    return this.#compiled;
  }
}
