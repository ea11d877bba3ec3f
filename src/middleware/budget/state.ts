import type { TaskPolicyOutcome } from "./task-policy.js";

/** One window's position for this request, as `ctx.state.spend.windows` lists it. */
export interface SpendWindowStatus {
  /** `tenant:acme:day`. */
  scope: string;
  limitUsd: number;
  softLimitUsd?: number;
  /** Settled and held in the window, this request's reservation included. */
  spentUsd: number;
  /** When a calendar window ends, ISO-8601. */
  endsAt?: string;
}

/** What the spend limits did for this request, as `ctx.state.spend` records it. */
export interface SpendOutcome {
  /** The worst case reserved, USD (0 when the store failed and the policy is fail-open). */
  reservedUsd: number;
  /** The actual cost settled, USD, once the call ended. */
  settledUsd?: number;
  windows: SpendWindowStatus[];
  /** The cheaper model the request went to (degraded mode), and why. */
  degraded?: { from: string; to: string; reason: "soft-limit" | "limit" };
  /** `maxOutputTokens` lowered so that the request fits what remains (the `shrinkOutput` option). */
  shrunkMaxOutputTokens?: { from: number; to: number };
  /** True when the store failed and the call went on unreserved (fail-open). */
  unreserved?: boolean;
}

declare module "../../core/context.js" {
  interface ContextState {
    /** What the budget's task policy did: the input estimate, truncation, summary, deferral, output clamp. */
    budgetPolicy?: TaskPolicyOutcome;
    /** The spend limits' reservation for this request, window by window. */
    spend?: SpendOutcome;
  }
}

declare module "../../core/events.js" {
  interface EventMap {
    /** A request was refused by a task's input budget or a spend limit (before any provider call). */
    "budget-exceeded": {
      requestId: string;
      kind: "input" | "output" | "spend";
      task: string | undefined;
      scope?: string;
      limit: number;
      estimate: number;
    };
    /** A request over its task's `inputMax` was truncated, summarized or deferred. */
    "budget-overflow": {
      requestId: string;
      task: string | undefined;
      action: "truncated" | "summarized" | "deferred";
      inputMax: number;
      inputTokens: number;
      inputTokensAfter?: number;
    };
    /** A window crossed its soft limit (once per window and scope, per process). */
    "budget-soft-limit": {
      requestId: string;
      scope: string;
      softLimitUsd: number;
      limitUsd: number;
      spentUsd: number;
    };
    /** A request was sent to the cheaper `degrade` model. */
    "budget-degraded": {
      requestId: string;
      scope: string;
      from: string;
      to: string;
      reason: "soft-limit" | "limit";
    };
    /** A request's `maxOutputTokens` was lowered to what remains (`shrinkOutput`). */
    "budget-output-shrunk": { requestId: string; scope: string; from: number; to: number };
    /** A call cost more than its reservation (retries below the budget, an estimate below the bill). */
    "budget-overrun": { requestId: string; reservedUsd: number; actualUsd: number };
    /** The spend store failed an operation; `policy` says what the call did about it. */
    "budget-store-error": {
      requestId: string;
      operation: "reserve" | "settle";
      policy: "fail-closed" | "fail-open";
      scope: string;
      message: string;
    };
    /** The spend store answers again after failures. */
    "budget-store-recovered": { failures: number; downMs: number };
  }
}
