import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runRouterEval, runRouterTrain } from "../../cli/router.js";
import { KnnModel } from "./index.js";
import { JSONL, STRONG_MODEL, WEAK } from "./knn/fixture.js";

const dir = mkdtempSync(join(tmpdir(), "frugal-router-cli-"));
const data = join(dir, "routing.jsonl");
writeFileSync(data, JSONL);
const prices = ["--price", `${WEAK}=openai:gpt-4o-mini`, "--price", `${STRONG_MODEL}=openai:gpt-4o`];

async function run(fn: typeof runRouterTrain, argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await fn(
    argv,
    (l) => out.push(l),
    (l) => err.push(l),
  );
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("frugal router train / eval", () => {
  it("trains on a split and evaluates on the records it did not see", async () => {
    const model = join(dir, "knn.json");
    const train = await run(runRouterTrain, [
      "--data",
      data,
      "--out",
      model,
      "--weak",
      WEAK,
      "--strong",
      STRONG_MODEL,
      "--split",
      "0.6",
      "--seed",
      "3",
      "--max-share",
      "0.5",
    ]);
    expect(train.err).toBe("");
    expect(train.code).toBe(0);
    expect(train.out).toMatch(/^trained on \d+ of 18 records \(split 0\.6, seed 3\): small-model \(cheap\)/);
    expect(train.out).toMatch(/; prior weight [\d.]+ \(fitted\)\n/);
    const saved = KnnModel.fromJSON(readFileSync(model, "utf8"));
    expect(saved.models).toEqual([WEAK, STRONG_MODEL]);
    expect(saved.meta).toMatchObject({ split: 0.6, seed: 3, weak: WEAK, strong: STRONG_MODEL });

    const evaluated = await run(runRouterEval, ["--model", model, "--data", data, "--k", "3", ...prices]);
    expect(evaluated.err).toBe("");
    expect(evaluated.code).toBe(0);
    const trained = saved.size;
    expect(evaluated.out).toContain(
      `on ${18 - trained} of 18 records (${trained} seen in training left out)`,
    );
    expect(evaluated.out).toContain(
      "prices: small-model as openai:gpt-4o-mini, large-model as openai:gpt-4o",
    );
    for (const source of ["easy", "hard", "overall"])
      expect(evaluated.out).toMatch(new RegExp(`^${source} \\(\\d+ prompts\\)`, "m"));
    expect(evaluated.out).toContain("threshold  to strong  cost vs all-strong  accuracy vs all-strong");
    expect(evaluated.out).toMatch(/cost reduction at 95% of large-model's accuracy: \d+\.\d%/);
  });

  it("explains what is missing or wrong, with exit code 2", async () => {
    expect((await run(runRouterTrain, [])).code).toBe(2);
    expect((await run(runRouterTrain, ["--data", data, "--out", "x", "--split", "2"])).err).toContain(
      "--split",
    );
    expect(
      (await run(runRouterTrain, ["--data", data, "--out", "x", "--prior-weight", "lots"])).err,
    ).toContain('--prior-weight: a number >= 0 or "auto"');
    expect((await run(runRouterEval, ["--data", data])).err).toContain(
      "--model MODEL and --data FILE are required",
    );
    expect((await run(runRouterEval, ["--model", "m", "--data", data, "--price", "oops"])).err).toContain(
      "NAME=provider:model",
    );
    expect((await run(runRouterTrain, ["--help"])).out).toContain("usage: frugal router train");
  });

  it("fails with exit code 1 and a clear message on unpriced models or bad data", async () => {
    const model = join(dir, "knn2.json");
    await run(runRouterTrain, [
      "--data",
      data,
      "--out",
      model,
      "--weak",
      WEAK,
      "--strong",
      STRONG_MODEL,
      "--split",
      "0.6",
    ]);
    const unpriced = await run(runRouterEval, ["--model", model, "--data", data]);
    expect(unpriced.code).toBe(1);
    expect(unpriced.err).toContain(`--price ${WEAK}=provider:model`);
    const bad = join(dir, "bad.jsonl");
    writeFileSync(bad, '{"id": 1}\n');
    const parsed = await run(runRouterTrain, ["--data", bad, "--out", model]);
    expect(parsed.code).toBe(1);
    expect(parsed.err).toMatch(/bad\.jsonl:1: record\.prompt/);
    const unnamed = await run(runRouterTrain, ["--data", data, "--out", model]);
    expect(unnamed.err).toContain("name them with --weak and --strong");
  });
});
