import { emptyUsage, type Usage } from "../../core/completion.js";
import type { PriceBook } from "../../core/pricing.js";

/**
 * The smallest prefix, in tokens, that Anthropic caches, by model. Below it a
 * breakpoint is accepted but nothing is cached (no error, no write charge), so
 * it only wastes one of the four slots. Source: Anthropic's prompt caching
 * guide, "Cache limitations" (platform.claude.com/docs/en/build-with-claude/
 * prompt-caching), as of 2026: 4096 for Opus 4.5 / 4.6 / 4.7 and Haiku 4.5,
 * 2048 for Haiku 3 / 3.5, 1024 for the Sonnet models, Opus 4 / 4.1 and the
 * Claude 3 Sonnet / Opus models. First match wins; the names are matched
 * anywhere in the model id, so dated ids, Bedrock (`us.anthropic.…-v1:0`)
 * and Vertex (`…@20241022`) ids resolve too.
 */
const MINIMUM_PREFIX_TOKENS: readonly [RegExp, number][] = [
  [/opus-4-[5-9]|opus-4\.[5-9]/, 4096],
  [/haiku-4|haiku-[5-9]/, 4096],
  [/claude-3-5-haiku|claude-3-haiku|haiku-3/, 2048],
];

/** What a model not in the table gets: the most common minimum. */
export const DEFAULT_MINIMUM_PREFIX_TOKENS = 1024;

/** OpenAI caches prompts of 1024 tokens or more, automatically. */
export const OPENAI_MINIMUM_PREFIX_TOKENS = 1024;

/**
 * The minimum cacheable prefix of an Anthropic model. `overrides` maps a
 * model-name prefix (`"claude-sonnet-4-6"`) to tokens; the longest matching
 * prefix wins over the built-in table.
 */
export function minimumPrefixTokens(model: string, overrides: Readonly<Record<string, number>> = {}): number {
  const name = model.toLowerCase();
  let best: [string, number] | undefined;
  for (const [prefix, tokens] of Object.entries(overrides)) {
    if (name.startsWith(prefix.toLowerCase()) && (!best || prefix.length > best[0].length)) {
      best = [prefix, tokens];
    }
  }
  if (best) return best[1];
  for (const [pattern, tokens] of MINIMUM_PREFIX_TOKENS) if (pattern.test(name)) return tokens;
  return DEFAULT_MINIMUM_PREFIX_TOKENS;
}

/**
 * Per-token prices of caching, in units of the model's input price, so that
 * one token read instead of processed saves `readSaving`, and one token
 * written costs `premium5m` / `premium1h` more than processing it.
 */
export interface CacheEconomics {
  readSaving: number;
  premium5m: number;
  premium1h: number;
  /** Where the figures came from: the price book, or Anthropic's published multipliers. */
  source: "prices" | "standard";
}

/** Anthropic's published multipliers: reads 0.1×, 5-minute writes 1.25×, 1-hour writes 2× the input price. */
export const STANDARD_ECONOMICS: CacheEconomics = {
  readSaving: 0.9,
  premium5m: 0.25,
  premium1h: 1,
  source: "standard",
};

/**
 * The economics of a model from the host's price book, through the cost of
 * probe usages (so overrides, discounts and the library's data all apply). A
 * probe of 1000 tokens stays below every long-context tier. A model without a
 * price falls back to the standard multipliers; a free model saves nothing.
 */
export function economicsOf(prices: PriceBook, provider: string, model: string): CacheEconomics {
  const PROBE = 1000;
  const usd = (bucket: keyof Usage): number | null => {
    const cost = prices.cost(provider, model, { ...emptyUsage(), [bucket]: PROBE });
    return cost.priced ? cost.usd : null;
  };
  const input = usd("inputTokens");
  const read = usd("cacheReadTokens");
  const write5m = usd("cacheWrite5mTokens");
  const write1h = usd("cacheWrite1hTokens");
  if (input === null || read === null || write5m === null || write1h === null) return STANDARD_ECONOMICS;
  if (input <= 0) return { readSaving: 0, premium5m: 0, premium1h: 0, source: "prices" };
  return {
    readSaving: (input - read) / input,
    premium5m: (write5m - input) / input,
    premium1h: (write1h - input) / input,
    source: "prices",
  };
}

/**
 * What a write of one token is expected to earn, in input-price units: the
 * reads it is expected to serve times what each saves, less the premium.
 * Positive means the breakpoint pays.
 */
export function netPerToken(economics: CacheEconomics, ttl: "5m" | "1h", expectedReads: number): number {
  return expectedReads * economics.readSaving - (ttl === "1h" ? economics.premium1h : economics.premium5m);
}
