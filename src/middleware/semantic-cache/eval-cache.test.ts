// The `frugal eval cache` command (src/cli/eval-cache.ts), on a small fixture of its own.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parsePairs, ratesAt, runEvalCache, scorePairs, splitOf } from "../../cli/eval-cache.js";
import { localEmbedder } from "../../embeddings/local.js";
import { constantEmbedder } from "./test-index.js";

const FIXTURE = [
  { id: "p1", a: "How do I reset my router?", b: "How can I reset my router?", duplicate: true },
  { id: "p2", a: "What is the capital of France?", b: "What's the capital of France?", duplicate: true },
  { id: "p3", a: "What is 2+2?", b: "What is 2+3?", duplicate: false },
  { id: "p4", a: "Is aspirin safe for children?", b: "Is aspirin not safe for children?", duplicate: false },
  { id: "p5", a: "How do I bake bread?", b: "How do I fix a bike?", duplicate: false },
  {
    id: "p6",
    a: "How do I learn Python?",
    b: "What is the quickest way to pick up Python programming?",
    duplicate: true,
  },
];
const lines = FIXTURE.map((p) => JSON.stringify(p)).join("\n");

describe("frugal eval cache", () => {
  it("counts hits on duplicates and false hits on non-duplicates, with and without the guards", async () => {
    const scored = await scorePairs(parsePairs(lines), constantEmbedder(), undefined);
    const r = ratesAt(scored, 0.9);
    // Everything scores 1 with the constant embedder: without guards every pair hits.
    expect(r).toMatchObject({ duplicates: 3, nonDuplicates: 3, hits: 3, falseHits: 3 });
    // The guards refuse the changed number and the negation; the unrelated pair shares nothing they read.
    expect(r.guardedFalseHits).toBe(1);
    expect(r.guardedHitRate).toBe(1);
  });

  it("prints both rates for a pairs file, and a sweep", async () => {
    const dir = mkdtempSync(join(tmpdir(), "frugal-eval-"));
    const file = join(dir, "pairs.jsonl");
    writeFileSync(file, `${lines}\n`);
    const out: string[] = [];
    const code = await runEvalCache(["--pairs", file, "--sweep"], (line) => out.push(line));
    const text = out.join("\n");
    expect(code).toBe(0);
    expect(text).toContain("6 pairs from pairs.jsonl, 3 duplicates, 3 non-duplicates");
    expect(text).toMatch(/without guards\s+\d+\.\d\d% \(\d\/3\)\s+\d+\.\d\d% \(\d\/3\)/);
    expect(text).toMatch(/with guards\s+66\.67% \(2\/3\)\s+0\.00% \(0\/3\)/);
    expect(text).toContain("threshold   hits");
  });

  it("refuses a malformed line, naming it, and bad options", async () => {
    expect(() => parsePairs('{"a": "x", "b": "y", "duplicate": true}\nnot json')).toThrow(/line 2/);
    expect(() => parsePairs('{"a": "x", "duplicate": true}')).toThrow(/line 1/);
    const errors: string[] = [];
    const quiet = (line: string) => void errors.push(line);
    expect(await runEvalCache(["--pairs", "x.jsonl", "--threshold", "0"], quiet, quiet)).toBe(2);
    expect(await runEvalCache([], quiet, quiet)).toBe(2);
    expect(errors.join("\n")).toMatch(/--threshold: expected a number with 0 < X <= 1/);
  });

  it("splits by a hash of the id, about one pair in five held out", () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `qqp-${i}`);
    const held = ids.filter((id) => splitOf(id) === "held-out").length;
    expect(held / ids.length).toBeGreaterThan(0.18);
    expect(held / ids.length).toBeLessThan(0.22);
    expect(splitOf("qqp-17")).toBe(splitOf("qqp-17"));
  });

  it("scores with the local embedder by default", async () => {
    const scored = await scorePairs(parsePairs(lines), localEmbedder());
    expect(scored[0]!.similarity).toBeGreaterThan(scored[4]!.similarity);
  });
});
