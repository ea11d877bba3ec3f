import type { Attempt, Cost, CostBreakdown, Usage } from "../core/completion.js";
import { addUsage, emptyUsage } from "../core/completion.js";

/**
 * A model's prices in USD per million tokens, one per usage bucket. A bucket
 * without its own price falls back as the providers bill it: cache reads and
 * 5-minute writes at the input price, 1-hour writes at the 5-minute write
 * price (Anthropic publishes both; OpenAI never reports writes).
 */
export interface ModelRates {
  input: number;
  /** Absent for models that bill no output (embeddings): output tokens then make a cost unpriced. */
  output?: number;
  cacheRead?: number;
  cacheWrite5m?: number;
  cacheWrite1h?: number;
  /**
   * Long-context tiers: once a request's total input tokens exceed `above`,
   * every bucket of that request is billed at the tier's prices.
   */
  tiers?: readonly ({ above: number } & Omit<ModelRates, "tiers">)[];
}

/** Rounds away float noise below a pico-dollar, so sums of exact prices stay exact. */
function usd(value: number): number {
  return Math.round(value * 1e12) / 1e12;
}

/** The tier that applies to a request of `inputTokens` total input tokens. */
export function ratesFor(rates: ModelRates, inputTokens: number): Omit<ModelRates, "tiers"> {
  let chosen: Omit<ModelRates, "tiers"> = rates;
  for (const tier of rates.tiers ?? []) if (inputTokens > tier.above) chosen = tier;
  return chosen;
}

/**
 * The cost of a usage at given rates. `discount` is the share taken off
 * every bucket (0.5 for batch APIs).
 */
export function costOf(usage: Usage, rates: ModelRates, source: string, discount = 0): Cost {
  if (usage.outputTokens > 0 && ratesFor(rates, Number.POSITIVE_INFINITY).output === undefined) {
    return {
      priced: false,
      usd: null,
      reason: `${source} has no output price`,
      estimated: usage.estimated === true,
    };
  }
  const totalInput =
    usage.inputTokens + usage.cacheReadTokens + usage.cacheWrite5mTokens + usage.cacheWrite1hTokens;
  const r = ratesFor(rates, totalInput);
  const factor = (1 - discount) / 1e6;
  const write5m = r.cacheWrite5m ?? r.input;
  const breakdown: CostBreakdown = {
    input: usd(usage.inputTokens * r.input * factor),
    cacheRead: usd(usage.cacheReadTokens * (r.cacheRead ?? r.input) * factor),
    cacheWrite: usd(
      usage.cacheWrite5mTokens * write5m * factor +
        usage.cacheWrite1hTokens * (r.cacheWrite1h ?? write5m) * factor,
    ),
    output: usd(usage.outputTokens * (r.output ?? 0) * factor),
  };
  return {
    priced: true,
    usd: usd(breakdown.input + breakdown.cacheRead + breakdown.cacheWrite + breakdown.output),
    breakdown,
    source,
    estimated: usage.estimated === true,
  };
}

/** Adds costs; unpriced if any part is, since a partial sum would understate what was spent. */
export function sumCosts(costs: readonly Cost[]): Cost {
  const estimated = costs.some((c) => c.estimated);
  const unpriced = costs.find((c) => !c.priced);
  if (unpriced && !unpriced.priced) return { priced: false, usd: null, reason: unpriced.reason, estimated };
  const breakdown: CostBreakdown = { input: 0, cacheRead: 0, cacheWrite: 0, output: 0 };
  const sources = new Set<string>();
  for (const c of costs) {
    if (!c.priced) continue;
    breakdown.input = usd(breakdown.input + c.breakdown.input);
    breakdown.cacheRead = usd(breakdown.cacheRead + c.breakdown.cacheRead);
    breakdown.cacheWrite = usd(breakdown.cacheWrite + c.breakdown.cacheWrite);
    breakdown.output = usd(breakdown.output + c.breakdown.output);
    sources.add(c.source);
  }
  return {
    priced: true,
    usd: usd(breakdown.input + breakdown.cacheRead + breakdown.cacheWrite + breakdown.output),
    breakdown,
    source: [...sources].join("; ") || "none",
    estimated,
  };
}

/**
 * What a set of provider calls was billed: usage added bucket by bucket and
 * costs summed. A call that failed before reporting usage adds nothing; one
 * unpriced call makes the total unpriced.
 */
export function billedTotals(attempts: readonly Attempt[]): { usage: Usage; cost: Cost } {
  const usage = emptyUsage();
  const costs: Cost[] = [];
  for (const a of attempts) {
    if (a.usage) addUsage(usage, a.usage);
    if (a.cost) costs.push(a.cost);
  }
  return { usage, cost: sumCosts(costs) };
}
