import type { RequestContext } from "../../core/context.js";
import type { ChatRequest } from "../../core/request.js";
import type { TokenEstimate, TokenEstimator } from "../../tokens/index.js";
import type { ModelCapabilities } from "./catalog.js";
import type { TierRejection } from "./errors.js";
import { hasImages, usesTools, wantsJson } from "./input.js";
import type { Tier } from "./policy.js";

/** A tier with what its model can take, resolved once when the router is built. */
export interface CheckedTier extends Tier {
  /** The model as the token estimator names it. */
  readonly ref: { readonly provider: string; readonly model: string };
  readonly capabilities: ModelCapabilities;
  /** Position in the router's tiers: lower is cheaper. */
  readonly rank: number;
}

/**
 * Estimates are estimates: a tier is kept only when the input estimate plus
 * this share still fits, so an estimate a little under the provider's count
 * does not send a request its model will refuse.
 */
export const WINDOW_MARGIN = 0.05;

/** Token figures of one request, per tier, each computed at most once. */
export class RequestTokens {
  // By tier rank; allocated on first use (most requests need one bound per tier and no estimate).
  #bounds: number[] | undefined;
  #estimates: Promise<TokenEstimate>[] | undefined;

  constructor(
    readonly request: ChatRequest,
    readonly tokens: TokenEstimator,
  ) {}

  /** The byte bound: never below the real count, and no tokenizer runs. */
  bound(tier: CheckedTier): number {
    this.#bounds ??= [];
    let bound = this.#bounds[tier.rank];
    if (bound === undefined) {
      bound = this.tokens.upperBound(this.request, tier.ref).upperBound;
      this.#bounds[tier.rank] = bound;
    }
    return bound;
  }

  /** The tokenizer's estimate (calibrated for models whose tokenizer is not public). */
  async estimate(tier: CheckedTier): Promise<number> {
    return (await this.#estimate(tier)).inputTokens;
  }

  /** The estimate with images of unknown size at their largest: what the context window is checked with. */
  async windowEstimate(tier: CheckedTier): Promise<number> {
    const e = await this.#estimate(tier);
    return e.inputTokens + e.breakdown.imagesUpper - e.breakdown.images;
  }

  #estimate(tier: CheckedTier): Promise<TokenEstimate> {
    this.#estimates ??= [];
    let estimate = this.#estimates[tier.rank];
    if (!estimate) {
      estimate = this.tokens.estimateRequest(this.request, tier.ref);
      this.#estimates[tier.rank] = estimate;
    }
    return estimate;
  }
}

export interface TierCheck {
  /** The tiers that can take the request, cheapest first. */
  allowed: CheckedTier[];
  rejected: TierRejection[];
}

/**
 * The hard constraints, checked before any policy: the output limit, JSON,
 * tools and vision support, and the context window (input + reserved
 * output, input at most `maxInputTokens`). The window is first checked
 * against the byte bound, with no tokenizer run, and the result is then
 * synchronous; only a tier that bound does not clear gets a real estimate.
 */
export function checkTiers(
  tiers: readonly CheckedTier[],
  tokens: RequestTokens,
  outputReserve: number,
): TierCheck | Promise<TierCheck> {
  const request = tokens.request;
  const allowed: CheckedTier[] = [];
  const rejected: TierRejection[] = [];
  let unsure: { tier: CheckedTier; output: number; limit: number }[] | undefined;
  let tools: boolean | undefined;
  let images: boolean | undefined;
  const json = wantsJson(request);
  for (const tier of tiers) {
    const c = tier.capabilities;
    if (request.maxOutputTokens !== undefined && request.maxOutputTokens > c.maxOutputTokens) {
      rejected.push(
        rejection(
          tier,
          `max-output: asks for ${request.maxOutputTokens} output tokens, the model gives at most ${c.maxOutputTokens}`,
        ),
      );
      continue;
    }
    if (json && !c.json) {
      rejected.push(rejection(tier, "json: the model has no structured output"));
      continue;
    }
    tools ??= usesTools(request);
    if (tools && !c.tools) {
      rejected.push(rejection(tier, "tools: the model has no tool calling"));
      continue;
    }
    images ??= hasImages(request);
    if (images && !c.vision) {
      rejected.push(rejection(tier, "vision: the model takes no images"));
      continue;
    }
    const output = request.maxOutputTokens ?? Math.min(outputReserve, c.maxOutputTokens);
    const limit = Math.min(c.contextWindow - output, c.maxInputTokens ?? Number.POSITIVE_INFINITY);
    if (tokens.bound(tier) <= limit) allowed.push(tier);
    else {
      unsure ??= [];
      unsure.push({ tier, output, limit });
    }
  }
  if (unsure === undefined) return { allowed, rejected };
  return settleUnsure(tiers, tokens, allowed, rejected, unsure);
}

function rejection(tier: CheckedTier, reason: string): TierRejection {
  return { tier: tier.name, model: tier.model, reason };
}

/** The tiers the byte bound left unsure, judged on the tokenizer's estimate. */
async function settleUnsure(
  tiers: readonly CheckedTier[],
  tokens: RequestTokens,
  allowed: CheckedTier[],
  rejected: TierRejection[],
  unsure: readonly { tier: CheckedTier; output: number; limit: number }[],
): Promise<TierCheck> {
  for (const { tier, output, limit } of unsure) {
    const input = await tokens.windowEstimate(tier);
    if (Math.ceil(input * (1 + WINDOW_MARGIN)) <= limit) {
      allowed.push(tier);
      continue;
    }
    const c = tier.capabilities;
    const margin = `(+${WINDOW_MARGIN * 100}% margin)`;
    rejected.push({
      tier: tier.name,
      model: tier.model,
      reason:
        c.maxInputTokens !== undefined && c.maxInputTokens < c.contextWindow - output
          ? `context-window: ~${input} input tokens ${margin}, the model takes at most ${c.maxInputTokens} input tokens`
          : `context-window: ~${input} input tokens ${margin} + ${output} output tokens, the model's window is ${c.contextWindow}`,
    });
  }
  const rank = new Map(tiers.map((t, i) => [t.name, i]));
  allowed.sort((a, b) => a.rank - b.rank);
  rejected.sort((a, b) => rank.get(a.tier)! - rank.get(b.tier)!);
  return { allowed, rejected };
}

/**
 * The default budget hook: once `ctx.state.budget.overSoftLimit` is true,
 * keep only the tiers cheaper than the default one (when none is cheaper,
 * the cheapest allowed); otherwise leave the tiers alone.
 */
export function defaultRouteDown(
  ctx: RequestContext,
  allowed: readonly CheckedTier[],
  fallback: CheckedTier,
): readonly CheckedTier[] {
  if (!ctx.state.budget?.overSoftLimit) return allowed;
  const cheaper = allowed.filter((t) => t.rank < fallback.rank);
  return cheaper.length ? cheaper : allowed.slice(0, 1);
}

/** The allowed tier nearest to `wanted` in cost order; on a tie, the costlier (quality first). */
export function nearestAllowed(wanted: CheckedTier, allowed: readonly CheckedTier[]): CheckedTier {
  let best = allowed[0]!;
  for (const t of allowed) {
    const d = Math.abs(t.rank - wanted.rank);
    const bd = Math.abs(best.rank - wanted.rank);
    if (d < bd || (d === bd && t.rank > best.rank)) best = t;
  }
  return best;
}
