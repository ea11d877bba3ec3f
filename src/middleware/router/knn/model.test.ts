import { describe, expect, it } from "vitest";
import type { CostRecord } from "../../../core/cost-record.js";
import type { Embedder } from "../../../embeddings/embedder.js";
import { examplesFromLedger, examplesFromRouting, parseRoutingJsonl, splitRecords } from "./examples.js";
import { MAX_FEATURIZED_CHARS } from "./featurizer.js";
import { JSONL, RECORDS, STRONG_MODEL, WEAK } from "./fixture.js";
import { costAware, KnnModel, promptFingerprint } from "./model.js";
import { PRIOR_WEIGHTS, trainKnn } from "./train.js";

const examples = examplesFromRouting(RECORDS, { models: [WEAK, STRONG_MODEL] });
const train = () => trainKnn(examples, { maxDocumentShare: 0.5, priorWeight: 0 });
const pWeak = (model: KnnModel, text: string, k = 3) =>
  model.predict(model.featurize(text), text.length, k).goodEnough[0]!;

describe("trainKnn / predict", () => {
  it("learns which prompts the small model is good enough for", async () => {
    const model = await train();
    expect(model.models).toEqual([WEAK, STRONG_MODEL]);
    expect(model.size).toBe(RECORDS.length);
    expect(pWeak(model, "What is the capital of Peru?")).toBeGreaterThan(0.6);
    expect(pWeak(model, "Prove this theorem by induction, rigorously")).toBeLessThan(0.3);
  });

  it("keeps a small training set's shared words with the default maxDocumentShare", async () => {
    const model = await trainKnn(examples); // 18 prompts: 10% would drop every word found in 2 or more
    expect(pWeak(model, "What is the capital of Peru?")).toBeGreaterThan(0.6);
    expect(pWeak(model, "Prove this theorem by induction, rigorously")).toBeLessThan(0.3);
  });

  it("counts every model good enough where none was right (paying more gained nothing)", async () => {
    const model = await train();
    // hard-0: neither model was right, so the small one counts as good enough there.
    const p = model.predict(model.featurize(RECORDS.find((r) => r.id === "hard-0")!.prompt), 60, 1);
    expect(p.goodEnough).toEqual([1, 1]);
  });

  it("falls back to the base rates for a prompt that shares no word with the examples", async () => {
    const model = await train();
    const p = model.predict(model.featurize("zzz qqq"), 7, 5);
    expect(p.neighbours).toBe(0);
    expect(p.goodEnough).toEqual([...model.baseRates]);
    expect(model.baseRates[0]).toBeCloseTo((9 + 1) / 18, 10); // 9 easy right + hard-0 (none right)
  });

  it("estimates the answer's length from the neighbours, for the prompt's relative cost", async () => {
    const model = await train();
    const easyP = model.predict(model.featurize("What is the capital of Chile?"), 30, 3);
    const hardP = model.predict(model.featurize("Prove that the product of two odd numbers is odd"), 30, 3);
    expect(easyP.outputTokens).toBe(1); // no response recorded: the assumed single token
    expect(hardP.outputTokens).toBeGreaterThan(10);
    expect(hardP.relativeCost).toBeGreaterThan(easyP.relativeCost);
  });

  it("round-trips through JSON with the same predictions", async () => {
    const model = await train();
    const loaded = KnnModel.fromJSON(JSON.stringify(model));
    for (const text of ["capital of Peru?", "Prove that 3 is prime", "Translate hello into Dutch"]) {
      expect(loaded.predict(loaded.featurize(text), text.length, 5)).toEqual(
        model.predict(model.featurize(text), text.length, 5),
      );
    }
    expect(loaded.fingerprints()).toEqual(new Set(RECORDS.map((r) => promptFingerprint(r.prompt))));
    const json = JSON.stringify(model);
    expect(json).not.toContain("capital"); // words are kept as hashes, not text
  });

  it("refuses a file that is not a model", () => {
    expect(() => KnnModel.fromJSON("{}")).toThrow(/not a kNN router model/);
  });

  it("works with a host embedder, which must be given again to load the model", async () => {
    const embedder: Embedder = {
      name: "toy-2d",
      dimensions: 2,
      async embed(texts) {
        return texts.map((t) => {
          const hard = /prove|theorem|rigorous/i.test(t) ? 1 : 0;
          const v = Float32Array.of(1 - hard + 0.1, hard + 0.1);
          const n = Math.hypot(v[0]!, v[1]!);
          return v.map((x) => x / n);
        });
      },
    };
    const model = await trainKnn(examples, { embedder });
    const p = model.predict(await model.embed("Prove it"), 8, 8);
    expect(p.goodEnough[0]).toBeLessThan(0.3);
    expect(() => KnnModel.fromJSON(JSON.stringify(model))).toThrow(/pass that embedder/);
    const loaded = KnnModel.fromJSON(JSON.stringify(model), { embedder });
    expect(loaded.predict(await loaded.embed("Prove it"), 8, 8)).toEqual(p);
  });

  it("featurizes only the first MAX_FEATURIZED_CHARS characters, in linear time", async () => {
    const model = await train();
    const huge = `${"capital ".repeat(MAX_FEATURIZED_CHARS / 8)}${"prove ".repeat(200_000)}`;
    const t0 = performance.now();
    const p = model.predict(model.featurize(huge), huge.length, 3);
    expect(performance.now() - t0).toBeLessThan(200);
    expect(p.goodEnough[0]).toBeGreaterThan(0.6); // judged by its beginning
  });

  it("searches a query by its heaviest words only (queryFeatures)", async () => {
    const model = await train();
    const text = "Prove the theorem by induction: translate the capital of France into a rigorous proof";
    const all = model.featurizer!.featurize(text);
    const top = model.featurizer!.featurize(text, 3);
    const heaviest = [...all.indices]
      .map((id, i) => [id, all.values[i]!] as const)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([id]) => id);
    expect([...top.indices].sort()).toEqual(heaviest.sort());
    expect(Math.hypot(...top.values)).toBeCloseTo(1, 6); // still a unit vector
  });

  it("checks its inputs", async () => {
    await expect(trainKnn([])).rejects.toThrow(/no examples/);
    await expect(trainKnn([{ prompt: "x", goodEnough: [] }])).rejects.toThrow(/no model names/);
    await expect(trainKnn(examples, { maxDocumentShare: 0 })).rejects.toThrow(/maxDocumentShare/);
    await expect(trainKnn(examples, { priorWeight: -1 })).rejects.toThrow(/priorWeight/);
    await expect(trainKnn(examples, { priorWeight: Number.NaN })).rejects.toThrow(/priorWeight/);
  });
});

describe("priorWeight: the vote pulled toward the base rates", () => {
  // Topics whose words tell nothing: in each, the small model was right on
  // every other prompt (noisy neighbourhoods, as in real routing data).
  const topics = ["invoice", "garden", "football", "recipe", "planet", "guitar"];
  const noisy = topics.flatMap((topic, t) =>
    Array.from({ length: 12 }, (_, i) => ({
      prompt: `question ${i} about the ${topic} number ${t * 12 + i}`,
      goodEnough: (i + t) % 2 === 0 ? [WEAK, STRONG_MODEL] : [STRONG_MODEL],
    })),
  );

  it("blends the neighbours' vote with the base rate, in units of similarity", async () => {
    const plain = await trainKnn(examples, { maxDocumentShare: 0.5, priorWeight: 0 });
    const pulled = await trainKnn(examples, { maxDocumentShare: 0.5, priorWeight: 2 });
    const hard0 = RECORDS.find((r) => r.id === "hard-0")!.prompt;
    const a = plain.predict(plain.featurize(hard0), hard0.length, 1);
    const b = pulled.predict(pulled.featurize(hard0), hard0.length, 1);
    expect(a.goodEnough[0]).toBe(1);
    // one neighbour at similarity 1 (itself) and the base rate 10/18 at weight 2
    expect(b.goodEnough[0]).toBeCloseTo((1 + 2 * (10 / 18)) / 3, 6);
    expect(pulled.priorWeight).toBe(2);
  });

  it("is fitted on the training labels (leave-one-out): small where neighbourhoods are pure", async () => {
    const model = await trainKnn(examples, { maxDocumentShare: 0.5 });
    expect(model.priorWeight).toBeLessThanOrEqual(0.5);
    expect(pWeak(model, "What is the capital of Peru?")).toBeGreaterThan(0.8);
  });

  it("is fitted large where labels are noise, so no prompt reads as certain", async () => {
    const model = await trainKnn(noisy, { models: [WEAK, STRONG_MODEL] });
    expect(model.priorWeight).toBe(PRIOR_WEIGHTS.at(-1));
    const p = pWeak(model, "question 3 about the garden number 15", 20);
    expect(p).toBeGreaterThan(0.3);
    expect(p).toBeLessThan(0.7);
  });

  it("reads a model saved without it as the plain vote", async () => {
    const pulled = await trainKnn(examples, { maxDocumentShare: 0.5, priorWeight: 2 });
    const { priorWeight: _, ...old } = pulled.toJSON();
    const loaded = KnnModel.fromJSON(old);
    const text = "What is the capital of Peru?";
    expect(loaded.predict(loaded.featurize(text), text.length, 3).goodEnough[0]).toBe(1);
  });
});

describe("costAware", () => {
  it("asks a costlier prompt for a larger expected gain before it goes up", () => {
    expect(costAware(0.8, 1, 1)).toBeCloseTo(0.8, 12);
    expect(costAware(0.8, 2, 1)).toBeCloseTo(0.9, 12); // twice the cost: half the doubt
    expect(costAware(0.8, 0.5, 1)).toBeCloseTo(0.6, 12);
    expect(costAware(0.8, 2, 0)).toBe(0.8);
  });
});

describe("routing data", () => {
  it("parses JSONL in the routing format", () => {
    expect(parseRoutingJsonl(`${JSONL}\n\n`)).toEqual(RECORDS);
  });

  it("names the line and the field of a bad record", () => {
    const bad = `${JSON.stringify(RECORDS[0])}\n{"id": "x", "prompt": "p", "outcomes": {"m": {"correct": "yes"}}}`;
    expect(() => parseRoutingJsonl(bad, "data.jsonl")).toThrow(
      /^data\.jsonl:2: record\.outcomes\.m\.correct/,
    );
    expect(() => parseRoutingJsonl("{oops", "d")).toThrow(/^d:1: not JSON/);
  });

  it("labels examples from outcomes, with output tokens from responses or the assumed count", () => {
    const [easy0] = examplesFromRouting(RECORDS, { assumedOutputTokens: 2 });
    expect(easy0).toEqual({ prompt: RECORDS[0]!.prompt, goodEnough: [WEAK, STRONG_MODEL], outputTokens: 2 });
    const hard1 = examplesFromRouting(RECORDS).find(
      (e) => e.prompt === RECORDS.find((r) => r.id === "hard-1")!.prompt,
    )!;
    expect(hard1.goodEnough).toEqual([STRONG_MODEL]);
    expect(hard1.outputTokens).toBeGreaterThan(10);
  });

  it("splits by a hash of the id: stable whatever the order", () => {
    const a = splitRecords(RECORDS, 0.5, 7);
    const b = splitRecords([...RECORDS].reverse(), 0.5, 7);
    expect(new Set(a.train.map((r) => r.id))).toEqual(new Set(b.train.map((r) => r.id)));
    expect(a.train.length + a.rest.length).toBe(RECORDS.length);
    expect(splitRecords(RECORDS, 0.5, 8).train.map((r) => r.id)).not.toEqual(a.train.map((r) => r.id));
  });
});

describe("examplesFromLedger", () => {
  const record = (id: string, prompt: unknown, model: string): CostRecord =>
    ({ id, model, prompt, usage: { outputTokens: 40 } }) as unknown as CostRecord;

  it("turns labelled records with a stored prompt into examples", () => {
    const records = [
      record("1", { messages: [{ role: "user", content: "Capital of Peru?" }] }, "gpt-4o-mini"),
      record(
        "2",
        { messages: [{ role: "user", content: [{ type: "text", text: "Prove it" }] }] },
        "gpt-4o-mini",
      ),
      record("3", undefined, "gpt-4o-mini"), // no stored prompt
      record("4", { messages: [{ role: "user", content: "Unlabelled" }] }, "gpt-4o-mini"),
    ];
    const verdicts: Record<string, boolean> = { "1": true, "2": false, "3": true };
    const out = examplesFromLedger(records, {
      label: (r) => (r.id in verdicts ? (verdicts[r.id] ? ["cheap", "strong"] : ["strong"]) : undefined),
    });
    expect(out).toEqual([
      { prompt: "Capital of Peru?", goodEnough: ["cheap", "strong"], outputTokens: 40 },
      { prompt: "Prove it", goodEnough: ["strong"], outputTokens: 40 },
    ]);
  });
});
