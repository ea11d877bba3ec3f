import { LRUCache } from "lru-cache";
import { z } from "zod";
import { parseOptions } from "../../core/options.js";

// The spend-counter contract lives here, beside its embedded implementation, because the storage
// interfaces folder is not this module's to edit; `redisCounters` imports it from here.

/**
 * One spend window of a scope: a calendar day or month (the caller picks the
 * id from its own clock and time zone) or a rolling span. Amounts are whole
 * micro-dollars (1 USD = 1,000,000), so that sums are exact in every store.
 */
export interface SpendWindow {
  /** The counter's name within its scope: `day:2025-03-09`, `month:2025-03`, `rolling:6h`. */
  readonly id: string;
  /** A reservation is refused when settled spend + live holds + its amount would exceed this. */
  readonly limitMicros: number;
  /** How long the counter outlives its last write, in ms (the window's remaining length plus a grace). */
  readonly ttlMs: number;
  /**
   * A rolling window: spend counts for `spanMs` after it is settled, kept in
   * buckets of `bucketMs` (it is forgotten between `spanMs` and
   * `spanMs + bucketMs` later: never early). Absent: a calendar window.
   */
  readonly rolling?: { readonly spanMs: number; readonly bucketMs: number };
}

/** A reservation: `amountMicros` held against every window of a scope until settled or expired. */
export interface SpendHold {
  /** Unique per reservation; a settle with the same id is applied once. */
  readonly id: string;
  readonly amountMicros: number;
  /** The hold expires this long after it is made (a crashed caller never settles), in ms. */
  readonly ttlMs: number;
}

export interface ReserveResult {
  /** True when the hold was added (or was already there: a repeated reserve is not added twice). */
  readonly ok: boolean;
  /** Index of the first window that refused, or -1. */
  readonly refusedBy: number;
  /** Settled spend per window, in the order given. */
  readonly settledMicros: readonly number[];
  /** Live holds of the scope, this reservation's excluded. */
  readonly heldMicros: number;
}

export interface SpendStatus {
  readonly settledMicros: readonly number[];
  readonly heldMicros: number;
}

/**
 * Spend counters with an atomic reserve and an idempotent settle, shared by
 * every process that uses the same store: the budget middleware reserves a
 * request's worst-case cost before the call and settles its actual cost
 * after. A scope (`tenant:acme`) groups windows that one operation checks
 * and updates together; holds belong to the scope and count against each of
 * its windows. `nowMs` is the caller's clock (hold expiry, rolling buckets).
 */
export interface SpendCounters {
  readonly name: string;
  /**
   * Atomically: drops expired holds, then adds the hold unless, for some
   * window, settled + held + amount would exceed its limit. Throws if the
   * hold id was already settled.
   */
  reserve(
    scope: string,
    windows: readonly SpendWindow[],
    hold: SpendHold,
    nowMs: number,
  ): Promise<ReserveResult>;
  /**
   * Atomically: removes the hold (if still live) and adds `actualMicros` to
   * every window. Idempotent by hold id: resolves `false` for a repeat. A
   * settle whose hold expired still adds the actual spend.
   */
  settle(
    scope: string,
    windows: readonly SpendWindow[],
    holdId: string,
    actualMicros: number,
    nowMs: number,
  ): Promise<boolean>;
  /** Settled spend per window and live holds, for reports and routers. */
  status(scope: string, windows: readonly SpendWindow[], nowMs: number): Promise<SpendStatus>;
}

export interface MemoryCountersOptions {
  /**
   * Scopes held at most; beyond it the least recently used scope is
   * forgotten, and with it its spend (its limits restart from 0). Default
   * 100,000; a positive integer.
   */
  maxScopes?: number;
  /**
   * How long a settled hold id is remembered, so that a repeated settle is
   * ignored, in ms. Default 600,000 (10 minutes: settles are retried for about 20 s); a positive integer. At most
   * 100,000 ids per scope are kept (the oldest go first).
   */
  dedupeMs?: number;
}

const optionsSchema = z
  .object({
    maxScopes: z.number().int().positive().default(100_000),
    dedupeMs: z.number().int().positive().default(600_000),
  })
  .strict()
  .default({ maxScopes: 100_000, dedupeMs: 600_000 });

const MAX_SETTLED_IDS = 100_000;

interface WindowState {
  settled: number;
  /** Rolling windows: bucket index → micro-dollars. */
  buckets?: Map<number, number>;
  expiresAt: number;
}

interface ScopeState {
  holds: Map<string, { amount: number; expiresAt: number }>;
  held: number;
  /** The earliest hold expiry: sweeping is skipped until then. */
  nextExpiry: number;
  windows: Map<string, WindowState>;
  /** Settled hold ids by settle time, oldest first. */
  settledIds: Map<string, number>;
}

/** The in-process counters, with a look at their size. */
export interface MemoryCounters extends SpendCounters {
  stats(): { scopes: number };
}

/**
 * Spend counters in this process: the embedded default. Every operation is
 * one synchronous step, so reserve is atomic among the requests of one
 * process; use `redisCounters` to share limits between processes.
 *
 * @example
 * const spend = budget({ counters: memoryCounters(), limits: [{ scope: "tenant", window: "day", limitUsd: 5 }] });
 */
export function memoryCounters(options?: MemoryCountersOptions): MemoryCounters {
  const { maxScopes, dedupeMs } = parseOptions(optionsSchema, options, "memoryCounters");
  const scopes = new LRUCache<string, ScopeState>({ max: maxScopes });

  const scopeOf = (name: string): ScopeState => {
    let state = scopes.get(name);
    if (!state) {
      state = { holds: new Map(), held: 0, nextExpiry: Infinity, windows: new Map(), settledIds: new Map() };
      scopes.set(name, state);
    }
    return state;
  };

  return {
    name: "memory",
    async reserve(scope, windows, hold, nowMs) {
      const s = scopeOf(scope);
      sweep(s, nowMs);
      if (s.settledIds.has(hold.id)) throw new Error(`memoryCounters: hold ${hold.id} was already settled`);
      const settledMicros = windows.map((w) => spentIn(s, w, nowMs));
      const existing = s.holds.get(hold.id);
      if (existing) return { ok: true, refusedBy: -1, settledMicros, heldMicros: s.held - existing.amount };
      const refusedBy = windows.findIndex(
        (w, i) => settledMicros[i]! + s.held + hold.amountMicros > w.limitMicros,
      );
      const heldMicros = s.held;
      if (refusedBy === -1) {
        const expiresAt = nowMs + hold.ttlMs;
        s.holds.set(hold.id, { amount: hold.amountMicros, expiresAt });
        s.held += hold.amountMicros;
        s.nextExpiry = Math.min(s.nextExpiry, expiresAt);
      }
      return { ok: refusedBy === -1, refusedBy, settledMicros, heldMicros };
    },
    async settle(scope, windows, holdId, actualMicros, nowMs) {
      const s = scopeOf(scope);
      forgetSettled(s, nowMs - dedupeMs);
      if (s.settledIds.has(holdId)) return false;
      const hold = s.holds.get(holdId);
      if (hold) {
        s.holds.delete(holdId);
        s.held -= hold.amount;
      }
      if (actualMicros > 0) for (const w of windows) addSpend(s, w, actualMicros, nowMs);
      s.settledIds.set(holdId, nowMs);
      if (s.settledIds.size > MAX_SETTLED_IDS) s.settledIds.delete(s.settledIds.keys().next().value!);
      return true;
    },
    async status(scope, windows, nowMs) {
      const s = scopes.get(scope);
      if (!s) return { settledMicros: windows.map(() => 0), heldMicros: 0 };
      sweep(s, nowMs);
      return { settledMicros: windows.map((w) => spentIn(s, w, nowMs)), heldMicros: s.held };
    },
    stats: () => ({ scopes: scopes.size }),
  };
}

/** Drops expired holds and windows; cheap until the earliest hold expires. */
function sweep(s: ScopeState, now: number): void {
  if (now >= s.nextExpiry) {
    let next = Infinity;
    for (const [id, hold] of s.holds) {
      if (hold.expiresAt <= now) {
        s.holds.delete(id);
        s.held -= hold.amount;
      } else next = Math.min(next, hold.expiresAt);
    }
    s.nextExpiry = next;
  }
  for (const [id, w] of s.windows) if (w.expiresAt <= now) s.windows.delete(id);
}

function forgetSettled(s: ScopeState, before: number): void {
  for (const [id, at] of s.settledIds) {
    if (at > before) break;
    s.settledIds.delete(id);
  }
}

/** The first bucket a rolling window still counts: its end is after the span's start. */
function firstBucket(nowMs: number, rolling: { spanMs: number; bucketMs: number }): number {
  return Math.floor((nowMs - rolling.spanMs) / rolling.bucketMs);
}

function spentIn(s: ScopeState, w: SpendWindow, now: number): number {
  const state = s.windows.get(w.id);
  if (!state) return 0;
  if (!w.rolling || !state.buckets) return state.settled;
  const first = firstBucket(now, w.rolling);
  let sum = 0;
  for (const [bucket, micros] of state.buckets) {
    if (bucket >= first) sum += micros;
    else state.buckets.delete(bucket);
  }
  return sum;
}

function addSpend(s: ScopeState, w: SpendWindow, micros: number, now: number): void {
  let state = s.windows.get(w.id);
  if (!state) {
    state = { settled: 0, expiresAt: 0, ...(w.rolling && { buckets: new Map() }) };
    s.windows.set(w.id, state);
  }
  state.expiresAt = Math.max(state.expiresAt, now + w.ttlMs);
  if (w.rolling && state.buckets) {
    const bucket = Math.floor(now / w.rolling.bucketMs);
    state.buckets.set(bucket, (state.buckets.get(bucket) ?? 0) + micros);
  } else state.settled += micros;
}
