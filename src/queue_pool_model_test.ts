/**
 * A randomized, model-based test of the queue pool (`src/queue_pool.ts`).
 * This file is the harness: a seeded PRNG drives a random sequence of
 * operations (connect with or without an abort signal, close, hard and soft
 * invalidation, detach, pool-wide invalidation, dispose, creator failures,
 * gated creators, clock moves) against a real `QueuePool` over the fake
 * driver, and the same operations through the reference model of the queue
 * policy in `_test_queue_model.ts` (idle entries, live entries, FIFO
 * waiters, dispose generations). After every step (once pending promises
 * have settled) the pool's counters must match the model, every connect()
 * must have settled as the model says, and the driver's connections must
 * agree with what the pool owns.
 *
 * The model predicts every capacity decision (take an idle entry, grow,
 * fail at once, wait; hand-off on return; close on return). Whether a
 * checkout needs the creator (a new, empty or stale entry) is observed: a
 * wrapper around the creator tags each entry (through `entry.recordInfo`)
 * and logs each call, and the harness matches calls to the entries the
 * model granted, checking each against the model's staleness rules.
 *
 * To reproduce a failure, run the test whose name carries the failing seed;
 * the error message also lists the last operations.
 *
 * @module
 */

import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { PoolTimeoutError, QueuePool } from "../mod.ts";
import {
  closes,
  FakeClock,
  FakeConnection,
  FakeDriver,
  type FakeEntry,
  type FakeProxy,
  recordingLogger,
} from "./_test_fake_driver.ts";
import { prng, withoutJitter } from "./_test_helpers.ts";
import {
  type Grant,
  type ModelEntry,
  QueueModel,
  staleReasons,
} from "./_test_queue_model.ts";

const SEEDS = 30;
const STEPS = 400;

/** Key under which the creator wrapper stores an entry's id in `recordInfo`. */
const ENTRY_ID = Symbol("model entry id");

/** Resolves once every pending microtask (the pool's promise chains) has run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

interface Params {
  poolSize: number;
  maxOverflow: number;
  timeoutMs: number | null;
  useLifo: boolean;
  recycleMs: number | null;
  /** Probability that a creator call is held open until the test releases it. */
  gateP: number;
}

function paramsFor(seed: number): Params {
  const rng = prng(seed * 7919 + 17);
  const pick = <T>(values: readonly T[]): T =>
    values[Math.floor(rng() * values.length)]!;
  // Mostly bounded pools (where waiting, hand-off and overflow happen); a
  // few unbounded ones (poolSize 0, maxOverflow -1).
  return {
    poolSize: seed % 7 === 0 ? 0 : pick([1, 1, 2, 2, 3]),
    maxOverflow: seed % 9 === 0 ? -1 : pick([0, 0, 1, 2]),
    timeoutMs: pick([null, null, 0, 1e9]),
    useLifo: rng() < 0.35,
    recycleMs: rng() < 0.4 ? 1_000 : null,
    gateP: pick([0.15, 0.3, 0.5]),
  };
}

function describe(p: Params): string {
  return `poolSize ${p.poolSize}, maxOverflow ${p.maxOverflow}, timeoutMs ${p.timeoutMs}, ${
    p.useLifo ? "LIFO" : "FIFO"
  }, recycleMs ${p.recycleMs}, gate ${p.gateP}`;
}

/** One creator call, as seen by the wrapper. */
interface CreatorCall {
  readonly seq: number;
  readonly entryId: number;
  readonly gated: boolean;
  /** The entry's start tick and clock reading before this call (whether a checkout reconnects the entry is decided on them). */
  readonly prevStartTick: number;
  readonly prevStartClock: number;
  outcome: "pending" | "ok" | "fail";
  error?: unknown;
  release?: (() => void) | undefined;
  /** Matched to a grant by the model. */
  consumed: boolean;
  /** The ticket waiting on this (gated) call. */
  ticket?: Ticket;
}

/** A pool entry in the model. */
interface MEntry extends ModelEntry {
  /** The id the creator wrapper gave the real entry; null until its first creator call is matched. */
  id: number | null;
  /** Never delivered to a checkout (a creator failure then discards it). */
  isNew: boolean;
  /** Has a driver connection (not hard-invalidated, detached or failed). */
  connected: boolean;
}

type Expect =
  | { kind: "pending" }
  | { kind: "resolved" }
  | { kind: "rejected"; reason: unknown }
  | {
    kind: "timeout";
    size: number;
    overflow: number;
    checkedOut: number;
  };

/** One connect() call. */
interface Ticket {
  readonly n: number;
  readonly ctl: Ctl | null;
  outcome:
    | { ok: true; proxy: FakeProxy }
    | { ok: false; error: unknown }
    | null;
  state: "queued" | "granted" | "held" | "done";
  entry: MEntry | null;
  /** Rejected by its signal after the grant; the checkout goes on in the background. */
  aborted: boolean;
  expect: Expect;
  pendingCall: CreatorCall | null;
  proxy: FakeProxy | null;
  verified: boolean;
}

/** An AbortController shared by some tickets. */
interface Ctl {
  readonly n: number;
  readonly controller: AbortController;
  readonly reason: Error;
  readonly tickets: Ticket[];
}

class ModelRun {
  readonly seed: number;
  readonly p: Params;
  readonly rng: () => number;
  readonly driver: FakeDriver = new FakeDriver();
  readonly clock: FakeClock = new FakeClock();
  readonly log: ReturnType<typeof recordingLogger> = recordingLogger();
  pool!: QueuePool<FakeConnection>;
  gateP: number;

  // What the creator wrapper saw.
  readonly calls: CreatorCall[] = [];
  readonly knownIds = new Set<number>();
  /**
   * A logical time that moves at every timestamp the pool takes: creator
   * call (start time), soft invalidation, pool invalidation. Staleness
   * (is a connection older than the last invalidation?) compares these, as
   * the pool compares its clock readings, which it makes strictly
   * increasing so that two readings in one clock tick never compare equal.
   */
  tick = 0;
  readonly startTick = new Map<number, number>();
  readonly startClock = new Map<number, number>();
  readonly softTick = new Map<number, number>();
  invalidTick = -Infinity;
  /** `tick` at the last clock move. */
  ticksAtClockMove = 0;
  readonly connectionEntry = new Map<FakeConnection, number>();
  #entryIds = 0;

  // The model, and what the harness keeps beside it.
  readonly model: QueueModel<MEntry, Ticket>;
  readonly reactions: (() => void)[] = [];
  readonly tickets: Ticket[] = [];
  readonly ctls: Ctl[] = [];
  detached: { proxy: FakeProxy; connection: FakeConnection }[] = [];
  readonly closedProxies: FakeProxy[] = [];
  expectedErrors = 0;
  /** connect() calls that had to wait. */
  waited = 0;
  /** Entries handed straight to a waiter. */
  handedOff = 0;

  readonly history: string[] = [];
  step = 0;

  constructor(seed: number) {
    this.seed = seed;
    this.p = paramsFor(seed);
    this.rng = prng(seed);
    this.gateP = this.p.gateP;
    this.model = new QueueModel(this.p);
  }

  /** The creator given to the pool: tags the entry, logs the call, maybe holds it open. */
  readonly creator = (
    entry: FakeEntry,
  ): FakeConnection | Promise<FakeConnection> => {
    const recordInfo = entry.recordInfo!;
    let id = recordInfo.get(ENTRY_ID) as number | undefined;
    if (id === undefined) {
      id = ++this.#entryIds;
      recordInfo.set(ENTRY_ID, id);
    }
    const entryId = id;
    const call: CreatorCall = {
      seq: this.calls.length,
      entryId,
      gated: this.rng() < this.gateP,
      prevStartTick: this.startTick.get(entryId) ?? -Infinity,
      prevStartClock: this.startClock.get(entryId) ?? -Infinity,
      outcome: "pending",
      consumed: false,
    };
    this.calls.push(call);
    this.startTick.set(entryId, ++this.tick);
    this.startClock.set(entryId, this.clock.now);
    const run = (): FakeConnection => {
      try {
        const connection = this.driver.creator(entry) as FakeConnection;
        call.outcome = "ok";
        this.connectionEntry.set(connection, entryId);
        return connection;
      } catch (error) {
        call.outcome = "fail";
        call.error = error;
        throw error;
      }
    };
    if (!call.gated) return run();
    return new Promise<FakeConnection>((resolve, reject) => {
      call.release = () => {
        call.release = undefined;
        try {
          resolve(run());
        } catch (error) {
          reject(error);
        }
      };
    });
  };

  #int(n: number): number {
    return Math.floor(this.rng() * n);
  }

  #pick<T>(values: readonly T[]): T {
    return values[this.#int(values.length)]!;
  }

  // ------------------------------------------------------------ the model

  #newTicket(ctl: Ctl | null): Ticket {
    const ticket: Ticket = {
      n: this.tickets.length + 1,
      ctl,
      outcome: null,
      state: "queued",
      entry: null,
      aborted: false,
      expect: { kind: "pending" },
      pendingCall: null,
      proxy: null,
      verified: false,
    };
    this.tickets.push(ticket);
    ctl?.tickets.push(ticket);
    return ticket;
  }

  /** A connect() in the model: granted an entry or capacity, failed at once, or queued. */
  #acquire(t: Ticket): void {
    const acquired = this.model.acquire(t);
    switch (acquired.kind) {
      case "idle":
        this.#grant(t, acquired.entry);
        return;
      case "new":
        this.#grant(t, this.#newEntry());
        return;
      case "timeout":
        t.state = "done";
        t.expect = {
          kind: "timeout",
          size: acquired.size,
          overflow: acquired.overflow,
          checkedOut: acquired.checkedOut,
        };
        return;
      case "queued":
        t.state = "queued";
        t.expect = { kind: "pending" };
        this.waited++;
        return;
    }
  }

  /** A new entry of the current generation, not yet matched to a real one. */
  #newEntry(): MEntry {
    return {
      id: null,
      generation: this.model.generation,
      isNew: true,
      connected: false,
    };
  }

  /** Hands the model's grants to their waiters, in order. */
  #serve(grants: Grant<MEntry, Ticket>[]): void {
    for (const { waiter, entry } of grants) {
      if (entry !== null) this.handedOff++;
      this.#grant(waiter, entry ?? this.#newEntry());
    }
  }

  /** An entry (or new capacity) goes to `t`; the creator call it caused, if any, is matched now. */
  #grant(t: Ticket, entry: MEntry): void {
    t.state = "granted";
    t.entry = entry;
    let call: CreatorCall | undefined;
    if (entry.id === null) {
      // A new entry: its creator call happened synchronously at the grant,
      // so it is the oldest call for an entry the model does not know yet.
      call = this.calls.find((c) =>
        !c.consumed && !this.knownIds.has(c.entryId)
      );
      if (call === undefined) {
        throw new Error(`no creator call for the new entry granted to #${t.n}`);
      }
      entry.id = call.entryId;
      this.knownIds.add(call.entryId);
    } else {
      const id = entry.id;
      call = this.calls.find((c) => !c.consumed && c.entryId === id);
      this.#checkReconnect(t, entry, call);
    }
    if (call !== undefined) call.consumed = true;
    this.reactions.push(() => this.#resolveGrant(t, call));
  }

  /**
   * The freshness check: checking out an existing entry calls the creator exactly when the
   * entry has no connection or its connection is stale (recycle, pool or
   * soft invalidation); otherwise the connection is reused.
   */
  #checkReconnect(
    t: Ticket,
    entry: MEntry,
    call: CreatorCall | undefined,
  ): void {
    const id = entry.id!;
    // The entry's timestamps as they were when the checkout looked at them.
    const started = call?.prevStartTick ?? this.startTick.get(id)!;
    const startedAt = call?.prevStartClock ?? this.startClock.get(id)!;
    const recycleMs = this.p.recycleMs;
    const age = this.clock.now - startedAt;
    // The pool's readings run ahead of a clock that does not move, by
    // 0.001 ms per reading (to keep them strictly increasing). Ages here are whole milliseconds, so that
    // cannot matter until about 1000 readings were taken since the clock
    // last moved; past that, an age within 1 ms of the boundary is not
    // checked.
    if (
      recycleMs !== null && Math.abs(age - recycleMs) <= 1 &&
      this.tick - this.ticksAtClockMove >= 900
    ) {
      return;
    }
    const reasons = staleReasons({
      connected: entry.connected,
      age,
      recycleMs,
      started,
      poolInvalidated: this.invalidTick,
      softInvalidated: this.softTick.get(id) ?? -Infinity,
    });
    if ((call !== undefined) !== (reasons.length > 0)) {
      throw new Error(
        `entry ${id} granted to #${t.n}: ${
          call === undefined ? "no creator call" : "a creator call"
        }, expected ${
          reasons.length > 0 ? `a reconnect (${reasons.join(", ")})` : "reuse"
        }`,
      );
    }
  }

  #resolveGrant(t: Ticket, call: CreatorCall | undefined): void {
    if (call === undefined) {
      // Usable as is: the checkout is delivered synchronously (an abort
      // right after connect() returned comes too late).
      t.aborted = false;
      t.state = "held";
      t.expect = { kind: "resolved" };
      return;
    }
    if (call.outcome === "pending") {
      t.pendingCall = call;
      call.ticket = t;
      t.expect = t.aborted
        ? { kind: "rejected", reason: t.ctl!.reason }
        : { kind: "pending" };
      return;
    }
    this.#finishCall(t, call);
  }

  /** The creator call of a granted checkout has finished. */
  #finishCall(t: Ticket, call: CreatorCall): void {
    const entry = t.entry!;
    t.pendingCall = null;
    entry.connected = call.outcome === "ok";
    if (call.outcome === "ok") {
      entry.isNew = false;
      if (t.aborted) {
        // Aborted after the grant: the checkout completed in the background
        // and was returned.
        t.state = "done";
        this.#giveBack(entry);
      } else {
        t.state = "held";
        t.expect = { kind: "resolved" };
      }
      return;
    }
    t.state = "done";
    if (t.aborted) this.expectedErrors++; // logged, nobody to reject
    else t.expect = { kind: "rejected", reason: call.error };
    if (entry.isNew) {
      // A failed creator on a new entry: the entry is discarded, its capacity freed.
      this.#serve(this.model.discardNew());
    } else {
      // A failed reconnect of an existing entry: it goes back (empty).
      this.#giveBack(entry);
    }
  }

  /** An entry comes back. */
  #giveBack(entry: MEntry): void {
    this.#serve(this.model.giveBack(entry));
  }

  #abortModel(ctl: Ctl): void {
    for (const t of ctl.tickets) {
      if (t.state === "queued") {
        this.model.abort(t);
        t.state = "done";
        t.expect = { kind: "rejected", reason: ctl.reason };
      } else if (t.state === "granted" && !t.aborted) {
        t.aborted = true;
        t.expect = { kind: "rejected", reason: ctl.reason };
      }
    }
  }

  #disposeModel(): void {
    this.#serve(this.model.dispose());
  }

  #drain(): void {
    while (this.reactions.length > 0) this.reactions.shift()!();
  }

  // ----------------------------------------------------------- operations

  #connect(): () => void {
    const roll = this.rng();
    let ctl: Ctl | null = null;
    let variant: "plain" | "signal" | "pre-aborted" | "abort-at-once" = "plain";
    const open = this.ctls.filter((c) => !c.controller.signal.aborted);
    const aborted = this.ctls.filter((c) => c.controller.signal.aborted);
    if (roll < 0.4) {
      variant = "plain";
    } else if (roll < 0.62 || (roll < 0.77 && open.length === 0)) {
      variant = "signal";
      ctl = this.#newCtl();
    } else if (roll < 0.77) {
      variant = "signal";
      ctl = this.#pick(open);
    } else if (roll < 0.83 && aborted.length > 0) {
      variant = "pre-aborted";
      ctl = this.#pick(aborted);
    } else {
      variant = "abort-at-once";
      ctl = this.#newCtl();
    }
    const t = this.#newTicket(ctl);
    this.history.push(
      `connect #${t.n} (${variant}${ctl === null ? "" : ` c${ctl.n}`})`,
    );
    const signal = ctl?.controller.signal;
    const promise = this.pool.connect(
      signal === undefined ? undefined : { signal },
    );
    promise.then(
      (proxy) => t.outcome = { ok: true, proxy },
      (error: unknown) => t.outcome = { ok: false, error },
    );
    if (variant === "abort-at-once") ctl!.controller.abort(ctl!.reason);
    return () => {
      if (variant === "pre-aborted") {
        t.state = "done";
        t.expect = { kind: "rejected", reason: ctl!.reason };
        return;
      }
      this.#acquire(t);
      if (variant === "abort-at-once") this.#abortModel(ctl!);
    };
  }

  #newCtl(): Ctl {
    const n = this.ctls.length + 1;
    const ctl: Ctl = {
      n,
      controller: new AbortController(),
      reason: new Error(`abort c${n}`),
      tickets: [],
    };
    this.ctls.push(ctl);
    return ctl;
  }

  #held(): Ticket[] {
    return this.tickets.filter((t) => t.state === "held");
  }

  #gatedCalls(): CreatorCall[] {
    return this.calls.filter((c) => c.release !== undefined);
  }

  async #returnHeld(
    how: "close" | "invalidate" | "poolInvalidate" | "detach",
  ): Promise<() => void> {
    const t = this.#pick(this.#held());
    const proxy = t.proxy!;
    const connection = proxy.dbapiConnection!;
    this.history.push(`${how} #${t.n} (connection ${connection.id})`);
    if (how === "close") await proxy.close();
    else if (how === "invalidate") {
      await proxy.invalidate(new Error(`invalidate #${t.n}`));
    } else if (how === "poolInvalidate") {
      // Pool-wide invalidation: the time moves only if it is older than this connection.
      if (this.invalidTick < this.startTick.get(t.entry!.id!)!) {
        this.invalidTick = ++this.tick;
      }
      await this.pool.invalidate(proxy, new Error(`pool invalidate #${t.n}`));
    } else {
      await proxy.detach();
      this.detached.push({ proxy, connection });
    }
    if (how === "invalidate" || how === "poolInvalidate") {
      assert.equal(closes(connection), 1, "invalidated: terminated once");
      assert.equal(proxy.isValid, false);
    }
    if (how === "detach") {
      assert.equal(proxy.isDetached, true);
      assert.equal(proxy.dbapiConnection, connection);
      assert.equal(connection.open, true);
    }
    return () => {
      t.state = "done";
      t.verified = true;
      if (how !== "detach") this.closedProxies.push(proxy);
      if (how !== "close") t.entry!.connected = false;
      this.#giveBack(t.entry!);
    };
  }

  #release(call: CreatorCall): () => void {
    const t = call.ticket;
    if (t === undefined) {
      throw new Error(`gated creator call ${call.seq} has no ticket`);
    }
    this.history.push(
      `release creator call ${call.seq} (entry ${call.entryId}, #${t.n}${
        t.aborted ? ", aborted" : ""
      })`,
    );
    call.release!();
    return () => this.#finishCall(t, call);
  }

  /** Chooses and performs one operation; returns the model's update, to run once settled. */
  async #operate(): Promise<() => void> {
    const held = this.#held();
    const gated = this.#gatedCalls();
    const choices: [number, () => Promise<() => void> | (() => void)][] = [
      [30, () => this.#connect()],
    ];
    if (held.length > 0) {
      choices.push(
        [18, () => this.#returnHeld("close")],
        [4, () => this.#returnHeld("invalidate")],
        [2, () => this.#returnHeld("poolInvalidate")],
        [4, () => this.#returnHeld("detach")],
        [4, async () => {
          const t = this.#pick(held);
          this.history.push(`soft invalidate #${t.n}`);
          this.softTick.set(t.entry!.id!, ++this.tick);
          await t.proxy!.invalidate(undefined, { soft: true });
          assert.equal(t.proxy!.isValid, true);
          return () => {};
        }],
      );
    }
    if (gated.length > 0) {
      choices.push([12, () => this.#release(this.#pick(gated))]);
    }
    const abortable = this.ctls.filter((c) =>
      !c.controller.signal.aborted &&
      c.tickets.some((t) => t.state === "queued" || t.state === "granted")
    );
    if (abortable.length > 0) {
      choices.push([7, () => {
        const ctl = this.#pick(abortable);
        this.history.push(`abort c${ctl.n}`);
        ctl.controller.abort(ctl.reason);
        return () => this.#abortModel(ctl);
      }]);
    }
    if (this.detached.length > 0) {
      choices.push([4, async () => {
        const index = this.#int(this.detached.length);
        const { proxy, connection } = this.detached[index]!;
        this.history.push(`close detached (connection ${connection.id})`);
        this.detached.splice(index, 1);
        await proxy.close();
        assert.equal(closes(connection), 1, "detached: closed once");
        return () => {};
      }]);
    }
    if (this.closedProxies.length > 0) {
      choices.push([1, async () => {
        this.history.push("close a closed proxy again");
        await this.#pick(this.closedProxies).close();
        return () => {};
      }]);
    }
    choices.push(
      [5, () => {
        const error = new Error(`creator failure (step ${this.step})`);
        this.history.push("failNext");
        this.driver.failNext.push(error);
        return () => {};
      }],
      [2, async () => {
        this.history.push("pool.invalidate()");
        this.invalidTick = ++this.tick;
        await this.pool.invalidate();
        return () => {};
      }],
      [2, async () => {
        this.history.push("dispose()");
        await this.pool.dispose();
        return () => this.#disposeModel();
      }],
    );
    if (this.p.recycleMs !== null) {
      const recycleMs = this.p.recycleMs;
      choices.push([4, () => {
        // Whole milliseconds; half the time right onto the recycle boundary
        // of the idle entry the next checkout takes (an age of exactly
        // recycleMs is kept, one more is recycled).
        let ms = this.#int(1_500);
        const next = this.model.nextIdle();
        if (next !== undefined && this.rng() < 0.5) {
          const age = this.clock.now - this.startClock.get(next.id!)!;
          ms = Math.max(0, recycleMs + this.#pick([0, 0, 1]) - age);
        }
        this.history.push(`clock +${ms}`);
        this.clock.advance(ms);
        if (ms > 0) this.ticksAtClockMove = this.tick;
        return () => {};
      }]);
    }
    const total = choices.reduce((sum, [weight]) => sum + weight, 0);
    let roll = this.rng() * total;
    for (const [weight, op] of choices) {
      roll -= weight;
      if (roll < 0) return await op();
    }
    return await choices[0]![1]();
  }

  async #runStep(operate: () => Promise<() => void>): Promise<void> {
    this.step++;
    const apply = await operate();
    await settle();
    apply();
    this.#drain();
    this.#check();
  }

  // --------------------------------------------------------------- checks

  #check(): void {
    const { p, pool, model } = this;
    for (const call of this.calls) {
      if (!call.consumed) {
        throw new Error(
          `unexpected creator call ${call.seq} for entry ${call.entryId}`,
        );
      }
    }
    // The model itself.
    const holders = this.tickets.filter((t) =>
      t.state === "granted" || t.state === "held"
    );
    assert.equal(
      model.live,
      model.idle.length + holders.length,
      "model: every live entry is idle or held",
    );
    if (model.waiters.length > 0) {
      assert.equal(model.idle.length, 0, "model: waiters imply no idle entry");
      assert.ok(!model.hasCapacity(), "model: waiters imply no capacity");
    }
    // Counters against the model.
    assert.equal(pool.checkedIn(), model.checkedIn(), "checkedIn()");
    assert.equal(pool.checkedOut(), model.checkedOut(), "checkedOut()");
    assert.ok(pool.checkedOut() >= 0, "checkedOut() is never negative");
    assert.equal(pool.overflow(), model.overflow(), "overflow()");
    assert.equal(pool.waiting(), model.waiters.length, "waiting()");
    assert.equal(pool.size(), p.poolSize);
    if (model.bounded) {
      assert.ok(model.live <= p.poolSize + p.maxOverflow, "capacity bound");
    }
    // Every connect() settled as the model says.
    for (const t of this.tickets) {
      if (!t.verified) this.#verify(t);
    }
    // The driver agrees: owned open connections belong to live entries, one each.
    const liveIds = new Set<number>();
    for (const entry of model.idle) liveIds.add(entry.id!);
    for (const t of holders) liveIds.add(t.entry!.id!);
    const detached = new Set(this.detached.map((d) => d.connection));
    const perEntry = new Set<number>();
    let owned = 0;
    for (const c of this.driver.connections) {
      const n = closes(c);
      assert.ok(n <= 1, `connection ${c.id} closed ${n} times`);
      assert.equal(c.open, n === 0, `connection ${c.id} open flag`);
      if (!c.open || detached.has(c)) continue;
      owned++;
      const id = this.connectionEntry.get(c)!;
      assert.ok(
        liveIds.has(id),
        `open connection ${c.id} belongs to entry ${id}, which the pool does not own`,
      );
      assert.ok(!perEntry.has(id), `entry ${id} has two open connections`);
      perEntry.add(id);
    }
    assert.ok(
      owned <= model.live,
      `${owned} owned connections > ${model.live}`,
    );
    if (model.bounded) {
      assert.ok(owned <= p.poolSize + p.maxOverflow, "owned connections bound");
    }
    // Logging: only the background failures of aborted checkouts.
    const errors = this.log.lines.filter((l) => l.level === "error");
    for (const line of errors) {
      assert.match(line.line, /^Exception during a checkout that was aborted/);
    }
    assert.equal(errors.length, this.expectedErrors, "error lines");
    assert.deepEqual(
      this.log.lines.filter((l) => l.level === "warn").map((l) => l.line),
      [],
    );
  }

  #verify(t: Ticket): void {
    const expect = t.expect;
    const label = `connect #${t.n}`;
    switch (expect.kind) {
      case "pending":
        assert.equal(t.outcome, null, `${label} should still be pending`);
        return;
      case "resolved": {
        const outcome = t.outcome;
        assert.ok(outcome?.ok === true, `${label} should have resolved`);
        const proxy = outcome.proxy;
        t.proxy ??= proxy;
        assert.equal(t.proxy, proxy);
        if (t.state !== "held") return;
        const connection = proxy.dbapiConnection;
        assert.ok(connection instanceof FakeConnection, `${label} connection`);
        assert.ok(proxy.isValid && !proxy.isDetached, `${label} is valid`);
        assert.ok(
          connection.open,
          `${label}: connection ${connection.id} open`,
        );
        assert.equal(
          proxy.recordInfo?.get(ENTRY_ID),
          t.entry!.id,
          `${label} got the entry the model expects`,
        );
        assert.equal(this.connectionEntry.get(connection), t.entry!.id);
        return;
      }
      case "rejected":
        assert.ok(t.outcome?.ok === false, `${label} should have rejected`);
        assert.equal(t.outcome.error, expect.reason, `${label} rejection`);
        if (t.state === "done") t.verified = true;
        return;
      case "timeout": {
        assert.ok(t.outcome?.ok === false, `${label} should have timed out`);
        const error = t.outcome.error;
        assert.ok(error instanceof PoolTimeoutError, `${label}: ${error}`);
        assert.equal(
          error.message,
          `QueuePool limit of size ${expect.size} overflow ${expect.overflow} reached, connection timed out, timeout 0 ms`,
        );
        assert.equal(error.size, expect.size);
        assert.equal(error.overflow, expect.overflow);
        assert.equal(error.checkedOut, expect.checkedOut);
        assert.equal(error.timeoutMs, 0);
        t.verified = true;
        return;
      }
    }
  }

  // ------------------------------------------------------------------ run

  async run(pool: QueuePool<FakeConnection>): Promise<void> {
    this.pool = pool;
    try {
      for (let i = 0; i < STEPS; i++) {
        await this.#runStep(() => this.#operate());
      }
      await this.#finish();
    } catch (error) {
      throw new Error(
        `seed ${this.seed} (${describe(this.p)}), step ${this.step}: ${
          error instanceof Error ? error.message : String(error)
        }\nlast operations:\n  ${this.history.slice(-25).join("\n  ")}`,
        { cause: error },
      );
    }
  }

  /** Returns everything, then disposes: every connection is closed exactly once. */
  async #finish(): Promise<void> {
    this.gateP = 0;
    for (;;) {
      const gated = this.#gatedCalls();
      const held = this.#held();
      if (gated.length > 0) {
        await this.#runStep(() => Promise.resolve(this.#release(gated[0]!)));
      } else if (held.length > 0) {
        await this.#runStep(() => this.#returnHeld("close"));
      } else if (this.detached.length > 0) {
        await this.#runStep(async () => {
          const { proxy, connection } = this.detached.shift()!;
          this.history.push(`close detached (connection ${connection.id})`);
          await proxy.close();
          return () => {};
        });
      } else break;
    }
    this.history.push("finish");
    assert.equal(this.model.waiters.length, 0, "no connect() left waiting");
    for (const t of this.tickets) {
      assert.ok(t.outcome !== null, `connect #${t.n} settled`);
      assert.equal(t.state, "done");
    }
    assert.equal(this.pool.checkedOut(), 0);
    // Before dispose(): every connection is closed exactly once or idle in the pool.
    const idleIds = new Set(this.model.idle.map((e) => e.id!));
    for (const c of this.driver.connections) {
      if (c.open) {
        assert.ok(
          idleIds.has(this.connectionEntry.get(c)!),
          `open connection ${c.id} is not idle in the pool`,
        );
      } else {
        assert.equal(closes(c), 1, `connection ${c.id} closed once`);
      }
    }
    await this.#runStep(async () => {
      this.history.push("final dispose()");
      await this.pool.dispose();
      return () => this.#disposeModel();
    });
    for (const c of this.driver.connections) {
      assert.equal(closes(c), 1, `connection ${c.id} closed exactly once`);
    }
    assert.equal(this.pool.checkedIn(), 0);
    assert.equal(this.pool.checkedOut(), 0);
    assert.equal(
      this.pool.overflow(),
      this.p.poolSize === 0 ? 0 : -this.p.poolSize,
    );
    this.driver.failNext.length = 0;
  }

  /** What the run exercised, to make sure the seeds cover the interesting paths. */
  get stats(): Record<string, number> {
    const count = (re: RegExp) => this.history.filter((h) => re.test(h)).length;
    return {
      connections: this.driver.connections.length,
      creatorCalls: this.calls.length,
      gated: this.calls.filter((c) => c.gated).length,
      failed: this.calls.filter((c) => c.outcome === "fail").length,
      waited: this.waited,
      handedOff: this.handedOff,
      timeouts: this.tickets.filter((t) => t.expect.kind === "timeout").length,
      abortedInBackground: this.tickets.filter((t) => t.aborted).length,
      aborts: count(/^abort c/),
      disposes: count(/dispose\(\)$/),
    };
  }
}

const totals: Record<string, number> = {};

for (let seed = 1; seed <= SEEDS; seed++) {
  Deno.test(
    `QueuePool model: seed ${seed} (${
      describe(paramsFor(seed))
    }), ${STEPS} random steps`,
    async () => {
      const run = new ModelRun(seed);
      await using pool = withoutJitter(
        new QueuePool(run.creator, {
          poolSize: run.p.poolSize,
          maxOverflow: run.p.maxOverflow,
          timeoutMs: run.p.timeoutMs,
          useLifo: run.p.useLifo,
          recycleMs: run.p.recycleMs,
          clock: run.clock.fn,
          dialect: run.driver.dialect,
          logger: run.log.logger,
        }),
      );
      await run.run(pool);
      for (const [key, value] of Object.entries(run.stats)) {
        totals[key] = (totals[key] ?? 0) + value;
      }
    },
  );
}

Deno.test("QueuePool model: the seeds exercise waiting, aborts, gated creators, failures and dispose", () => {
  for (
    const key of [
      "waited",
      "handedOff",
      "gated",
      "failed",
      "timeouts",
      "abortedInBackground",
      "aborts",
      "disposes",
    ]
  ) {
    assert.ok((totals[key] ?? 0) > 0, `no ${key} in ${JSON.stringify(totals)}`);
  }
});
