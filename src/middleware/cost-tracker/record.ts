import type { Attempt, Completion, Cost, Usage } from "../../core/completion.js";
import type { RequestContext } from "../../core/context.js";
import type { AttemptRecord, CostRecord } from "../../core/cost-record.js";
import { redactSecrets } from "../../core/redact.js";
import { billedTotals, sumCosts } from "../../pricing/rates.js";

export interface RecordInput {
  ctx: RequestContext;
  completion?: Completion;
  error?: unknown;
  endedAt: number;
  firstEventAt?: number;
  streamed: boolean;
  /** The model ref the counterfactual is priced at, or undefined for none. */
  baselineRef?: string;
  storePrompts: boolean;
}

/**
 * Builds the one cost record of a request from its attempts: what was billed
 * (every attempt, side calls and failures included), what produced the
 * answer, and what the answer would have cost at the baseline model with no
 * cache.
 */
export function buildCostRecord(input: RecordInput): CostRecord {
  const { ctx, completion, error } = input;
  const meta = ctx.request.metadata;
  const attempts = ctx.attempts;
  const answering = completion ? answeringAttempt(attempts) : undefined;
  const billed = billedTotals(attempts);
  const retryCosts = attempts.flatMap((a) =>
    a !== answering && a.purpose !== "side-call" && a.cost ? [a.cost] : [],
  );
  const cost = billed.cost;
  const cache = ctx.state.cache;
  // A hit's own usage may be zeroed by the cache; what it saved is the usage of the answer it served.
  const answerUsage = cache?.status === "hit" && cache.saved ? cache.saved.usage : completion?.usage;
  const baseline =
    answerUsage && input.baselineRef ? priceBaseline(ctx, input.baselineRef, answerUsage) : null;
  return {
    id: ctx.id,
    time: new Date(ctx.startedAt).toISOString(),
    tenant: meta?.tenant ?? null,
    user: meta?.user ?? null,
    task: meta?.task ?? null,
    tags: meta?.tags ?? [],
    status: completion ? "ok" : "error",
    requestedModel: ctx.request.model,
    provider: completion?.provider ?? attempts.at(-1)?.provider ?? null,
    model: completion?.model ?? attempts.at(-1)?.model ?? null,
    route: ctx.state.route ?? null,
    cache: cache
      ? {
          status: cache.status,
          kind: cache.kind,
          ...(cache.similarity !== undefined && { similarity: cache.similarity }),
          ...(cache.saved && { saved: { usage: cache.saved.usage, cost: cache.saved.cost } }),
        }
      : null,
    usage: billed.usage,
    cost,
    retryCostUsd: sumCosts(retryCosts).usd,
    baseline,
    savingsUsd: baseline?.cost.priced && cost.priced ? round(baseline.cost.usd - cost.usd) : null,
    latencyMs: input.endedAt - ctx.startedAt,
    timeToFirstTokenMs: input.firstEventAt === undefined ? null : input.firstEventAt - ctx.startedAt,
    streamed: input.streamed,
    attempts: attempts.map(toAttemptRecord),
    error: error ? describeError(error) : null,
    ...(input.storePrompts && { prompt: { system: ctx.request.system, messages: ctx.request.messages } }),
  };
}

/** The attempt whose answer was served: the last successful call that was not a side call. */
function answeringAttempt(attempts: readonly Attempt[]): Attempt | undefined {
  return attempts.findLast((a) => a.status === "ok" && a.purpose !== "side-call");
}

function priceBaseline(ctx: RequestContext, ref: string, usage: Usage): { model: string; cost: Cost } | null {
  try {
    const { provider, model } = ctx.services.resolveModel(ref);
    return { model: `${provider}:${model}`, cost: ctx.services.prices.cost(provider, model, usage) };
  } catch {
    return null; // An unresolvable baseline (e.g. "auto" with no router) has no counterfactual.
  }
}

function toAttemptRecord(a: Attempt): AttemptRecord {
  return {
    purpose: a.purpose,
    ...(a.label !== undefined && { label: a.label }),
    provider: a.provider,
    model: a.model,
    status: a.status,
    startedAt: new Date(a.startedAt).toISOString(),
    latencyMs: a.endedAt === undefined ? null : a.endedAt - a.startedAt,
    usage: a.usage ?? null,
    cost: a.cost ?? null,
    ...(a.error && {
      error: {
        name: a.error.name,
        message: a.error.message,
        ...(a.error.status !== undefined && { status: a.error.status }),
      },
    }),
  };
}

function describeError(error: unknown): { name: string; message: string; status?: number } {
  const e = error as { name?: string; message?: string; status?: unknown };
  return {
    name: e?.name ?? "Error",
    message: redactSecrets(e?.message ?? String(error)),
    ...(typeof e?.status === "number" && { status: e.status }),
  };
}

function round(usd: number): number {
  return Math.round(usd * 1e12) / 1e12;
}
