import { LRUCache } from "lru-cache";
import type { RequestContext } from "../../core/context.js";
import type { Reply } from "../../core/reply.js";
import type { ModelFailure } from "./errors.js";
import { SlidingWindow } from "./sliding-window.js";

/**
 * Caps the share of traffic that may fall back to a model more expensive
 * than the one the request asked for.
 */
export interface CostGuardOptions {
  /**
   * The largest share of requests, over the window, that may make a call to
   * a more expensive model. In [0, 1]: `0.2` lets at most one request in
   * five escalate; `0` never lets one escalate (except `critical` ones);
   * `1` never engages. Every request that reaches `fallback` counts in the
   * denominator, whether it failed over or not.
   */
  maxShare: number;
  /** The sliding window, in milliseconds, kept as 10 buckets. Positive. Default 900,000 (15 minutes). */
  windowMs?: number;
  /**
   * Also cap each tenant's own share (`metadata.tenant`), so one tenant's
   * failures cannot use up everyone's allowance. Requests without a tenant
   * count only overall. Default `false`. At most 10,000 tenants are tracked
   * at once; the least recently seen is forgotten first.
   */
  perTenant?: boolean;
  /**
   * Requests that may always escalate, whatever the share (they still count
   * against it). Default: none.
   */
  critical?: (ctx: RequestContext) => boolean;
  /**
   * What a non-critical request gets once the share is used up, instead of
   * the expensive call:
   * - `"cheapest"` (default): the remaining models of the chain that cost
   *   no more than the requested one, cheapest first, skipping open
   *   circuits; a `CostGuardError` when none answers.
   * - `"error"`: a `CostGuardError` at once.
   * - a function: its reply is the answer (a stale cache entry, a canned
   *   message); build it with `completedReply(completion, ctx.request.stream === true)`.
   */
  degrade?: "cheapest" | "error" | Degrade;
}

/** A host's degraded answer: called instead of the expensive call. */
export type Degrade = (ctx: RequestContext, refusal: GuardRefusal) => Reply | Promise<Reply>;

/** Why the guard refused an expensive call. */
export interface GuardRefusal {
  /** The model ref the request would have fallen back to. */
  model: string;
  /** Which allowance is used up: everyone's, or the request's tenant's. */
  scope: "overall" | "tenant";
  /** The share of requests that escalated in that scope, over the window, before this one. */
  share: number;
  maxShare: number;
  /** What failed before the guard engaged. */
  failures: readonly ModelFailure[];
}

const REQUESTS = 0;
const ESCALATIONS = 1;
const MAX_TENANTS = 10_000;

/**
 * The guard's counters: requests and escalations over a sliding window,
 * overall and per tenant. An escalation is allowed while escalations stay
 * below `maxShare` of the requests in the window (this one included), so
 * over `n` requests at most `ceil(maxShare * n)` escalate.
 */
export class CostGuard {
  readonly #overall: SlidingWindow;
  readonly #tenants: LRUCache<string, SlidingWindow> | undefined;
  /**
   * Requests seen, by identity (`ctx.attempts`, shared by every layer of one
   * request), so that one passing through `fallback` more than once (each
   * step of a cascade) counts once: `true` once it was let escalate.
   * Forgotten with the request, never evicted while it runs.
   */
  readonly #seen = new WeakMap<object, boolean>();

  constructor(
    private readonly maxShare: number,
    private readonly windowMs: number,
    perTenant: boolean,
  ) {
    this.#overall = new SlidingWindow(windowMs, 2);
    this.#tenants = perTenant ? new LRUCache({ max: MAX_TENANTS }) : undefined;
  }

  /** Counts a request in the denominator, once per request (`request`: its identity). */
  countRequest(tenant: string | undefined, now: number, request: object): void {
    if (this.#seen.has(request)) return;
    this.#seen.set(request, false);
    this.#overall.add(now, REQUESTS);
    this.#tenant(tenant)?.add(now, REQUESTS);
  }

  /**
   * Asks to escalate: counts it and returns `undefined` when allowed (or
   * `critical`), otherwise which allowance is used up. A request already let
   * escalate is let again without counting twice: the cap is on requests.
   */
  admit(
    tenant: string | undefined,
    now: number,
    critical: boolean,
    request: object,
  ): Pick<GuardRefusal, "scope" | "share" | "maxShare"> | undefined {
    if (this.#seen.get(request) === true) return undefined;
    const windows: ["overall" | "tenant", SlidingWindow][] = [["overall", this.#overall]];
    const own = this.#tenant(tenant);
    if (own) windows.push(["tenant", own]);
    if (!critical) {
      for (const [scope, window] of windows) {
        const [counted = 0, escalations = 0] = window.totals(now);
        // This request is one of them, even when its count has left a short window.
        const requests = Math.max(counted, escalations + 1);
        // Rounded to 9 places: 0.28 x 25 is 7.000000000000001 in floating point, which let an 8th through.
        if (!(escalations < Math.round(this.maxShare * requests * 1e9) / 1e9)) {
          return { scope, share: requests === 0 ? 0 : escalations / requests, maxShare: this.maxShare };
        }
      }
    }
    for (const [, window] of windows) window.add(now, ESCALATIONS);
    this.#seen.set(request, true);
    return undefined;
  }

  #tenant(tenant: string | undefined): SlidingWindow | undefined {
    if (!this.#tenants || tenant === undefined) return undefined;
    let window = this.#tenants.get(tenant);
    if (!window) {
      window = new SlidingWindow(this.windowMs, 2);
      this.#tenants.set(tenant, window);
    }
    return window;
  }
}
