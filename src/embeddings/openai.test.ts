import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeServer, embed as fakeEmbed, startFakeOpenAI } from "../../test/fakes/index.js";
import { createClient } from "../client.js";
import type { Attempt } from "../core/completion.js";
import type { CostRecord } from "../core/cost-record.js";
import { ConfigError, RateLimitError } from "../core/errors.js";
import { costTracker } from "../middleware/cost-tracker/index.js";
import { semanticCache } from "../middleware/semantic-cache/index.js";
import { mapVectorIndex } from "../middleware/semantic-cache/test-index.js";
import { priceBook } from "../pricing/price-book.js";
import { openai } from "../providers/openai/index.js";
import { memoryKv } from "../storage/memory/kv.js";
import type { EmbedderAdvice } from "./advice.js";
import { cachedEmbedder } from "./cached.js";
import type { Embedder } from "./embedder.js";
import { OPENAI_THRESHOLD, openaiEmbedder } from "./openai.js";

let fo: FakeServer;
beforeAll(async () => {
  fo = await startFakeOpenAI();
});
afterAll(async () => {
  await fo.close();
});
beforeEach(() => fo.reset());

const sdk = () => new OpenAI({ apiKey: "sk-test-embeddings", baseURL: fo.baseURL, maxRetries: 0 });
const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

function client(embedder: Embedder & EmbedderAdvice = openaiEmbedder(sdk())) {
  const records: CostRecord[] = [];
  const attempts: Attempt[] = [];
  const cache = semanticCache({
    embedder,
    index: mapVectorIndex(),
    store: memoryKv(),
    policyVersion: "1",
    ttlMs: 60_000,
    onError: () => {},
  });
  const llm = createClient({
    providers: { openai: openai(sdk()) },
    // The price library lists embedding models with an input price only; priced here by an override.
    prices: priceBook({ overrides: { "openai:text-embedding-3-small": { input: 0.02, output: 0 } } }),
    middleware: [costTracker({ onRecord: (r) => records.push(r) }), cache],
  });
  llm.on("attempt", ({ attempt }) => attempts.push(attempt));
  return { llm, records, attempts };
}
const ask = (content: string) => ({
  model: "openai:gpt-4o-mini",
  messages: [{ role: "user" as const, content }],
  metadata: { tenant: "acme" },
});

describe("openaiEmbedder", () => {
  it("embeds through the host's SDK, in order, as unit vectors", async () => {
    const embedder = openaiEmbedder(sdk());
    const vectors = await embedder.embed(["first text", "second text"]);
    expect(vectors).toHaveLength(2);
    expect([...vectors[0]!].map((x) => Number(x.toFixed(5)))).toEqual(
      fakeEmbed("first text").map((x) => Number(x.toFixed(5))),
    );
    expect(cosine(vectors[1]!, vectors[1]!)).toBeCloseTo(1, 5);
    expect(fo.requests[0]!.path).toBe("/v1/embeddings");
    expect(fo.requests[0]!.body).toMatchObject({
      model: "text-embedding-3-small",
      input: ["first text", "second text"],
    });
    expect(embedder).toMatchObject({
      name: "openai:text-embedding-3-small",
      dimensions: 1536,
      recommendedThreshold: OPENAI_THRESHOLD,
    });
  });

  it("sends the dimensions it was asked for, and batches long inputs", async () => {
    const embedder = openaiEmbedder(sdk(), { dimensions: 256, batchSize: 2 });
    await embedder.embed(["a", "b", "c"]);
    expect(fo.requests.map((r) => r.body.input)).toEqual([["a", "b"], ["c"]]);
    expect(fo.requests[0]!.body.dimensions).toBe(256);
    expect(embedder.name).toBe("openai:text-embedding-3-small-d256");
  });

  it("records its call as a priced side call in the request's cost record (through the cost tracker)", async () => {
    const { llm, records, attempts } = client();
    await llm.chat(ask("How do I reset my router?"));
    const record = records[0]!;
    const embedding = record.attempts.find((a) => a.label === "embedding")!;
    expect(embedding).toMatchObject({
      purpose: "side-call",
      provider: "openai",
      model: "text-embedding-3-small",
      status: "ok",
    });
    expect(embedding.usage?.inputTokens).toBeGreaterThan(0);
    expect(embedding.cost).toMatchObject({ priced: true });
    expect(embedding.cost!.priced && embedding.cost!.usd).toBeCloseTo(
      (embedding.usage!.inputTokens * 0.02) / 1e6,
      12,
    );
    const primary = record.attempts.find((a) => a.purpose === "primary")!;
    expect(record.cost.usd).toBeCloseTo((embedding.cost!.usd ?? 0) + (primary.cost!.usd ?? 0), 12);
    expect(attempts.map((a) => a.label ?? a.purpose)).toEqual(["embedding", "primary"]);
  });

  it("a hit costs only its embedding, and reports its similarity", async () => {
    const { llm, records } = client();
    await llm.chat(ask("How do I reset my router?"));
    await new Promise((r) => setTimeout(r, 10));
    const hit = await llm.chat(ask("How do I reset my router?"));
    expect(hit.meta.state.cache).toMatchObject({
      status: "hit",
      kind: "semantic",
      similarity: expect.closeTo(1, 5),
    });
    const record = records[1]!;
    expect(record.attempts.map((a) => a.label)).toEqual(["embedding"]);
    expect(record.cache?.similarity).toBeCloseTo(1, 5);
    expect(record.cost.usd).toBe(record.attempts[0]!.cost!.usd);
  });

  it("embeds an identical text once when wrapped in cachedEmbedder", async () => {
    const { llm, records } = client(cachedEmbedder(openaiEmbedder(sdk())));
    await llm.chat(ask("How do I reset my router?"));
    await new Promise((r) => setTimeout(r, 10));
    await llm.chat(ask("How do I reset my router?"));
    expect(fo.requests.filter((r) => r.path === "/v1/embeddings")).toHaveLength(1);
    expect(records[1]!.attempts).toEqual([]);
  });

  it("a failed embedding call is an attempt with its error, and the request goes on as a miss", async () => {
    const { llm, records } = client();
    fo.enqueue({ kind: "error", status: 429 });
    const completion = await llm.chat(ask("How do I reset my router?"));
    expect(completion.meta.state.cache?.status).toBe("miss");
    expect(records[0]!.attempts[0]).toMatchObject({
      label: "embedding",
      status: "error",
      error: { name: "RateLimitError", status: 429 },
    });
  });

  it("throws the library's typed errors when called directly", async () => {
    fo.enqueue({ kind: "error", status: 429 });
    await expect(openaiEmbedder(sdk()).embed(["x"])).rejects.toBeInstanceOf(RateLimitError);
  });

  it("asks for dimensions when the model is unknown, naming the option", () => {
    expect(() => openaiEmbedder(sdk(), { model: "my-embedder" })).toThrow(ConfigError);
    expect(() => openaiEmbedder(sdk(), { model: "my-embedder" })).toThrow(/options\.dimensions/);
  });
});
