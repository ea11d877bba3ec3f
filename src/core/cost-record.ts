import type { AttemptPurpose, Cost, Usage } from "./completion.js";

/**
 * Which model answered and why, as a router records it in
 * `ctx.state.route`. Declared here because the cost record carries it.
 */
export interface RouteDecision {
  /** The model ref chosen (`openai:gpt-4o-mini`). */
  model: string;
  /** The host's name for the tier ("cheap", "strong"). */
  tier?: string;
  /** Why: the rule or policy that decided. */
  reason?: string;
  /** Policy scores, for whoever tunes the router. */
  scores?: Record<string, number>;
  /**
   * Where the request would have gone with no routing: the costliest model
   * of the route that can take it. The cost tracker prices its baseline
   * there when the caller named no model (`auto`, a host route).
   */
  baseline?: string;
}

/**
 * How a cache took part in a request, as a cache records it in
 * `ctx.state.cache`. Declared here because the cost record carries it.
 */
export interface CacheOutcome {
  /** `hit`: the answer came from the cache, with no provider call. */
  status: "hit" | "miss" | "bypass";
  /** Which cache: `exact`, `semantic`, `dedupe` (a coalesced in-flight call). */
  kind: "exact" | "semantic" | "dedupe";
  /** For a semantic hit: the similarity of the prompt that was served. */
  similarity?: number;
  /** The usage, model and cost of the call whose answer was served: what the hit saved. */
  saved?: { provider: string; model: string; usage: Usage; cost: Cost };
}

/**
 * A tenant's spending position, as the budget middleware records it in
 * `ctx.state.budget` before the call: a router reads it to route a tenant
 * near its limit to a cheaper tier. Declared here so either may land first.
 */
export interface BudgetStatus {
  /** The limit that is closest to being reached (e.g. "tenant:acme:day"). */
  scope: string;
  limitUsd: number;
  /** Settled plus reserved spend in the current window. */
  spentUsd: number;
  /** True once the soft limit is crossed: route down instead of refusing. */
  overSoftLimit: boolean;
}

/** One provider call, as recorded in the ledger. */
export interface AttemptRecord {
  purpose: AttemptPurpose;
  label?: string;
  provider: string;
  model: string;
  status: "ok" | "error" | "pending";
  startedAt: string;
  latencyMs: number | null;
  usage: Usage | null;
  cost: Cost | null;
  error?: { name: string; message: string; status?: number };
}

/**
 * One record per request: what it cost, what it would have cost, who asked
 * and why. Every figure traces to a usage and a price source. Prompts are
 * present only when the host opts in.
 */
export interface CostRecord {
  /** The request id (also `completion.meta.requestId`). */
  id: string;
  /** ISO-8601 time the request started. */
  time: string;
  tenant: string | null;
  user: string | null;
  task: string | null;
  tags: string[];
  status: "ok" | "error";
  /** The model the caller asked for (a ref, an alias, or `auto`). */
  requestedModel: string;
  /** The provider and model that produced the answer (for a cache hit: the cached one). */
  provider: string | null;
  model: string | null;
  route: RouteDecision | null;
  /** How a cache took part; for a hit, what the served answer cost when it was made (what the hit saved). */
  cache: {
    status: CacheOutcome["status"];
    kind: CacheOutcome["kind"];
    similarity?: number;
    saved?: { usage: Usage; cost: Cost };
  } | null;
  /** Tokens billed across every attempt of the request, by bucket. */
  usage: Usage;
  /** What the request cost: every attempt, side calls included. */
  cost: Cost;
  /**
   * The part of `cost` spent on attempts that did not produce the answer
   * (failures, retries, rejected escalations); null when one of them is unpriced.
   */
  retryCostUsd: number | null;
  /** What the request would have cost without frugal-llm: the served answer at the baseline model, no cache. */
  baseline: { model: string; cost: Cost } | null;
  /** `baseline - cost` in USD, when both are priced. */
  savingsUsd: number | null;
  latencyMs: number;
  /** Time to the first stream event, for streamed calls. */
  timeToFirstTokenMs: number | null;
  streamed: boolean;
  attempts: AttemptRecord[];
  error: { name: string; message: string; status?: number } | null;
  /** The request's messages, only when the host opts in (`storePrompts: true`). */
  prompt?: unknown;
}
