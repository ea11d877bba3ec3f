import { describe, expect, it } from "vitest";
import type { Usage } from "../core/completion.js";
import { ConfigError } from "../core/errors.js";
import { priceBook } from "./price-book.js";
import { sumCosts } from "./rates.js";

const usage = (u: Partial<Usage>): Usage => ({
  inputTokens: 0,
  cacheReadTokens: 0,
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
  outputTokens: 0,
  reasoningTokens: 0,
  ...u,
});

/**
 * USD per million tokens as published on the providers' price pages
 * (openai.com/api/pricing, docs.anthropic.com pricing): input, cached input,
 * 5-minute cache write, 1-hour cache write, output. Anthropic writes are
 * 1.25x and 2x input, reads 0.1x (FAILURES.md A3).
 */
const PUBLISHED: Record<string, [number, number, number | null, number | null, number]> = {
  "openai:gpt-4o-mini": [0.15, 0.075, null, null, 0.6],
  "openai:gpt-4o": [2.5, 1.25, null, null, 10],
  "openai:gpt-4.1": [2, 0.5, null, null, 8],
  "openai:gpt-4.1-mini": [0.4, 0.1, null, null, 1.6],
  "openai:gpt-4.1-nano": [0.1, 0.025, null, null, 0.4],
  "openai:o3": [2, 0.5, null, null, 8],
  "openai:o4-mini": [1.1, 0.275, null, null, 4.4],
  "openai:gpt-5": [1.25, 0.125, null, null, 10],
  "openai:gpt-5-mini": [0.25, 0.025, null, null, 2],
  "openai:gpt-5-nano": [0.05, 0.005, null, null, 0.4],
  "openai:gpt-3.5-turbo": [0.5, 0.5, null, null, 1.5],
  "anthropic:claude-haiku-4-5": [1, 0.1, 1.25, 2, 5],
  "anthropic:claude-sonnet-4-5": [3, 0.3, 3.75, 6, 15],
  "anthropic:claude-sonnet-4": [3, 0.3, 3.75, 6, 15],
  "anthropic:claude-opus-4-1": [15, 1.5, 18.75, 30, 75],
  "anthropic:claude-opus-4-5": [5, 0.5, 6.25, 10, 25],
  "anthropic:claude-3-5-haiku": [0.8, 0.08, 1, 1.6, 4],
  "anthropic:claude-3-haiku-20240307": [0.25, 0.03, 0.3, 0.5, 1.25],
};

/** (model, usage) cases; each is priced by hand from the published rates above. */
const CASES: [string, Partial<Usage>][] = [
  ["openai:gpt-4o-mini", { inputTokens: 1200, outputTokens: 300 }],
  ["openai:gpt-4o-mini", { inputTokens: 200, cacheReadTokens: 1024, outputTokens: 50 }],
  ["openai:gpt-4o", { inputTokens: 5000, outputTokens: 1000 }],
  ["openai:gpt-4o", { inputTokens: 128, cacheReadTokens: 4096, outputTokens: 12 }],
  ["openai:gpt-4.1", { inputTokens: 10_000, cacheReadTokens: 30_000, outputTokens: 2000 }],
  ["openai:gpt-4.1-mini", { inputTokens: 777, outputTokens: 333 }],
  ["openai:gpt-4.1-nano", { inputTokens: 50_000, outputTokens: 5 }],
  ["openai:o3", { inputTokens: 3000, outputTokens: 9000, reasoningTokens: 8000 }],
  ["openai:o4-mini", { inputTokens: 1500, cacheReadTokens: 1500, outputTokens: 4000, reasoningTokens: 3500 }],
  [
    "openai:gpt-5",
    { inputTokens: 20_000, cacheReadTokens: 80_000, outputTokens: 3000, reasoningTokens: 2000 },
  ],
  ["openai:gpt-5-mini", { inputTokens: 1, outputTokens: 1 }],
  ["openai:gpt-5-nano", { inputTokens: 123_456, outputTokens: 7890 }],
  ["openai:gpt-3.5-turbo", { inputTokens: 4000, outputTokens: 500 }],
  ["anthropic:claude-haiku-4-5", { inputTokens: 100, outputTokens: 20 }],
  ["anthropic:claude-haiku-4-5", { inputTokens: 50, cacheWrite5mTokens: 4000, outputTokens: 200 }],
  ["anthropic:claude-haiku-4-5", { inputTokens: 50, cacheReadTokens: 4000, outputTokens: 200 }],
  ["anthropic:claude-sonnet-4-5", { inputTokens: 2000, cacheWrite1hTokens: 10_000, outputTokens: 800 }],
  [
    "anthropic:claude-sonnet-4-5",
    { inputTokens: 300, cacheReadTokens: 10_000, cacheWrite5mTokens: 500, outputTokens: 90 },
  ],
  ["anthropic:claude-sonnet-4", { inputTokens: 9000, outputTokens: 4500, reasoningTokens: 4000 }],
  [
    "anthropic:claude-opus-4-1",
    { inputTokens: 1000, cacheWrite5mTokens: 2000, cacheWrite1hTokens: 3000, outputTokens: 400 },
  ],
  ["anthropic:claude-opus-4-5", { inputTokens: 12_000, cacheReadTokens: 50_000, outputTokens: 2500 }],
  ["anthropic:claude-3-5-haiku", { inputTokens: 640, outputTokens: 128 }],
  [
    "anthropic:claude-3-haiku-20240307",
    { inputTokens: 10_000, cacheReadTokens: 10_000, cacheWrite5mTokens: 10_000, outputTokens: 1000 },
  ],
];

function byHand(ref: string, u: Usage): number {
  const [input, cached, write5m, write1h, output] = PUBLISHED[ref]!;
  return (
    (u.inputTokens * input +
      u.cacheReadTokens * cached +
      u.cacheWrite5mTokens * (write5m ?? input) +
      u.cacheWrite1hTokens * (write1h ?? input) +
      u.outputTokens * output) /
    1e6
  );
}

describe("priceBook", () => {
  const book = priceBook();

  it.each(CASES)("prices %s %j as the provider's published prices do", (ref, partial) => {
    const [provider, model] = [ref.slice(0, ref.indexOf(":")), ref.slice(ref.indexOf(":") + 1)];
    const u = usage(partial);
    const cost = book.cost(provider, model, u);
    expect(cost.priced).toBe(true);
    // Exact to the micro-dollar (and well below).
    expect(cost.usd).toBeCloseTo(byHand(ref, u), 9);
    expect(cost.priced && cost.source).toMatch(/^@pydantic\/genai-prices@\d/);
  });

  it("prices an embedding model, which has only an input price, and never guesses an output price", () => {
    const embedding = book.cost("openai", "text-embedding-3-small", usage({ inputTokens: 1_000_000 }));
    expect(embedding).toMatchObject({ priced: true, usd: 0.02 });
    expect(
      book.cost("openai", "text-embedding-3-small", usage({ inputTokens: 1, outputTokens: 1 })),
    ).toMatchObject({
      priced: false,
    });
  });

  it("counts reasoning tokens once, inside output", () => {
    const withReasoning = book.cost("openai", "o3", usage({ outputTokens: 1000, reasoningTokens: 900 }));
    const without = book.cost("openai", "o3", usage({ outputTokens: 1000 }));
    expect(withReasoning.usd).toBe(without.usd);
  });

  it("bills the whole request at the long-context tier above 200k input tokens", () => {
    const small = book.cost(
      "anthropic",
      "claude-sonnet-4-5",
      usage({ inputTokens: 200_000, outputTokens: 1000 }),
    );
    const large = book.cost(
      "anthropic",
      "claude-sonnet-4-5",
      usage({ inputTokens: 200_001, outputTokens: 1000 }),
    );
    expect(small.usd).toBeCloseTo((200_000 * 3 + 1000 * 15) / 1e6, 9);
    expect(large.usd).toBeCloseTo((200_001 * 6 + 1000 * 22.5) / 1e6, 9);
  });

  it("takes the batch discount off every bucket (FAILURES A5)", () => {
    const u = usage({
      inputTokens: 1000,
      cacheReadTokens: 2000,
      cacheWrite5mTokens: 3000,
      outputTokens: 4000,
    });
    const live = book.cost("anthropic", "claude-haiku-4-5", u);
    const batch = book.cost("anthropic", "claude-haiku-4-5", u, { batch: true });
    if (!live.priced || !batch.priced) throw new Error("expected priced");
    expect(batch.usd).toBeCloseTo(live.usd / 2, 12);
    for (const key of ["input", "cacheRead", "cacheWrite", "output"] as const) {
      expect(batch.breakdown[key]).toBeCloseTo(live.breakdown[key] / 2, 12);
    }
    expect(batch.source).toMatch(/batch$/);
  });

  it("reports an unknown model as unpriced with the reason, never $0 (FAILURES A6)", () => {
    const cost = book.cost("openai", "gpt-unknown-2099", usage({ inputTokens: 10, outputTokens: 10 }));
    expect(cost).toEqual({
      priced: false,
      usd: null,
      reason: "no price for openai:gpt-unknown-2099 in @pydantic/genai-prices; add a priceBook override",
      estimated: false,
    });
  });

  it("uses host overrides: full rates for a fine-tuned model and a negotiated discount", () => {
    const custom = priceBook({
      overrides: {
        "openai:ft:gpt-4o-mini:acme": { input: 0.3, output: 1.2, cacheRead: 0.15 },
        "anthropic:claude-haiku-4-5": { discountPct: 20 },
      },
    });
    const ft = custom.cost(
      "openai",
      "ft:gpt-4o-mini:acme",
      usage({ inputTokens: 1000, cacheReadTokens: 1000, outputTokens: 1000 }),
    );
    expect(ft).toMatchObject({ priced: true, source: "override openai:ft:gpt-4o-mini:acme" });
    expect(ft.usd).toBeCloseTo((1000 * 0.3 + 1000 * 0.15 + 1000 * 1.2) / 1e6, 12);
    const discounted = custom.cost("anthropic", "claude-haiku-4-5", usage({ inputTokens: 1_000_000 }));
    expect(discounted.usd).toBeCloseTo(0.8, 12);
    expect(discounted.priced && discounted.source).toMatch(/less 20% \(override\)$/);
  });

  it("applies an override for the undated name to the provider's dated snapshot", () => {
    const custom = priceBook({ overrides: { "openai:gpt-4o-mini": { discountPct: 50 } } });
    const dated = custom.cost("openai", "gpt-4o-mini-2024-07-18", usage({ inputTokens: 1_000_000 }));
    expect(dated.usd).toBeCloseTo(0.075, 12);
  });

  it("names the option of a bad configuration", () => {
    expect(() => priceBook({ batchDiscount: 2 })).toThrow(ConfigError);
    expect(() => priceBook({ overrides: { "gpt-4o": { input: 1, output: 1 } } })).toThrow(
      /options\.overrides\.gpt-4o/,
    );
    expect(() => priceBook({ overrides: { "x:y": { input: -1, output: 1 } } })).toThrow(
      /options\.overrides\.x:y\.input/,
    );
  });

  it("marks a cost from an estimated usage as estimated", () => {
    expect(book.cost("openai", "gpt-4o-mini", usage({ outputTokens: 5, estimated: true })).estimated).toBe(
      true,
    );
  });
});

describe("sumCosts", () => {
  const book = priceBook();
  it("adds priced costs exactly and refuses to hide an unpriced part", () => {
    const a = book.cost("openai", "gpt-4o-mini", usage({ inputTokens: 1 }));
    const b = book.cost("openai", "gpt-4o-mini", usage({ inputTokens: 2 }));
    expect(sumCosts([a, b]).usd).toBe(0.00000045);
    const unknown = book.cost("openai", "nope", usage({ inputTokens: 1 }));
    expect(sumCosts([a, unknown])).toMatchObject({ priced: false, usd: null });
    expect(sumCosts([])).toMatchObject({ priced: true, usd: 0 });
  });
});
