import { randomUUID } from "node:crypto";
import type { Cost } from "../../src/core/completion.js";
import type { CostRecord } from "../../src/core/cost-record.js";

/** 2025-03-01T00:00:00Z: fixtures' times count from here, one second apart unless told otherwise. */
export const BASE_TIME = Date.UTC(2025, 2, 1);

export function pricedCost(usd: number): Cost {
  return {
    priced: true,
    usd,
    breakdown: { input: usd / 2, cacheRead: 0, cacheWrite: 0, output: usd / 2 },
    source: "test-prices@1",
    estimated: false,
  };
}

export const unpricedCost = {
  priced: false,
  usd: null,
  reason: "no price for openai:mystery-model",
  estimated: false,
} as const satisfies Cost;

/**
 * A complete, realistic cost record: every field set, nested attempts, a
 * route and a baseline, so a round trip that loses anything shows up.
 * Overrides replace fields whole.
 */
export function costRecord(overrides: Partial<CostRecord> = {}): CostRecord {
  const cost = overrides.cost ?? pricedCost(0.001234);
  const usage = {
    inputTokens: 1200,
    cacheReadTokens: 800,
    cacheWrite5mTokens: 40,
    cacheWrite1hTokens: 2,
    outputTokens: 350,
    reasoningTokens: 120,
  };
  return {
    id: randomUUID(),
    time: new Date(BASE_TIME).toISOString(),
    tenant: "acme",
    user: "user-42",
    task: "support-reply",
    tags: ["beta", "eu"],
    status: "ok",
    requestedModel: "auto",
    provider: "openai",
    model: "gpt-4o-mini",
    route: { model: "openai:gpt-4o-mini", tier: "cheap", reason: "short prompt", scores: { easy: 0.91 } },
    cache: { status: "miss", kind: "semantic", similarity: 0.42 },
    usage,
    cost,
    retryCostUsd: 0.0002,
    baseline: { model: "openai:gpt-4o", cost: pricedCost(0.0213) },
    savingsUsd: cost.priced ? 0.0213 - cost.usd : null,
    latencyMs: 812,
    timeToFirstTokenMs: 204,
    streamed: true,
    attempts: [
      {
        purpose: "primary",
        provider: "openai",
        model: "gpt-4o-mini",
        status: "error",
        startedAt: new Date(BASE_TIME).toISOString(),
        latencyMs: 95,
        usage: null,
        cost: null,
        error: { name: "RateLimitError", message: "429 Too Many Requests", status: 429 },
      },
      {
        purpose: "retry",
        label: "second try",
        provider: "openai",
        model: "gpt-4o-mini",
        status: "ok",
        startedAt: new Date(BASE_TIME + 300).toISOString(),
        latencyMs: 500,
        usage,
        cost,
      },
    ],
    error: null,
    // Characters a line-based or SQL store could mangle: newline, quote, backslash, U+2028, emoji.
    prompt: [{ role: "user", content: 'Line one\nline "two" \\ tab\t \u2028 é 漢字 🚀' }],
    ...overrides,
  };
}

/** `count` records, one second apart from `start`, each passed through `each` for per-record changes. */
export function costRecords(
  count: number,
  each: (index: number) => Partial<CostRecord> = () => ({}),
  start = BASE_TIME,
): CostRecord[] {
  return Array.from({ length: count }, (_, i) =>
    costRecord({ time: new Date(start + i * 1000).toISOString(), ...each(i) }),
  );
}

/** The instant `seconds` after {@link BASE_TIME}. */
export function at(seconds: number): Date {
  return new Date(BASE_TIME + seconds * 1000);
}
