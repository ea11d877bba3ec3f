import { describe, expect, it } from "vitest";
import type { RequestContext } from "../core/context.js";
import { cachedEmbedder } from "./cached.js";
import type { Embedder } from "./embedder.js";
import { localEmbedder } from "./local.js";

function counting(): Embedder & { batches: string[][] } {
  const inner = localEmbedder();
  const batches: string[][] = [];
  return {
    name: inner.name,
    dimensions: inner.dimensions,
    batches,
    async embed(texts) {
      batches.push([...texts]);
      return inner.embed(texts);
    },
  };
}
const tenant = (t: string) => ({ request: { metadata: { tenant: t } } }) as unknown as RequestContext;

describe("cachedEmbedder", () => {
  it("embeds identical text once, within a batch and across calls", async () => {
    const inner = counting();
    const embedder = cachedEmbedder(inner);
    const [a, b] = await embedder.embed(["hello world", "hello world"]);
    const [c, d] = await embedder.embed(["hello world", "goodbye"]);
    expect(inner.batches).toEqual([["hello world"], ["goodbye"]]);
    expect([...a!]).toEqual([...b!]);
    expect([...c!]).toEqual([...a!]);
    expect(d).toHaveLength(inner.dimensions);
  });

  it("returns copies: a caller that changes a vector does not change the cache", async () => {
    const embedder = cachedEmbedder(counting());
    const [a] = await embedder.embed(["hello"]);
    a!.fill(0);
    const [b] = await embedder.embed(["hello"]);
    expect(b!.some((x) => x !== 0)).toBe(true);
  });

  it("is bounded: the least recently used vector goes first", async () => {
    const inner = counting();
    const embedder = cachedEmbedder(inner, { max: 2 });
    await embedder.embed(["a1"]);
    await embedder.embed(["b2"]);
    await embedder.embed(["c3"]);
    await embedder.embed(["a1"]);
    expect(inner.batches.flat()).toEqual(["a1", "b2", "c3", "a1"]);
  });

  it("keeps each tenant's vectors to itself unless told to share (S1)", async () => {
    const inner = counting();
    const embedder = cachedEmbedder(inner);
    await embedder.embed(["hello"], tenant("a"));
    await embedder.embed(["hello"], tenant("b"));
    expect(inner.batches).toHaveLength(2);
    const sharedInner = counting();
    const shared = cachedEmbedder(sharedInner, { shareAcrossTenants: true });
    await shared.embed(["hello"], tenant("a"));
    await shared.embed(["hello"], tenant("b"));
    expect(sharedInner.batches).toHaveLength(1);
  });

  it("keeps the inner embedder's name, dimensions and advice", () => {
    const local = localEmbedder();
    const embedder = cachedEmbedder(local);
    expect(embedder).toMatchObject({
      name: local.name,
      dimensions: 2048,
      recommendedThreshold: local.recommendedThreshold,
      lexical: true,
    });
  });

  it("refuses options out of range, naming them", () => {
    expect(() => cachedEmbedder(counting(), { max: 0 })).toThrow(/options\.max/);
  });
});
