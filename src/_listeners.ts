/**
 * The typed listener registry behind `pool.on()`, `Pool.on()`, the `events`
 * and `listeners` options.
 *
 * Dispatch works on compiled snapshots: one frozen array per event name,
 * rebuilt only after a registration changed. A listener added or removed
 * during a dispatch takes effect from the next one, and a pool without
 * listeners checks one array length per event.
 *
 * Registrations live in doubly linked lists (one for the class-level
 * listeners, one per pool), each record its own node, indexed by listener
 * function; records sharing an `AbortSignal` form a group with one abort
 * listener. So adding (first or last), disposing, `off()` and each removal
 * on abort are O(1), whatever the number of listeners; the compiled arrays
 * are rebuilt once, at the next dispatch.
 *
 * @module
 */

import {
  POOL_EVENT_NAMES,
  type PoolEventMap,
  type PoolEventName,
  type PoolListenerFn,
} from "./events.ts";

/** The number of arguments the listeners of event `E` receive, read from {@linkcode PoolEventMap}. */
type ArityOf<E extends PoolEventName> = Parameters<
  PoolEventMap<unknown>[E]
>["length"];

/**
 * Arguments passed to each event's listeners. The type is derived from
 * {@linkcode PoolEventMap}: a row that disagrees with the map's signature,
 * or a missing or extra event, fails to type-check. The count matters to
 * listeners with rest parameters, which see exactly the event's arguments.
 */
const ARITY: { readonly [E in PoolEventName]: ArityOf<E> } = Object.freeze({
  firstConnect: 2,
  connect: 2,
  checkout: 3,
  checkin: 2,
  reset: 3,
  invalidate: 3,
  softInvalidate: 3,
  close: 2,
  detach: 2,
  closeDetached: 1,
  handleError: 1,
});

function isPromise(value: unknown): value is Promise<unknown> {
  return value instanceof Promise;
}

/** One registration: a node of its list and of its signal's group. */
export class ListenerRecord {
  readonly event: PoolEventName;
  readonly fn: PoolListenerFn;
  readonly once: boolean;
  /** For a class-level record, the class whose instances get it; `null` for an instance record. */
  // deno-lint-ignore ban-types -- any class constructor.
  readonly target: Function | null;
  /** A `once` record already called (removal alone does not stop a dispatch in progress). */
  consumed = false;
  /** The abort signal it was registered with, if any (carried by `recreate()`). */
  signal: AbortSignal | undefined = undefined;
  /** The list holding it; `null` once removed (a dispatch already in progress still calls it). */
  list: RecordList | null = null;
  prev: ListenerRecord | null = null;
  next: ListenerRecord | null = null;
  /** The group of its signal, while registered with one. */
  group: SignalGroup | null = null;
  signalPrev: ListenerRecord | null = null;
  signalNext: ListenerRecord | null = null;
  constructor(
    event: PoolEventName,
    fn: PoolListenerFn,
    once: boolean,
    // deno-lint-ignore ban-types -- any class constructor.
    target: Function | null,
  ) {
    this.event = event;
    this.fn = fn;
    this.once = once;
    this.target = target;
  }
}

/**
 * Registrations in order, in a doubly linked list, indexed by listener
 * function for `off()`.
 */
class RecordList {
  head: ListenerRecord | null = null;
  tail: ListenerRecord | null = null;
  /** Bumped on every change, so compiled views know when to rebuild. */
  version = 0;
  readonly #byFn = new Map<PoolListenerFn, Set<ListenerRecord>>();

  /** Adds `record` last, or first when `first`. */
  add(record: ListenerRecord, first: boolean): void {
    record.list = this;
    if (this.head === null) {
      this.head = this.tail = record;
    } else if (first) {
      record.next = this.head;
      this.head.prev = record;
      this.head = record;
    } else {
      record.prev = this.tail;
      this.tail!.next = record;
      this.tail = record;
    }
    const same = this.#byFn.get(record.fn);
    if (same === undefined) this.#byFn.set(record.fn, new Set([record]));
    else same.add(record);
    this.version++;
  }

  /** Unlinks `record`, which this list holds. */
  delete(record: ListenerRecord): void {
    const { prev, next } = record;
    if (prev === null) this.head = next;
    else prev.next = next;
    if (next === null) this.tail = prev;
    else next.prev = prev;
    record.prev = record.next = null;
    record.list = null;
    const same = this.#byFn.get(record.fn)!;
    same.delete(record);
    if (same.size === 0) this.#byFn.delete(record.fn);
    this.version++;
  }

  /** The records of `fn`, any event, if there are any. */
  withFn(fn: unknown): ReadonlySet<ListenerRecord> | undefined {
    return this.#byFn.get(fn as PoolListenerFn);
  }
}

/** The records registered with one `AbortSignal`, and its one abort listener. */
class SignalGroup {
  head: ListenerRecord | null = null;
  tail: ListenerRecord | null = null;
  readonly signal: AbortSignal;
  readonly onAbort: () => void;
  constructor(signal: AbortSignal) {
    this.signal = signal;
    this.onAbort = () => {
      // Each removal leaves the group; the last one removes the abort
      // listener and the map entry.
      while (this.head !== null) removeRecord(this.head);
    };
  }
}

/**
 * The group of each signal that has registrations, across every pool and
 * the class-level list. Weak, so that the map never keeps a signal alive.
 */
const groups = new WeakMap<AbortSignal, SignalGroup>();

function joinGroup(record: ListenerRecord, signal: AbortSignal): void {
  record.signal = signal;
  let group = groups.get(signal);
  if (group === undefined) {
    group = new SignalGroup(signal);
    groups.set(signal, group);
    signal.addEventListener("abort", group.onAbort, { once: true });
  }
  record.group = group;
  const tail = group.tail;
  record.signalPrev = tail;
  if (tail === null) group.head = record;
  else tail.signalNext = record;
  group.tail = record;
}

function leaveGroup(record: ListenerRecord): void {
  const group = record.group!;
  const { signalPrev: prev, signalNext: next } = record;
  if (prev === null) group.head = next;
  else prev.signalNext = next;
  if (next === null) group.tail = prev;
  else next.signalPrev = prev;
  record.signalPrev = record.signalNext = null;
  record.group = null;
  if (group.head === null) {
    group.signal.removeEventListener("abort", group.onAbort);
    groups.delete(group.signal);
  }
}

/** Removes a registration from its list and its signal's group; a no-op once removed. */
function removeRecord(record: ListenerRecord): void {
  const list = record.list;
  if (list === null) return;
  list.delete(record);
  if (record.group !== null) leaveGroup(record);
}

const EVENT_SET: ReadonlySet<string> = new Set(POOL_EVENT_NAMES);

/** The class-level registrations, every class together. */
const classRecords = new RecordList();

/** Compiled listeners of one pool: one frozen array per event. */
export type CompiledListeners = Readonly<
  Record<PoolEventName, readonly ListenerRecord[]>
>;

const EMPTY: readonly ListenerRecord[] = Object.freeze([]);

/**
 * Throws `TypeError` unless `event` is one of the eleven event names.
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
 * Validates one registration (event name, listener, options), adds its
 * record to `list` (first when `insert`), and ties the record's removal to
 * the `signal` option and to the returned disposable. With an already
 * aborted signal nothing is stored.
 *
 * @param target The class of a class-level registration; `null` for an
 *   instance one.
 */
function register(
  event: unknown,
  fn: unknown,
  options: unknown,
  action: string,
  // deno-lint-ignore ban-types -- any class constructor.
  target: Function | null,
  list: RecordList,
): Disposable {
  checkEventName(event, action);
  checkListener(fn, action);
  const { signal, once = false, insert = false } = checkAddOptions(
    options,
    action,
  );
  if (signal?.aborted) return NOOP_DISPOSABLE;
  const record = new ListenerRecord(
    event,
    fn as PoolListenerFn,
    once,
    target,
  );
  list.add(record, insert);
  if (signal !== undefined) joinGroup(record, signal);
  return { [Symbol.dispose]: () => removeRecord(record) };
}

const NOOP_DISPOSABLE: Disposable = Object.freeze({
  [Symbol.dispose]: (): void => {},
});

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
    target,
    classRecords,
  );
}

/** The listeners of one pool instance, plus the compiled view with the class-level ones. */
export class InstanceListeners {
  readonly #owner: object;
  readonly #records = new RecordList();
  #compiled: CompiledListeners | null = null;
  #compiledClassVersion = -1;
  #compiledVersion = -1;

  /** @param owner The pool; class-level listeners apply when `owner instanceof target`. */
  constructor(owner: object) {
    this.#owner = owner;
  }

  /** Registers an instance listener. */
  add(event: unknown, fn: unknown, options?: unknown): Disposable {
    return register(event, fn, options, "add listener", null, this.#records);
  }

  /** Copies the records of another pool, for `recreate()`. */
  copyFrom(other: InstanceListeners): void {
    const records = other.#records;
    for (let record = records.head; record !== null; record = record.next) {
      const copy = new ListenerRecord(
        record.event,
        record.fn,
        record.once,
        null,
      );
      this.#records.add(copy, false);
      // Aborting the original's signal removes the copy too.
      if (record.signal !== undefined) joinGroup(copy, record.signal);
    }
  }

  /** Removes instance registrations of `fn` for `event`. */
  remove(event: unknown, fn: unknown): void {
    checkEventName(event, "remove listener");
    // Deleting the current element of a Set while iterating it is safe.
    for (const record of this.#records.withFn(fn) ?? []) {
      if (record.event === event) removeRecord(record);
    }
  }

  /** Removes a `once` record before its first call; `false` if it was already called. */
  #consumeOnce(record: ListenerRecord): boolean {
    if (record.consumed) return false;
    record.consumed = true;
    // Already removed during this dispatch: still called, like any other.
    removeRecord(record);
    return true;
  }

  /** Whether any listener (class-level or instance) exists for `event`. */
  has(event: PoolEventName): boolean {
    return this.compiled[event].length > 0;
  }

  /**
   * Calls the listeners of `event` in order, class-level first, awaiting
   * only real promises. Returns `undefined` when every listener ran
   * synchronously (always, when there is none), so a caller awaits only
   * what needs awaiting. A listener's error stops the dispatch and
   * propagates.
   */
  fire(
    event: PoolEventName,
    a?: unknown,
    b?: unknown,
    c?: unknown,
  ): void | Promise<void> {
    const list = this.compiled[event];
    if (list.length === 0) return;
    return this.#run(list, 0, ARITY[event], a, b, c);
  }

  #run(
    list: readonly ListenerRecord[],
    start: number,
    arity: 1 | 2 | 3,
    a: unknown,
    b: unknown,
    c: unknown,
  ): void | Promise<void> {
    for (let i = start; i < list.length; i++) {
      const record = list[i]!;
      if (record.once && !this.#consumeOnce(record)) continue;
      const result: unknown = arity === 1
        ? record.fn(a)
        : arity === 2
        ? record.fn(a, b)
        : record.fn(a, b, c);
      if (isPromise(result)) {
        return result.then(() => this.#run(list, i + 1, arity, a, b, c));
      }
    }
  }

  /** The compiled listeners, class-level first, rebuilt only when something changed. */
  get compiled(): CompiledListeners {
    if (
      this.#compiled !== null &&
      this.#compiledClassVersion === classRecords.version &&
      this.#compiledVersion === this.#records.version
    ) {
      return this.#compiled;
    }
    const lists = {} as Record<PoolEventName, ListenerRecord[]>;
    for (const name of POOL_EVENT_NAMES) lists[name] = [];
    for (
      let record = classRecords.head;
      record !== null;
      record = record.next
    ) {
      if (this.#owner instanceof record.target!) {
        lists[record.event].push(record);
      }
    }
    for (
      let record = this.#records.head;
      record !== null;
      record = record.next
    ) {
      lists[record.event].push(record);
    }
    const compiled = {} as Record<PoolEventName, readonly ListenerRecord[]>;
    for (const name of POOL_EVENT_NAMES) {
      compiled[name] = lists[name].length === 0
        ? EMPTY
        : Object.freeze(lists[name]);
    }
    this.#compiled = Object.freeze(compiled);
    this.#compiledClassVersion = classRecords.version;
    this.#compiledVersion = this.#records.version;
    return this.#compiled;
  }
}
