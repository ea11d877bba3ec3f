import { describe, expect, it } from "vitest";
import { ConfigError } from "../core/errors.js";
import { cachedEmbedder } from "./cached.js";
import { fitLocalIdf, LOCAL_THRESHOLD, localEmbedder } from "./local.js";

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe("localEmbedder", () => {
  const embedder = localEmbedder();

  it("gives unit vectors of its dimensions, the same for the same text in any call", async () => {
    const [a, b] = await embedder.embed(["How do I reset my router?", "How do I reset my router?"]);
    expect(a).toHaveLength(2048);
    expect(cosine(a!, a!)).toBeCloseTo(1, 5);
    expect([...a!]).toEqual([...b!]);
    expect([...localEmbedder().embedOne("How do I reset my router?")]).toEqual([...a!]);
  });

  it("gives the same vector synchronously, asynchronously and through the cache wrapper (C3)", async () => {
    const text = "What is the capital of France?";
    const [async] = await embedder.embed([text]);
    const [wrapped] = await cachedEmbedder(embedder).embed([text]);
    expect([...embedder.embedOne(text)]).toEqual([...async!]);
    expect([...wrapped!]).toEqual([...async!]);
  });

  it("ignores case, spacing and apostrophe style", () => {
    const a = embedder.embedOne("What’s the  capital of FRANCE?");
    const b = embedder.embedOne("what's the capital of france?");
    expect(cosine(a, b)).toBeCloseTo(1, 5);
  });

  it("scores rewordings above its threshold and unrelated questions far below", () => {
    const score = (x: string, y: string) => cosine(embedder.embedOne(x), embedder.embedOne(y));
    expect(score("How do I reset my router?", "How can I reset my router?")).toBeGreaterThan(LOCAL_THRESHOLD);
    expect(score("How do I reset my router?", "What is the best pizza in Naples?")).toBeLessThan(0.3);
  });

  it("is lexical, and says so: a synonym shares nothing", () => {
    expect(embedder.lexical).toBe(true);
    expect(cosine(embedder.embedOne("car"), embedder.embedOne("automobile"))).toBeLessThan(0.3);
  });

  it("gives an empty text a zero vector, not NaN", () => {
    const v = embedder.embedOne("?!");
    expect([...v].every((x) => x === 0)).toBe(true);
  });

  it("names its settings, so vectors of other settings live apart", () => {
    expect(localEmbedder().name).not.toBe(localEmbedder({ dimensions: 1024 }).name);
    const idf = fitLocalIdf(["how do I reset my router", "how do I bake bread"]);
    expect(localEmbedder({ idf }).name).toMatch(/-idf[0-9a-f]+$/);
  });

  it("weighs rare words more with a fitted IDF", () => {
    const corpus = Array.from({ length: 50 }, (_, i) => `how do I fix problem ${i}`);
    const withIdf = localEmbedder({ idf: fitLocalIdf(corpus), charWeight: 0, bigramWeight: 0 });
    const plain = localEmbedder({ charWeight: 0, bigramWeight: 0 });
    const pair = ["how do I fix the printer", "how do I fix the dishwasher"] as const;
    const s = (e: typeof plain) => cosine(e.embedOne(pair[0]), e.embedOne(pair[1]));
    expect(s(withIdf)).toBeLessThan(s(plain));
  });

  it.each([
    [{ dimensions: 1000 }, /options\.dimensions/],
    [{ dimensions: 32 }, /options\.dimensions/],
    [{ charWeight: -1 }, /options\.charWeight/],
    [{ idf: { documents: 3, counts: [1, 2] } }, /options\.idf\.counts/],
  ])("refuses %j, naming the option", (options, message) => {
    expect(() => localEmbedder(options as never)).toThrow(ConfigError);
    expect(() => localEmbedder(options as never)).toThrow(message);
  });
});
