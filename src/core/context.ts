import type { TokenEstimator } from "../tokens/estimator.js";
import type { Attempt, AttemptPurpose } from "./completion.js";
import type { BudgetStatus, CacheOutcome, RouteDecision } from "./cost-record.js";
import type { EventBus } from "./events.js";
import type { Logger } from "./logger.js";
import type { Next } from "./middleware.js";
import type { PriceBook } from "./pricing.js";
import type { Provider } from "./provider.js";
import type { ChatRequest } from "./request.js";

/**
 * Typed per-request state shared by middleware. The fields below are the
 * shared vocabulary of the built-in middleware; extend it by declaration
 * merging, the way hono's `ContextVariableMap` works; declare every field
 * optional, since a request may not pass through the middleware that sets it:
 *
 * ```ts
 * declare module "frugal-llm" {
 *   interface ContextState { triage?: { level: "low" | "high"; reason: string } }
 * }
 * // then, in any middleware or host code: ctx.state.triage?.level
 * ```
 */
export interface ContextState {
  /** Which model a router chose and why; read by the cost tracker. */
  route?: RouteDecision;
  /** How a cache took part; read by the cost tracker. */
  cache?: CacheOutcome;
  /** The tenant's spending position, set by the budget middleware; read by a router. */
  budget?: BudgetStatus;
}

/** The signal of a call the caller cannot abort (it passed none). */
export const NEVER_ABORTED: AbortSignal = new AbortController().signal;

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** What a request can reach: providers, prices, events, the log. */
export interface Services {
  readonly providers: ReadonlyMap<string, Provider>;
  /** Resolves `provider:model`, an alias, or a bare well-known model name. */
  resolveModel(ref: string): ResolvedModel;
  readonly prices: PriceBook;
  readonly events: EventBus;
  readonly log: Logger;
  /**
   * Calls a provider directly, skipping the middleware: for side calls (a
   * classifier, a summary) and for the innermost layer. The call is recorded
   * on `ctx.attempts` with `ctx.purpose`.
   */
  readonly dispatch: Next;
  /** Retries per SDK call: 0 while a library middleware owns retries. */
  readonly sdkMaxRetries: number | undefined;
  /**
   * The client's token estimator, shared by the middleware that estimate
   * (budget, router, compaction) unless given their own, and calibrated
   * from the usage the providers report.
   */
  readonly tokens: TokenEstimator;
}

export interface ResolvedModel {
  provider: string;
  model: string;
}

/**
 * One per call. Treat it as immutable: to change the request for the layers
 * below, call `next({ ...ctx, request: changed })`, so that a second call of
 * `next` (retry, cascade, fallback) starts from a clean slate. `state` and
 * `attempts` are shared by every layer of one request.
 */
export interface RequestContext {
  /** This request's id; also the id of its cost record. */
  readonly id: string;
  readonly request: ChatRequest;
  /** How a provider call made with this context is recorded. */
  readonly purpose: AttemptPurpose;
  /** What a side call is for, recorded on its attempt. */
  readonly label?: string;
  readonly state: ContextState;
  /** Every provider call made for this request, in order. */
  readonly attempts: Attempt[];
  readonly signal: AbortSignal;
  readonly clock: Clock;
  readonly startedAt: number;
  readonly services: Services;
}
