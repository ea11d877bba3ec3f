import { describe, expect, it } from "vitest";
import { priceBook } from "../../../pricing/price-book.js";
import {
  type PricedRecord,
  pointAt,
  priceRecords,
  randomReductionAt,
  reductionAt,
  routingCurve,
  scorePrompts,
} from "./evaluate.js";
import { examplesFromRouting } from "./examples.js";
import { RECORDS, STRONG_MODEL, WEAK } from "./fixture.js";
import { trainKnn } from "./train.js";

const prices = priceBook({
  overrides: { "local:small": { input: 1, output: 1 }, "local:large": { input: 10, output: 30 } },
});
const priceAs = { [WEAK]: "local:small", [STRONG_MODEL]: "local:large" };

/** Four prompts: weak right on a and b, strong right on all but d. Strong costs 10x. */
const HAND: PricedRecord[] = [
  { id: "a", w: true, s: true },
  { id: "b", w: true, s: true },
  { id: "c", w: false, s: true },
  { id: "d", w: false, s: false },
].map(({ id, w, s }) => ({
  record: { id, prompt: id, outcomes: {} },
  source: "x",
  weak: { usd: 1, correct: w },
  strong: { usd: 10, correct: s },
}));

describe("the cost-quality curve", () => {
  it("has one point per threshold, from all-strong to all-weak", () => {
    const points = routingCurve(HAND, [0.9, 0.8, 0.1, 0.5]);
    expect(points.map((p) => [p.threshold, p.strongShare, p.relativeCost, p.relativeAccuracy])).toEqual([
      [Number.POSITIVE_INFINITY, 1, 1, 1],
      [0.9, 0.75, 31 / 40, 1],
      [0.8, 0.5, 22 / 40, 1],
      [0.5, 0.25, 13 / 40, 1], // d: both wrong, so the weak model loses nothing
      [0.1, 0, 4 / 40, 2 / 3],
    ]);
    expect(reductionAt(points, 0.95)).toEqual({ reduction: 1 - 13 / 40, point: points[3] });
    expect(pointAt(points, 0.6)).toBe(points[2]);
    expect(pointAt(points, 0.5)).toBe(points[3]);
  });

  it("moves prompts with equal scores together", () => {
    const points = routingCurve(HAND, [0.5, 0.5, 0.5, 0.5]);
    expect(points).toHaveLength(2);
  });

  it("compares with a router that knows nothing", () => {
    // 95% of 3 right needs 2.85: a random share of (2.85 - 2) / (3 - 2) = 85% strong.
    expect(randomReductionAt(HAND, 0.95)).toBeCloseTo(1 - (0.85 * 40 + 0.15 * 4) / 40, 10);
  });
});

describe("priceRecords", () => {
  it("prices prompt tokens from the tokenizer and responses where recorded", async () => {
    const priced = await priceRecords(RECORDS, { weak: WEAK, strong: STRONG_MODEL, priceAs, prices });
    const easy = priced.find((p) => p.record.id === "easy-0")!;
    const hard = priced.find((p) => p.record.id === "hard-0")!;
    // "What is the capital of France?" is 7 tokens, plus 7 of chat framing; 1 assumed output token.
    expect(easy.weak.usd).toBeCloseTo((14 * 1 + 1 * 1) / 1e6, 12);
    expect(easy.strong.usd).toBeCloseTo((14 * 10 + 1 * 30) / 1e6, 12);
    expect(hard.strong.usd).toBeGreaterThan(hard.weak.usd * 10);
    expect([easy.weak.correct, hard.weak.correct, hard.strong.correct]).toEqual([true, false, false]);
  });

  it("names a model that has no price", async () => {
    await expect(priceRecords(RECORDS, { weak: WEAK, strong: STRONG_MODEL, prices })).rejects.toThrow(
      `--price ${WEAK}=provider:model`,
    );
  });

  it("scores unseen prompts so that the curve finds the oracle's routing (random routing saves nothing here)", async () => {
    const model = await trainKnn(examplesFromRouting(RECORDS), { maxDocumentShare: 0.5 });
    const probe = [
      { id: "p1", prompt: "What is the capital of Spain?", w: true },
      { id: "p2", prompt: "Translate good night into French", w: true },
      { id: "p3", prompt: "Prove this theorem by induction, rigorously", w: false },
      { id: "p4", prompt: "Give a rigorous proof that the sequence converges", w: false },
    ].map(({ id, prompt, w }) => ({
      id,
      prompt,
      outcomes: { [WEAK]: { correct: w }, [STRONG_MODEL]: { correct: true } },
    }));
    const priced = await priceRecords(probe, { weak: WEAK, strong: STRONG_MODEL, priceAs, prices });
    const scores = await scorePrompts(
      model,
      probe.map((p) => p.prompt),
      WEAK,
      { k: 3, costWeight: 0 },
    );
    const { reduction } = reductionAt(routingCurve(priced, scores), 1);
    const all = priced.reduce((sum, p) => sum + p.strong.usd, 0);
    const oracle = priced.reduce((sum, p) => sum + (p.weak.correct ? p.weak.usd : p.strong.usd), 0);
    expect(reduction).toBeCloseTo(1 - oracle / all, 12);
    expect(randomReductionAt(priced, 1)).toBe(0);
  });
});
