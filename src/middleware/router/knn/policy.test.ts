import { beforeAll, describe, expect, it } from "vitest";
import { useFakes } from "../../../../test/fakes/index.js";
import { ConfigError } from "../../../core/errors.js";
import { knn } from "../index.js";
import { auto, CHEAP, MID, routedClient, STRONG } from "../test-client.js";
import { examplesFromRouting } from "./examples.js";
import { RECORDS, STRONG_MODEL, WEAK } from "./fixture.js";
import type { KnnModel } from "./model.js";
import { trainKnn } from "./train.js";

const fakes = useFakes();
let model: KnnModel;
beforeAll(async () => {
  model = await trainKnn(examplesFromRouting(RECORDS), { maxDocumentShare: 0.5, priorWeight: 0 });
});
const labels = { cheap: WEAK, strong: STRONG_MODEL };
const setup = (options: Partial<Parameters<typeof knn>[0]> = {}) =>
  routedClient(fakes(), {
    policies: [knn({ model, k: 3, labels, costWeight: 0, threshold: 0.75, ...options })],
  });

describe("knn: the learned router", () => {
  it("sends a prompt like those the cheap model answered well to the cheap tier", async () => {
    const c = setup();
    const res = await c.llm.chat(auto("What is the capital of Peru?"));
    expect(c.calledModels()).toEqual([CHEAP.model]);
    expect(res.meta.state.route?.reason).toMatch(/^knn: cheap good enough 1\.00 >= 0\.75 \(3 neighbours\)$/);
    expect(res.meta.state.route?.scores).toMatchObject({
      "knn.cheap": 1,
      "knn.cheap.p": 1,
      "knn.threshold": 0.75,
      "knn.neighbours": 3,
    });
    expect(c.records[0]!.route).toEqual(res.meta.state.route);
  });

  it("sends a prompt like those only the strong model answered to the strong tier", async () => {
    const c = setup();
    const res = await c.llm.chat(auto("Prove this theorem by induction, rigorously"));
    expect(c.calledModels()).toEqual([STRONG.model]);
    expect(res.meta.state.route?.reason).toBe("knn: no cheaper tier reaches 0.75 (3 neighbours)");
    expect(res.meta.state.route?.scores?.["knn.cheap"]).toBeLessThan(0.3);
  });

  it("trades cost for quality with the threshold, per task if asked", async () => {
    const c = routedClient(fakes(), {
      policies: [knn({ model, k: 3, labels, costWeight: 0, threshold: 0, thresholdByTask: { proofs: 1 } })],
    });
    await c.llm.chat(auto("Prove this theorem by induction, rigorously"));
    await c.llm.chat(auto("What is the capital of Peru?", { metadata: { task: "proofs" } })); // all neighbours agree
    await c.llm.chat(auto("Prove this theorem by induction, rigorously", { metadata: { task: "proofs" } }));
    expect(c.decisions.map((d) => d.tier)).toEqual(["cheap", "cheap", "strong"]);
  });

  it("makes a costly prompt earn its way up (costWeight)", async () => {
    const easyButLong = `Translate into German: ${"the green house by the river ".repeat(60)}`;
    const plain = setup({ threshold: 0.95 });
    const aware = setup({ threshold: 0.95, costWeight: 1 });
    const [a, b] = [await plain.llm.chat(auto(easyButLong)), await aware.llm.chat(auto(easyButLong))];
    expect(a.meta.state.route?.scores?.["knn.relativeCost"]).toBeGreaterThan(5);
    expect(b.meta.state.route?.scores?.["knn.cheap"]).toBeGreaterThan(
      a.meta.state.route!.scores!["knn.cheap"]!,
    );
  });

  it("abstains on a prompt unlike any example, and the default tier serves it", async () => {
    const c = setup();
    const res = await c.llm.chat(auto("zzz qqq"));
    expect(res.meta.state.route?.reason).toBe("default tier");
    const strict = setup({ minSimilarity: 0.99 });
    const r2 = await strict.llm.chat(auto("What is the capital of Peru?"));
    expect(r2.meta.state.route?.reason).toBe("default tier");
  });

  it("matches tiers to the model's labels by model name when no labels are given", async () => {
    const named = await trainKnn(
      examplesFromRouting(RECORDS).map((e) => ({
        ...e,
        goodEnough: e.goodEnough.map((m) => (m === WEAK ? "gpt-4o-mini" : "claude-sonnet-4-6")),
      })),
      { maxDocumentShare: 0.5, models: ["gpt-4o-mini", "claude-sonnet-4-6"] },
    );
    const c = routedClient(fakes(), {
      tiers: [CHEAP, MID, STRONG],
      policies: [knn({ model: named, k: 3, costWeight: 0 })],
    });
    await c.llm.chat(auto("What is the capital of Peru?"));
    await c.llm.chat(auto("Prove this theorem by induction, rigorously"));
    // mid has no label: the model only chooses between the tiers it knows.
    expect(c.decisions.map((d) => d.tier)).toEqual(["cheap", "strong"]);
  });

  it("checks its options", () => {
    expect(() => knn({ model, labels: { cheap: "nope" } })).toThrow(
      /labels\.cheap: the model knows no "nope"/,
    );
    expect(() => knn({ model, threshold: 2 })).toThrow(ConfigError);
    expect(() => knn({ model, k: 0 })).toThrow(/options\.k/);
  });
});
