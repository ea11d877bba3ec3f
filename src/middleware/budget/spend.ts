import { randomUUID } from "node:crypto";
import type { RequestContext } from "../../core/context.js";
import type { ReserveResult, SpendCounters, SpendWindow } from "../../storage/memory/counters.js";
import { BudgetUnavailableError } from "./errors.js";
import type { ResolvedWindow } from "./windows.js";

/** One spend limit as it applies to a request: its scope, its window now, its limits in micro-dollars. */
export interface AppliedLimit {
  /** `tenant:acme`, `user:acme/u1`, `key:k-42`. */
  scope: string;
  window: ResolvedWindow;
  limitMicros: number;
  softMicros: number | undefined;
}

/** The limits of one scope: one counter operation checks them together. */
export interface ScopeGroup {
  scope: string;
  limits: AppliedLimit[];
  /** One per window id: two limits on the same window share its counter (the lower limit reserved against). */
  windows: SpendWindow[];
  /** For each of `limits`, the index of its window in `windows`. */
  windowOf: number[];
}

/** A reservation made (or, fail-open, attempted) across every scope of a request. */
export interface Reservation {
  holdId: string;
  amountMicros: number;
  groups: ScopeGroup[];
  /** Per group, what the counters answered; undefined where the store failed (fail-open). */
  results: (ReserveResult | undefined)[];
  /** Per group, whether the reserve was sent: one that failed after it was sent (a timeout) may have landed. */
  sent: boolean[];
}

export type ReserveOutcome =
  | { ok: true; reservation: Reservation }
  | {
      ok: false;
      refused: { limit: AppliedLimit; settledMicros: number; heldMicros: number };
      /** The least room left in any window (limit - settled - held), for a smaller request. */
      remainingMicros: number;
    };

export interface SpendGuardOptions {
  policy: "fail-closed" | "fail-open";
  timeoutMs: number;
  retryMs: number;
  holdTtlMs: number;
}

/** A settle that failed is tried again after these delays (it is idempotent), then reported as lost. */
const SETTLE_RETRY_MS = [250, 1_000, 4_000, 15_000];
const MAX_PENDING_SETTLES = 10_000;
const WARN_EVERY_MS = 10_000;

/** The store was not tried: it failed less than `storeRetryMs` ago. */
class StoreResting extends Error {}

/**
 * The counters as the budget uses them: reserve across scopes (released
 * again if one refuses), settle with retries, and the host's outage policy.
 * Every failure is reported (event each time, log at most every 10 s per
 * operation); after one, calls skip the store for `retryMs`, then try again,
 * so the budget recovers by itself when the store comes back.
 */
/** Above any limit's micro-dollars (options `MAX_LIMIT_USD`), and an exact integer for every counter store. */
const MAX_HOLD_MICROS = 2 ** 52;

export class SpendGuard {
  #restUntil = 0;
  #failures = 0;
  #downSince = 0;
  #pending = 0;
  readonly #warnedAt = new Map<string, number>();

  constructor(
    readonly counters: SpendCounters,
    readonly options: SpendGuardOptions,
  ) {}

  static group(limits: readonly AppliedLimit[]): ScopeGroup[] {
    const groups = new Map<string, ScopeGroup>();
    for (const limit of limits) {
      let group = groups.get(limit.scope);
      if (!group) {
        group = { scope: limit.scope, limits: [], windows: [], windowOf: [] };
        groups.set(limit.scope, group);
      }
      group.limits.push(limit);
      const { id, ttlMs, rolling } = limit.window;
      // A window listed twice would have each spend added to its counter twice.
      const w = group.windows.findIndex((x) => x.id === id);
      if (w >= 0) {
        const shared = group.windows[w]!;
        group.windows[w] = { ...shared, limitMicros: Math.min(shared.limitMicros, limit.limitMicros) };
        group.windowOf.push(w);
      } else {
        group.windowOf.push(group.windows.length);
        group.windows.push({ id, ttlMs, limitMicros: limit.limitMicros, ...(rolling && { rolling }) });
      }
    }
    return [...groups.values()];
  }

  async reserve(ctx: RequestContext, groups: ScopeGroup[], amountMicros: number): Promise<ReserveOutcome> {
    const holdId = randomUUID();
    const now = ctx.clock.now();
    // A worst case past every limit (a huge maxOutputTokens) is refused by the counters like any other:
    // capped to stay an exact integer for them, not an error that would read as a store outage.
    const hold = {
      id: holdId,
      amountMicros: Math.min(amountMicros, MAX_HOLD_MICROS),
      ttlMs: this.options.holdTtlMs,
    };
    const answers = await Promise.all(
      groups.map((g) =>
        this.#call(ctx, "reserve", g.scope, () => this.counters.reserve(g.scope, g.windows, hold, now)).then(
          (result) => ({ result, error: undefined }),
          (error: unknown) => ({ result: undefined, error }),
        ),
      ),
    );
    const sent = answers.map((a) => !(a.error instanceof StoreResting));
    const reservation: Reservation = {
      holdId,
      amountMicros,
      groups,
      results: answers.map((a) => a.result),
      sent,
    };
    const failed = answers.findIndex((a) => a.error !== undefined);
    if (failed >= 0 && this.options.policy === "fail-closed") {
      // A reserve that failed may still have landed (a timeout after the write): release it once
      // the store has had its rest, in the background. Settles are idempotent, so this is safe.
      setTimeout(
        () => void this.#release(ctx, reservation, sent),
        Math.max(this.options.retryMs, 50),
      ).unref();
      throw new BudgetUnavailableError(groups[failed]!.scope, answers[failed]!.error);
    }
    const refusedAt = answers.findIndex((a) => a.result?.ok === false);
    if (refusedAt < 0) return { ok: true, reservation };

    await this.#release(
      ctx,
      reservation,
      answers.map((a) => a.result?.ok === true),
    );
    const r = answers[refusedAt]!.result!;
    let remainingMicros = Number.POSITIVE_INFINITY;
    answers.forEach(({ result }, g) => {
      if (!result) return;
      const group = groups[g]!;
      group.limits.forEach((l, i) => {
        remainingMicros = Math.min(
          remainingMicros,
          l.limitMicros - result.settledMicros[group.windowOf[i]!]! - result.heldMicros,
        );
      });
    });
    const refusing = groups[refusedAt]!;
    const window = refusing.windows[r.refusedBy]!;
    return {
      ok: false,
      refused: {
        // The limit the shared window was reserved against: the lowest on it.
        limit: refusing.limits.find(
          (l, i) => refusing.windowOf[i] === r.refusedBy && l.limitMicros === window.limitMicros,
        )!,
        settledMicros: r.settledMicros[r.refusedBy]!,
        heldMicros: r.heldMicros,
      },
      remainingMicros: Math.max(0, remainingMicros),
    };
  }

  /** Settles the actual spend in every scope; a failure is retried in the background. */
  async settle(ctx: RequestContext, reservation: Reservation, actualMicros: number): Promise<void> {
    const now = ctx.clock.now();
    await Promise.all(
      reservation.groups.map((g, i) =>
        // Nothing reserved (the store was resting, fail-open) and nothing spent: nothing to settle. A reserve
        // that was sent and failed may have landed (a timeout after the write): its settle releases it.
        actualMicros === 0 && !reservation.sent[i]
          ? undefined
          : this.#settle(ctx, g, reservation.holdId, actualMicros, now, 0),
      ),
    );
  }

  async #release(ctx: RequestContext, reservation: Reservation, which: boolean[]): Promise<void> {
    const now = ctx.clock.now();
    await Promise.all(
      reservation.groups.map((g, i) =>
        which[i] ? this.#settle(ctx, g, reservation.holdId, 0, now, 0) : undefined,
      ),
    );
  }

  async #settle(
    ctx: RequestContext,
    group: ScopeGroup,
    holdId: string,
    micros: number,
    now: number,
    attempt: number,
  ): Promise<void> {
    try {
      await this.#call(ctx, "settle", group.scope, () =>
        this.counters.settle(group.scope, group.windows, holdId, micros, now),
      );
    } catch {
      const delay = SETTLE_RETRY_MS[attempt];
      if (delay !== undefined && this.#pending < MAX_PENDING_SETTLES) {
        this.#pending++;
        setTimeout(() => {
          this.#pending--;
          void this.#settle(ctx, group, holdId, micros, now, attempt + 1);
        }, delay).unref();
        return;
      }
      ctx.services.log.error(
        `budget: a settle for ${group.scope} failed ${attempt + 1} times and was given up; ` +
          `${micros} micro-dollars of spend are missing from its counters (its hold expires by itself)`,
        { requestId: ctx.id, scope: group.scope, holdId },
      );
    }
  }

  /** One counter operation, bounded by the timeout, with failures reported and the store rested after one. */
  async #call<T>(
    ctx: RequestContext,
    operation: "reserve" | "settle",
    scope: string,
    run: () => Promise<T>,
  ): Promise<T> {
    const { policy, timeoutMs, retryMs } = this.options;
    let result: T;
    try {
      if (performance.now() < this.#restUntil) {
        throw new StoreResting(`the spend store failed less than ${retryMs} ms ago; not tried`);
      }
      result = await withTimeout(run(), timeoutMs);
    } catch (error) {
      // A settle that was not tried is simply retried later: nothing to report yet.
      if (error instanceof StoreResting && operation === "settle") throw error;
      if (!(error instanceof StoreResting)) {
        if (this.#failures++ === 0) this.#downSince = performance.now();
        this.#restUntil = performance.now() + retryMs;
      }
      const message = error instanceof Error ? error.message : String(error);
      ctx.services.events.emit("budget-store-error", {
        requestId: ctx.id,
        operation,
        policy,
        scope,
        message,
      });
      this.#warn(ctx, operation, message);
      throw error;
    }
    if (this.#failures > 0) {
      const payload = { failures: this.#failures, downMs: Math.round(performance.now() - this.#downSince) };
      this.#failures = 0;
      ctx.services.events.emit("budget-store-recovered", payload);
      ctx.services.log.info("budget: the spend store answers again", payload);
    }
    return result;
  }

  #warn(ctx: RequestContext, operation: "reserve" | "settle", message: string): void {
    const now = performance.now();
    if (now - (this.#warnedAt.get(operation) ?? Number.NEGATIVE_INFINITY) < WARN_EVERY_MS) return;
    this.#warnedAt.set(operation, now);
    const consequence =
      operation === "settle"
        ? "the settle is retried"
        : this.options.policy === "fail-closed"
          ? 'onStoreError is "fail-closed": calls are refused until it answers'
          : 'onStoreError is "fail-open": calls go on without a reservation';
    ctx.services.log.warn(`budget: the spend store failed to ${operation} (${message}); ${consequence}`, {
      requestId: ctx.id,
    });
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the spend store did not answer within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
