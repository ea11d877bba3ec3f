import type { PriceBook } from "../../../core/pricing.js";
import { priceBook } from "../../../pricing/price-book.js";
import { type TokenEstimator, tokenEstimator } from "../../../tokens/index.js";
import type { RoutingRecord } from "./examples.js";
import { costAware, DEFAULT_K, type KnnModel } from "./model.js";

/**
 * Priced stand-ins for the routing data's models, both from the price
 * library (@pydantic/genai-prices): GPT-4 Turbo 1106 at OpenAI's $10 / $30
 * per million input / output tokens, and Mixtral 8x7B Instruct at Mistral's
 * own API price (`open-mixtral-8x7b`, $0.7 / $0.7; Together listed it at
 * $0.6, Groq at $0.24). Override with `priceAs` (`--price` on the CLI).
 */
export const ROUTING_DATA_PRICES: Readonly<Record<string, string>> = {
  "mixtral-8x7b-instruct": "mistral:open-mixtral-8x7b",
  "gpt-4-1106-preview": "openai:gpt-4-1106-preview",
};

export interface PriceRecordsOptions {
  /** The cheap and the strong model, as named in the records' outcomes. */
  weak: string;
  strong: string;
  /** Model names mapped to priced `provider:model` refs. Default {@link ROUTING_DATA_PRICES}; a name not listed is priced as itself. */
  priceAs?: Readonly<Record<string, string>>;
  prices?: PriceBook;
  tokens?: TokenEstimator;
  /** Output tokens where no response is recorded. Default 1 (an MMLU answer is one letter). */
  assumedOutputTokens?: number;
}

/** A record with what each model would have cost and whether it was right. */
export interface PricedRecord {
  record: RoutingRecord;
  source: string;
  weak: { usd: number; correct: boolean };
  strong: { usd: number; correct: boolean };
}

/**
 * Prices every record at both models: prompt tokens from the tokenizer (the
 * prompt as one user message), response tokens where recorded and the
 * assumed count otherwise, at the price book's rates. Throws when a model
 * has no price, naming it.
 */
export async function priceRecords(
  records: readonly RoutingRecord[],
  options: PriceRecordsOptions,
): Promise<PricedRecord[]> {
  const prices = options.prices ?? priceBook();
  const tokens = options.tokens ?? tokenEstimator();
  const assumed = options.assumedOutputTokens ?? 1;
  const refOf = (name: string) => {
    const ref = { ...ROUTING_DATA_PRICES, ...options.priceAs }[name] ?? name;
    const colon = ref.indexOf(":");
    if (colon <= 0)
      throw new Error(
        `no price for "${name}": map it to a priced provider:model (--price ${name}=provider:model)`,
      );
    return { provider: ref.slice(0, colon), model: ref.slice(colon + 1) };
  };
  const weakRef = refOf(options.weak);
  const strongRef = refOf(options.strong);
  const price = async (r: RoutingRecord, name: string, ref: { provider: string; model: string }) => {
    const outcome = r.outcomes[name];
    if (!outcome) throw new Error(`record ${r.id}: no outcome for "${name}"`);
    const request = {
      model: `${ref.provider}:${ref.model}`,
      messages: [{ role: "user" as const, content: r.prompt }],
    };
    const input = (await tokens.estimateRequest(request, ref)).inputTokens;
    const output = outcome.response === undefined ? assumed : await tokens.countText(outcome.response, ref);
    const cost = prices.cost(ref.provider, ref.model, {
      inputTokens: input,
      cacheReadTokens: 0,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
      outputTokens: output,
      reasoningTokens: 0,
    });
    if (!cost.priced) throw new Error(`${cost.reason} (map "${name}" with --price ${name}=provider:model)`);
    return { usd: cost.usd, correct: outcome.correct };
  };
  const out: PricedRecord[] = [];
  for (const record of records) {
    out.push({
      record,
      source: record.source ?? "all",
      weak: await price(record, options.weak, weakRef),
      strong: await price(record, options.strong, strongRef),
    });
  }
  return out;
}

export interface ScoreOptions {
  /** Neighbours. Default 20. */
  k?: number;
  /** Weight of the prompt's relative cost in the score (see `costAware`). Default 1. */
  costWeight?: number;
}

/**
 * The router's score for each prompt: the cost-aware probability that the
 * model `weak` is good enough, the figure `knn({ threshold })` compares
 * (a prompt goes to the weak model when its score is at or above the threshold).
 */
export async function scorePrompts(
  model: KnnModel,
  prompts: readonly string[],
  weak: string,
  options: ScoreOptions = {},
): Promise<number[]> {
  const j = model.models.indexOf(weak);
  if (j < 0) throw new Error(`the model knows no "${weak}" (it knows ${model.models.join(", ")})`);
  const k = options.k ?? DEFAULT_K;
  const weight = options.costWeight ?? 1;
  const scores: number[] = [];
  for (const prompt of prompts) {
    const p = model.predict(await model.embed(prompt), prompt.length, k);
    scores.push(costAware(p.goodEnough[j]!, p.relativeCost, weight));
  }
  return scores;
}

/** One threshold of the cost-quality curve. */
export interface CurvePoint {
  /** Prompts scoring at or above it go to the weak model. */
  threshold: number;
  /** Share of the prompts sent to the strong model. */
  strongShare: number;
  /** Cost of the routed prompts over the cost of sending all of them to the strong model. */
  relativeCost: number;
  /** Correct answers of the routed prompts over the strong model's correct answers. */
  relativeAccuracy: number;
}

/**
 * The whole curve: one point per distinct score, from "everything strong"
 * (threshold +Infinity) to "everything weak" (the lowest score).
 */
export function routingCurve(priced: readonly PricedRecord[], scores: readonly number[]): CurvePoint[] {
  const order = priced.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let allStrong = 0;
  let strongRight = 0;
  for (const p of priced) {
    allStrong += p.strong.usd;
    strongRight += p.strong.correct ? 1 : 0;
  }
  let cost = allStrong;
  let right = strongRight;
  const point = (threshold: number, weak: number): CurvePoint => ({
    threshold,
    strongShare: priced.length ? 1 - weak / priced.length : 0,
    relativeCost: allStrong > 0 ? cost / allStrong : 1,
    relativeAccuracy: strongRight > 0 ? right / strongRight : 1,
  });
  const points = [point(Number.POSITIVE_INFINITY, 0)];
  order.forEach((i, n) => {
    const p = priced[i]!;
    cost += p.weak.usd - p.strong.usd;
    right += (p.weak.correct ? 1 : 0) - (p.strong.correct ? 1 : 0);
    const next = order[n + 1];
    // Prompts with equal scores move together: one threshold cannot split them.
    if (next === undefined || scores[next] !== scores[i]) points.push(point(scores[i]!, n + 1));
  });
  return points;
}

/** The cheapest point keeping at least `quality` of the strong model's accuracy, and its cost reduction. */
export function reductionAt(
  points: readonly CurvePoint[],
  quality: number,
): { reduction: number; point: CurvePoint } {
  let best = points[0]!;
  for (const p of points)
    if (p.relativeAccuracy >= quality - 1e-12 && p.relativeCost < best.relativeCost) best = p;
  return { reduction: 1 - best.relativeCost, point: best };
}

/** The point a given threshold lands on (the last point whose threshold is at or above it). */
export function pointAt(points: readonly CurvePoint[], threshold: number): CurvePoint {
  let at = points[0]!;
  for (const p of points) if (p.threshold >= threshold) at = p;
  return at;
}

/**
 * What a router with no information would do at the same quality: sending a
 * random share to the strong model, the accuracy and the cost move linearly.
 */
export function randomReductionAt(priced: readonly PricedRecord[], quality: number): number {
  let weakRight = 0;
  let strongRight = 0;
  let weakUsd = 0;
  let strongUsd = 0;
  for (const p of priced) {
    weakRight += p.weak.correct ? 1 : 0;
    strongRight += p.strong.correct ? 1 : 0;
    weakUsd += p.weak.usd;
    strongUsd += p.strong.usd;
  }
  if (strongRight <= weakRight) return 1 - weakUsd / strongUsd;
  const share = Math.min(1, Math.max(0, (quality * strongRight - weakRight) / (strongRight - weakRight)));
  return 1 - (share * strongUsd + (1 - share) * weakUsd) / strongUsd;
}
