import { describe, expect, it } from "vitest";
import { priceBook } from "../../pricing/price-book.js";
import { economicsOf, minimumPrefixTokens, netPerToken, STANDARD_ECONOMICS } from "./cache-economics.js";
import { expectedReads, favoursOneHour, NO_REUSE, PrefixHistory } from "./prefix-history.js";

describe("minimumPrefixTokens", () => {
  it.each([
    ["claude-opus-4-5-20251101", 4096],
    ["claude-opus-4-6", 4096],
    ["claude-haiku-4-5", 4096],
    ["us.anthropic.claude-haiku-4-5-20251001-v1:0", 4096],
    ["claude-3-5-haiku@20241022", 2048],
    ["claude-3-haiku-20240307", 2048],
    ["claude-sonnet-4-6", 1024],
    ["claude-sonnet-4-5-20250929", 1024],
    ["claude-opus-4-1", 1024],
    ["claude-opus-4-20250514", 1024],
    ["claude-3-7-sonnet-latest", 1024],
    ["some-future-model", 1024],
  ])("%s: %i tokens", (model, tokens) => {
    expect(minimumPrefixTokens(model)).toBe(tokens);
  });

  it("lets the host's longest matching prefix win over the table", () => {
    const overrides = { "claude-sonnet-4": 1500, "claude-sonnet-4-6": 2048 };
    expect(minimumPrefixTokens("claude-sonnet-4-6", overrides)).toBe(2048);
    expect(minimumPrefixTokens("claude-sonnet-4-5", overrides)).toBe(1500);
  });
});

describe("economicsOf", () => {
  it("reads the multipliers from the price book", () => {
    expect(economicsOf(priceBook(), "anthropic", "claude-haiku-4-5")).toEqual({
      readSaving: expect.closeTo(0.9, 9),
      premium5m: expect.closeTo(0.25, 9),
      premium1h: expect.closeTo(1, 9),
      source: "prices",
    });
    const discounted = priceBook({
      overrides: { "anthropic:x": { input: 2, output: 4, cacheRead: 1, cacheWrite5m: 2 } },
    });
    expect(economicsOf(discounted, "anthropic", "x")).toMatchObject({
      readSaving: 0.5,
      premium5m: 0,
      premium1h: 0,
    });
  });

  it("falls back to Anthropic's published multipliers for an unpriced model", () => {
    expect(economicsOf(priceBook(), "anthropic", "claude-unknown")).toBe(STANDARD_ECONOMICS);
  });

  it("puts the break-even near 0.28 reads at 5m and 1.1 reads at 1h", () => {
    expect(netPerToken(STANDARD_ECONOMICS, "5m", 0.27)).toBeLessThan(0);
    expect(netPerToken(STANDARD_ECONOMICS, "5m", 0.29)).toBeGreaterThan(0);
    expect(netPerToken(STANDARD_ECONOMICS, "1h", 1.1)).toBeLessThan(0);
    expect(netPerToken(STANDARD_ECONOMICS, "1h", 1.12)).toBeGreaterThan(0);
  });
});

describe("PrefixHistory", () => {
  const MIN = 60_000;

  it("counts how soon a prefix came back", () => {
    const history = new PrefixHistory(10);
    expect(history.observe("p", 0, "r1")).toEqual(NO_REUSE);
    expect(history.observe("p", 2 * MIN, "r2")).toEqual({ within5m: 1, within1h: 1, total: 1 });
    expect(history.observe("p", 22 * MIN, "r3")).toEqual({ within5m: 1, within1h: 2, total: 2 });
    expect(history.observe("p", 200 * MIN, "r4")).toEqual({ within5m: 1, within1h: 2, total: 3 });
  });

  it("answers a second look by the same request as the first, recording nothing more", () => {
    const history = new PrefixHistory(10);
    history.observe("p", 0, "r1");
    const first = history.observe("p", MIN, "r2");
    expect(history.observe("p", 2 * MIN, "r2")).toBe(first);
    expect(history.observe("p", 3 * MIN, "r3")).toEqual({ within5m: 2, within1h: 2, total: 2 });
  });

  it("is bounded by prefixes and by sightings per prefix", () => {
    const history = new PrefixHistory(3);
    for (let i = 0; i < 10; i++) history.observe(`p${i}`, 0, "r");
    expect(history.size).toBe(3);
    for (let i = 0; i < 100; i++) history.observe("busy", i, `r${i}`);
    expect(history.observe("busy", 100, "last").total).toBe(16);
  });

  it("favours 1h for prefixes that come back after five minutes but within the hour", () => {
    expect(favoursOneHour({ within5m: 0, within1h: 2, total: 2 })).toBe(true);
    expect(favoursOneHour({ within5m: 2, within1h: 3, total: 3 })).toBe(false);
    expect(favoursOneHour(NO_REUSE)).toBe(false);
  });

  it("expects prior / (1 - prior) reads of a prefix never seen, and more of one that keeps coming back", () => {
    expect(expectedReads(NO_REUSE, "5m", 0.6)).toBeCloseTo(1.5, 9);
    expect(expectedReads({ within5m: 5, within1h: 5, total: 5 }, "5m", 0.6)).toBeGreaterThan(10);
    expect(expectedReads({ within5m: 0, within1h: 0, total: 5 }, "1h", 0.6)).toBeLessThan(0.2);
    expect(expectedReads({ within5m: 16, within1h: 16, total: 16 }, "5m", 0.99)).toBeLessThanOrEqual(100);
  });
});
