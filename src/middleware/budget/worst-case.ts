import type { Attempt, Usage } from "../../core/completion.js";
import { emptyUsage, totalInputTokens } from "../../core/completion.js";
import type { RequestContext, ResolvedModel } from "../../core/context.js";
import type { PriceBook } from "../../core/pricing.js";
import type { ChatRequest } from "../../core/request.js";
import type { TokenEstimator } from "../../tokens/estimator.js";
import { BudgetUnpricedError } from "./errors.js";

/** Host prices for models that have none (FAILURES.md A6), USD per million tokens. */
export interface CeilingPrice {
  input: number;
  output: number;
}

export type WorstCase = { usd: number } | { unpriced: string };

/**
 * The most a call may cost: `inputTokens` of input and `outputTokens` of
 * output at the model's worst rate for input (plain, or a 5-minute or 1-hour
 * cache write, since a later middleware may add breakpoints), long-context
 * tiers included. An unpriced model costs its ceiling, or is `unpriced`.
 */
export function worstCaseUsd(
  prices: PriceBook,
  ref: ResolvedModel,
  inputTokens: number,
  outputTokens: number,
  ceiling: CeilingPrice | undefined,
): WorstCase {
  const base = { ...emptyUsage(), outputTokens };
  let worst = 0;
  for (const usage of [
    { ...base, inputTokens },
    { ...base, cacheWrite5mTokens: inputTokens },
    { ...base, cacheWrite1hTokens: inputTokens },
  ]) {
    const cost = prices.cost(ref.provider, ref.model, usage);
    if (!cost.priced) return ceiling ? { usd: ceilingCost(usage, ceiling) } : { unpriced: cost.reason };
    worst = Math.max(worst, cost.usd);
  }
  return { usd: worst };
}

/**
 * What the attempts cost, for the settle: each priced attempt at its price,
 * an unpriced one at the ceiling (or, with none, at `unpricedUsd`: the
 * reservation, since a limit must not lose the spend), and a failure that
 * reported no usage at nothing.
 */
export function attemptsUsd(
  attempts: readonly Attempt[],
  ceiling: CeilingPrice | undefined,
  unpricedUsd: number,
): number {
  let sum = 0;
  for (const a of attempts) {
    if (a.cost?.priced) sum += a.cost.usd;
    else if (a.usage) sum += ceiling ? ceilingCost(a.usage, ceiling) : unpricedUsd;
    else if (a.status === "ok") sum += unpricedUsd;
  }
  return sum;
}

function ceilingCost(usage: Usage, ceiling: CeilingPrice): number {
  return (totalInputTokens(usage) * ceiling.input + usage.outputTokens * ceiling.output) / 1e6;
}

/** USD to whole micro-dollars, rounded up (never under-counted), float noise aside. */
export function toMicros(usd: number): number {
  return Math.max(0, Math.ceil(usd * 1e6 - 1e-6));
}

/** Tokens of the summarizer's instructions, and of each message's label in its transcript. */
const SUMMARY_PROMPT_TOKENS = 200;
const LABEL_TOKENS = 16;

/** What the budget needs to price a request's worst case, from its options. */
export interface PricerOptions {
  reserveInput: "upper-bound" | "estimate";
  ceiling: CeilingPrice | undefined;
  priceAutoAs: string | undefined;
  summarizer: { model: string; maxOutputTokens: number } | undefined;
}

/** Worst cases of requests in micro-dollars, as the budget reserves them. */
export class WorstCasePricer {
  /** @param tokens The budget's own estimator; undefined: the client's (`ctx.services.tokens`). */
  constructor(
    readonly options: PricerOptions,
    readonly tokens: TokenEstimator | undefined,
  ) {}

  /** The model that prices a request: the one asked for, or `priceAutoAs` for `auto`. */
  model(ctx: RequestContext, model: string): ResolvedModel {
    const auto = this.options.priceAutoAs;
    if (model === "auto" && auto === undefined) {
      throw new BudgetUnpricedError(
        "auto",
        "auto",
        "a router picks the model after the budget; set priceAutoAs",
      );
    }
    return ctx.services.resolveModel(model === "auto" ? auto! : model);
  }

  /** `inputTokens` in and `outputTokens` out at `ref`, in micro-dollars; unpriced without a ceiling throws. */
  micros(ctx: RequestContext, ref: ResolvedModel, inputTokens: number, outputTokens: number): number {
    const worst = worstCaseUsd(ctx.services.prices, ref, inputTokens, outputTokens, this.options.ceiling);
    if ("unpriced" in worst) throw new BudgetUnpricedError(ref.provider, ref.model, worst.unpriced);
    return toMicros(worst.usd);
  }

  /** The input tokens a reservation counts: the byte bound (default) or the estimate. */
  async inputTokens(ctx: RequestContext, request: ChatRequest, ref: ResolvedModel): Promise<number> {
    const tokens = this.tokens ?? ctx.services.tokens;
    return this.options.reserveInput === "estimate"
      ? (await tokens.estimateRequest(request, ref)).inputTokens
      : tokens.upperBound(request, ref).upperBound;
  }

  /** Output tokens: `maxOutputTokens`, or the reasoning budget if larger (both count as output). */
  static output(request: ChatRequest): number {
    return Math.max(request.maxOutputTokens!, request.reasoning?.budgetTokens ?? 0);
  }

  /**
   * The most a summary of the request's history may cost: its input bound, the summarizer's
   * instructions, a label per message in the transcript, and the summary itself.
   */
  summaryMicros(ctx: RequestContext, request: ChatRequest, inputTokens: number): number {
    const summarizer = this.options.summarizer!;
    const transcript = inputTokens + SUMMARY_PROMPT_TOKENS + LABEL_TOKENS * request.messages.length;
    return this.micros(
      ctx,
      ctx.services.resolveModel(summarizer.model),
      transcript,
      summarizer.maxOutputTokens,
    );
  }
}

/** The largest n in [0, max) for which `fits(n)` holds (it is monotone), or -1. */
export function largestOutput(max: number, fits: (n: number) => boolean): number {
  let lo = -1;
  let hi = max;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}
