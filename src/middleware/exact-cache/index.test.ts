import OpenAI from "openai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { Stream } from "openai/streaming";
import { describe, expect, expectTypeOf, it } from "vitest";
import { useFakes } from "../../../test/fakes/index.js";
import { parseEntry } from "../../caching/entry.js";
import { wrapOpenAI } from "../../compat/openai/index.js";
import { StreamAssembler } from "../../core/assemble.js";
import { ConfigError, ProviderError } from "../../core/errors.js";
import type { Middleware } from "../../core/middleware.js";
import { completedReply } from "../../core/reply.js";
import type { ChatRequestInput } from "../../core/request.js";
import type { KeyValueStore } from "../../storage/kv.js";
import { memoryKv } from "../../storage/memory/kv.js";
import { fallback } from "../fallback/index.js";
import { retry } from "../retry/index.js";
import { type ExactCacheOptions, exactCache, requestKey } from "./index.js";
import { ask, readStream, recording, settle, testClient } from "./test-client.js";

const fakes = useFakes();

function setup(options: Partial<ExactCacheOptions> = {}, below: Middleware[] = []) {
  const store = recording(options.store ?? memoryKv());
  const cache = exactCache({ ...options, store });
  return {
    ...testClient({ openai: fakes().openai, anthropic: fakes().anthropic }, [cache, ...below]),
    cache,
    store,
  };
}
const acme = (content?: string, extra: Partial<ChatRequestInput> = {}) =>
  ask(content, { ...extra, metadata: { tenant: "acme", ...extra.metadata } });

describe("exactCache: hits", () => {
  it("serves an identical request from the store, with no provider call", async () => {
    const { llm } = setup();
    const first = await llm.chat(acme());
    const second = await llm.chat(acme());
    expect(fakes().openai.requests).toHaveLength(1);
    expect(second.text).toBe(first.text);
    expect(second.meta.state.cache).toMatchObject({ status: "hit", kind: "exact" });
    expect(second.meta.requestId).not.toBe(first.meta.requestId);
    expect(second.meta.attempts).toEqual([]);
    expect(first.meta.state.cache).toEqual({ status: "miss", kind: "exact" });
  });

  it("costs $0 in the cost record and records the original cost as saved", async () => {
    const { llm, records } = setup();
    fakes().openai.enqueue({ kind: "text", text: "Paris.", usage: { input: 1200, output: 300 } });
    await llm.chat(acme());
    const hit = await llm.chat(acme());
    const [miss, served] = records as [(typeof records)[0], (typeof records)[0]];
    expect(miss.cost.usd).toBeGreaterThan(0);
    expect(served.cost).toMatchObject({ priced: true, usd: 0 });
    expect(served.attempts).toEqual([]);
    expect(served.savingsUsd).toBeCloseTo(miss.cost.usd!, 12);
    expect(served.cache).toMatchObject({ status: "hit", kind: "exact", saved: { cost: miss.cost } });
    expect(hit.cost.usd).toBe(0);
    expect(hit.usage).toEqual(miss.usage);
  });

  it("shares answers between an alias and the model it names", async () => {
    const store = memoryKv();
    const { llm } = setup({ store });
    await llm.chat(acme("Hi", { model: "gpt-4o-mini" }));
    await llm.chat(acme("Hi", { model: "openai:gpt-4o-mini" }));
    expect(fakes().openai.requests).toHaveLength(1);
  });

  it("still hits when only metadata tags, user or priority change", async () => {
    const { llm } = setup();
    await llm.chat(acme("Hi", { metadata: { tenant: "acme", tags: ["a"] } }));
    const hit = await llm.chat(
      acme("Hi", { metadata: { tenant: "acme", tags: ["b", "c"], user: "u2", priority: "deferrable" } }),
    );
    expect(fakes().openai.requests).toHaveLength(1);
    expect(hit.meta.state.cache?.status).toBe("hit");
  });

  it("keeps the entry's provenance: tenant, model, time, request id, policy version", async () => {
    const { llm, store, cache } = setup({ policyVersion: "2024-06" });
    const before = Date.now();
    const first = await llm.chat(acme());
    await settle();
    const key = first.meta.state.exactCacheKey!;
    expect(key).toMatch(/^frugal:x:\{t%3Aacme\}:2024-06:[0-9a-f]{64}$/);
    const entry = parseEntry(await store.get(key))!;
    expect(entry.provenance).toMatchObject({
      tenant: "t:acme",
      provider: "openai",
      model: "gpt-4o-mini",
      requestId: first.meta.requestId,
      policyVersion: "2024-06",
    });
    expect(Date.parse(entry.provenance.storedAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(entry.completion).not.toHaveProperty("meta");
    expect(entry.completion).not.toHaveProperty("raw");
    expect(entry.completion.text).toBe(first.text);
    expect(cache.name).toBe("exactCache");
  });
});

describe("exactCache: tenant scoping and policy versions (C1, S1)", () => {
  it("never serves one tenant's answer to another", async () => {
    const { llm } = setup();
    fakes().openai.enqueue(
      { kind: "text", text: "Your balance is $5,432." },
      { kind: "text", text: "Your balance is $12." },
    );
    const a = await llm.chat(acme("What is my account balance?"));
    const b = await llm.chat(ask("What is my account balance?", { metadata: { tenant: "globex" } }));
    expect(fakes().openai.requests).toHaveLength(2);
    expect(b.text).toBe("Your balance is $12.");
    expect(b.meta.state.cache?.status).toBe("miss");
    expect(a.text).toBe("Your balance is $5,432.");
  });

  it("never serves a tenant's answer to a request without a tenant, nor the reverse", async () => {
    const { llm } = setup();
    await llm.chat(acme("Hi"));
    await llm.chat(ask("Hi"));
    await llm.chat(acme("Bye"));
    await llm.chat(ask("Bye"));
    expect(fakes().openai.requests).toHaveLength(4);
    const hit = await llm.chat(ask("Hi"));
    expect(hit.meta.state.cache?.status).toBe("hit");
  });

  it('keeps tenant ids "-" and "*" apart from the untenanted and the shared scopes', async () => {
    const { llm } = setup();
    await llm.chat(ask("Hi"));
    const dash = await llm.chat(ask("Hi", { metadata: { tenant: "-" } }));
    const star = await llm.chat(ask("Hi", { metadata: { tenant: "*" } }));
    expect(fakes().openai.requests).toHaveLength(3);
    expect(dash.meta.state.cache?.status).toBe("miss");
    expect(star.meta.state.cache?.status).toBe("miss");
    expect((await llm.chat(ask("Hi", { metadata: { tenant: "-" } }))).meta.state.cache?.status).toBe("hit");
  });

  it("a tenant id cannot spell another tenant's key prefix", async () => {
    const { llm } = setup();
    await llm.chat(acme("Hi"));
    await llm.chat(ask("Hi", { metadata: { tenant: "acme}:" } }));
    expect(fakes().openai.requests).toHaveLength(2);
  });

  it("does not serve an entry across policy versions", async () => {
    const store = memoryKv();
    const v1 = setup({ store, policyVersion: "1" });
    const v2 = setup({ store, policyVersion: "2" });
    await v1.llm.chat(acme());
    const other = await v2.llm.chat(acme());
    expect(fakes().openai.requests).toHaveLength(2);
    expect(other.meta.state.cache?.status).toBe("miss");
    expect((await v1.llm.chat(acme())).meta.state.cache?.status).toBe("hit");
  });

  it("a shared cache serves every tenant, but never personalized or tool-derived requests", async () => {
    const { llm } = setup({ shared: true });
    await llm.chat(acme("Hi"));
    const other = await llm.chat(ask("Hi", { metadata: { tenant: "globex" } }));
    expect(other.meta.state.cache?.status).toBe("hit");
    const personal = await llm.chat(ask("Hi", { metadata: { tenant: "globex", user: "u1" } }));
    expect(personal.meta.state.cache?.status).toBe("bypass");
    expect(fakes().openai.requests).toHaveLength(2);
  });
});

describe("exactCache: the key holds every answer-changing field (C4)", () => {
  const changes: [string, Partial<ChatRequestInput>][] = [
    ["system", { system: "Answer in French." }],
    ["tools", { tools: [{ name: "lookup", parameters: { type: "object", properties: {} } }] }],
    [
      "tool choice",
      {
        tools: [{ name: "lookup", parameters: { type: "object" } }],
        toolChoice: { type: "tool", name: "lookup" },
      },
    ],
    ["response format", { responseFormat: { type: "json" } }],
    ["temperature", { temperature: 0.4 }],
    ["temperature 0 (vs omitted)", { temperature: 0 }],
    ["top_p", { topP: 0.5 }],
    ["seed", { seed: 7 }],
    ["max tokens", { maxOutputTokens: 64 }],
    ["stop", { stop: ["END"] }],
    ["reasoning effort", { reasoning: { effort: "low" } }],
    ["reasoning budget", { reasoning: { budgetTokens: 1024 } }],
    ["providerOptions frequency_penalty", { providerOptions: { openai: { frequency_penalty: 0.2 } } }],
    ["providerOptions base URL", { providerOptions: { openai: { base_url: "https://eu.example/v1" } } }],
    ["model", { model: "openai:gpt-4o" }],
    ["message", { messages: [{ role: "user", content: "What is the capital of Italy?" }] }],
  ];

  it.each(changes)("misses when only %s changes", async (_name, change) => {
    const { llm } = setup();
    await llm.chat(acme());
    const changed = await llm.chat({ ...acme(), ...change });
    expect(changed.meta.state.cache?.status).toBe("miss");
    expect(fakes().openai.requests).toHaveLength(2);
    const again = await llm.chat({ ...acme(), ...change });
    expect(again.meta.state.cache?.status).toBe("hit");
  });
});

describe("exactCache: nothing incomplete or failed is stored (C5)", () => {
  async function expectNothingStored(s: ReturnType<typeof setup>) {
    await settle();
    expect(s.store.sets).toEqual([]);
    const before = fakes().openai.requests.length;
    await s.llm.chat(acme());
    expect(fakes().openai.requests.length).toBe(before + 1);
  }

  it("a stream cut mid-delta", async () => {
    const s = setup();
    fakes().openai.enqueue({ kind: "truncated-stream", afterDeltas: 2, text: "one two three four" });
    await expect(s.llm.stream(acme()).finalCompletion()).rejects.toThrow();
    await expectNothingStored(s);
  });

  it("a body cut short (non-streamed)", async () => {
    const s = setup();
    fakes().openai.enqueue({ kind: "truncated-stream", afterDeltas: 2 });
    await expect(s.llm.chat(acme())).rejects.toThrow();
    await expectNothingStored(s);
  });

  it("an answer cut at the token limit (no natural finish)", async () => {
    const s = setup();
    fakes().openai.enqueue({ kind: "text", text: "The capital of", finishReason: "length" });
    expect((await s.llm.chat(acme())).finishReason).toBe("length");
    await expectNothingStored(s);
  });

  it("a 500", async () => {
    const s = setup();
    fakes().openai.enqueue({ kind: "error", status: 500 });
    await expect(s.llm.chat(acme())).rejects.toBeInstanceOf(ProviderError);
    await expectNothingStored(s);
  });

  it("a content_filter finish", async () => {
    const s = setup();
    fakes().openai.enqueue({ kind: "text", text: "I", finishReason: "content_filter" });
    expect((await s.llm.stream(acme()).finalCompletion()).finishReason).toBe("content-filter");
    await expectNothingStored(s);
  });

  it("an empty body", async () => {
    const s = setup();
    fakes().openai.enqueue({ kind: "text", text: "" });
    expect((await s.llm.chat(acme())).text).toBe("");
    await expectNothingStored(s);
  });

  it("a refusal", async () => {
    const s = setup();
    fakes().openai.enqueue({ kind: "refusal", text: "I can't help with that." });
    expect((await s.llm.chat(acme())).refusal).toBe("I can't help with that.");
    await expectNothingStored(s);
  });

  it("a client abort mid-stream", async () => {
    const s = setup();
    fakes().openai.enqueue({ kind: "stall", afterDeltas: 2, text: "one two three four" });
    const controller = new AbortController();
    const stream = s.llm.stream(acme(), { signal: controller.signal });
    await expect(
      (async () => {
        for await (const event of stream) if (event.type === "text-delta") controller.abort();
      })(),
    ).rejects.toThrow();
    await expect(stream.completion).rejects.toThrow();
    await expectNothingStored(s);
  });

  it("a reader that stops before the end", async () => {
    const s = setup();
    fakes().openai.enqueue({ kind: "text", text: "one two three four five six" });
    const stream = s.llm.stream(acme());
    for await (const event of stream) if (event.type === "text-delta") break;
    await expect(stream.completion).rejects.toThrow();
    await expectNothingStored(s);
  });

  it("a request that says metadata.cache: false, or runs hotter than the limit", async () => {
    const s = setup({ admission: { maxTemperature: 0.7 } });
    const off = await s.llm.chat(acme("Hi", { metadata: { tenant: "acme", cache: false } }));
    const hot = await s.llm.chat(acme("Hi", { temperature: 0.9 }));
    const omitted = await s.llm.chat(acme("Hi")); // the provider's default, 1, is above 0.7 too
    expect([off, hot, omitted].map((c) => c.meta.state.cache?.status)).toEqual([
      "bypass",
      "bypass",
      "bypass",
    ]);
    await settle();
    expect(s.store.sets).toEqual([]);
  });

  it("a conversation holding the result of a side-effect tool", async () => {
    const s = setup({ admission: { sideEffectTools: ["charge_card"] } });
    const request = acme("Done?", {
      messages: [
        { role: "user", content: "Charge me" },
        {
          role: "assistant",
          content: [{ type: "tool-call", id: "c1", name: "charge_card", arguments: "{}" }],
        },
        { role: "tool", content: [{ type: "tool-result", toolCallId: "c1", content: "charged $10" }] },
      ],
    });
    await s.llm.chat(request);
    await s.llm.chat(request);
    expect(fakes().openai.requests).toHaveLength(2);
  });

  it("stores a streamed answer only once it finished, and then serves it", async () => {
    const s = setup();
    const stream = s.llm.stream(acme());
    let events = 0;
    for await (const _ of stream) {
      events++;
      expect(s.store.sets).toEqual([]);
    }
    await settle();
    expect(events).toBeGreaterThan(2);
    expect(s.store.sets).toHaveLength(1);
    expect((await s.llm.chat(acme())).meta.state.cache?.status).toBe("hit");
  });
});

describe("exactCache: what it never serves or stores", () => {
  it("does not store a fallback model's answer under the requested model's key; a fallback listed above it stores under its own", async () => {
    const haiku = "anthropic:claude-haiku-4-5";
    const chain = () => fallback({ chain: [haiku], breaker: false });
    // fallback below the cache: gpt-4o-mini fails, Claude answers, nothing is stored for gpt-4o-mini.
    const below = setup({}, [chain(), retry({ maxAttempts: 1 })]);
    fakes().openai.enqueue({ kind: "error", status: 500 });
    fakes().anthropic.enqueue({ kind: "text", text: "from claude" });
    expect((await below.llm.chat(acme("Hi"))).text).toBe("from claude");
    await settle();
    expect(below.store.sets).toEqual([]);
    fakes().openai.enqueue({ kind: "text", text: "from gpt" });
    expect((await below.llm.chat(acme("Hi"))).text).toBe("from gpt"); // asked again, once it is back
    // fallback above the cache: the cache is asked for Claude itself, and stores its answer as Claude's.
    const store = recording(memoryKv());
    const above = testClient({ openai: fakes().openai, anthropic: fakes().anthropic }, [
      chain(),
      exactCache({ store }),
      retry({ maxAttempts: 1 }),
    ]);
    fakes().openai.enqueue({ kind: "error", status: 500 });
    fakes().anthropic.enqueue({ kind: "text", text: "from claude" });
    await above.llm.chat(acme("Hi"));
    await settle();
    expect(store.sets).toHaveLength(1);
  });

  it("an answer that a cache listed below it served", async () => {
    const below: Middleware = {
      name: "semantic-stub",
      async handle(ctx, next) {
        const reply = await next(ctx);
        const completion = await reply.completion;
        ctx.state.cache = { status: "hit", kind: "semantic", similarity: 0.97 };
        return completedReply(completion, ctx.request.stream === true);
      },
    };
    const store = recording(memoryKv());
    const { llm } = testClient({ openai: fakes().openai }, [exactCache({ store }), below]);
    await llm.chat(acme());
    await settle();
    expect(store.sets).toEqual([]);
  });

  it("a malformed entry: a miss, then overwritten", async () => {
    const { llm, store } = setup();
    const first = await llm.chat(acme());
    await settle();
    await store.set(first.meta.state.exactCacheKey!, "{not json", 60_000);
    const second = await llm.chat(acme());
    expect(second.meta.state.cache?.status).toBe("miss");
    expect(fakes().openai.requests).toHaveLength(2);
    await settle();
    const entry = JSON.parse((await store.get(first.meta.state.exactCacheKey!))!);
    entry.completion.content = "not a list";
    await store.set(first.meta.state.exactCacheKey!, JSON.stringify(entry), 60_000);
    const third = await llm.stream(acme()).finalCompletion();
    expect(third.meta.state.cache?.status).toBe("miss");
    expect(fakes().openai.requests).toHaveLength(3);
    await settle();
    expect((await llm.chat(acme())).meta.state.cache?.status).toBe("hit");
  });

  it("an entry whose provenance is another scope's, even under this scope's key", async () => {
    const { llm, store } = setup();
    const a = await llm.chat(acme("Hi"));
    const b = await llm.chat(ask("Hi", { metadata: { tenant: "globex" } }));
    await settle();
    await store.set(b.meta.state.exactCacheKey!, (await store.get(a.meta.state.exactCacheKey!))!, 60_000);
    const again = await llm.chat(ask("Hi", { metadata: { tenant: "globex" } }));
    expect(again.meta.state.cache?.status).toBe("miss");
  });
});

describe("exactCache: a hit replays as a stream", () => {
  it("with the same text and tool calls, event for event", async () => {
    const { llm } = setup();
    fakes().openai.enqueue({
      kind: "tool-calls",
      text: "Let me look.",
      calls: [
        { id: "call_1", name: "weather", arguments: { city: "Paris" } },
        { id: "call_2", name: "time", arguments: { tz: "CET" } },
      ],
    });
    const original = await llm.chat(acme());
    const { events, completion } = await readStream(llm.stream(acme()));
    expect(fakes().openai.requests).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "start", provider: "openai", model: original.model });
    expect(events.at(-1)).toMatchObject({
      type: "finish",
      finishReason: "tool-calls",
      usage: original.usage,
    });
    const assembled = new StreamAssembler();
    for (const e of events) assembled.add(e);
    expect(assembled.content).toEqual(original.content);
    expect(completion.toolCalls).toEqual(original.toolCalls);
    expect(completion.text).toBe("Let me look.");
  });

  it("with Anthropic reasoning (thinking) intact", async () => {
    const { llm } = setup();
    fakes().anthropic.enqueue({ kind: "thinking", thinking: "The user wants a capital.", text: "Paris." });
    const request = acme("Capital of France?", {
      model: "anthropic:claude-haiku-4-5",
      maxOutputTokens: 2000,
    });
    const original = await llm.stream(request).finalCompletion();
    const { events } = await readStream(llm.stream(request));
    expect(fakes().anthropic.requests).toHaveLength(1);
    const assembled = new StreamAssembler();
    for (const e of events) assembled.add(e);
    expect(assembled.content).toEqual(original.content);
    expect(original.content.some((p) => p.type === "reasoning")).toBe(true);
  });

  it("through wrapOpenAI, as chunks the SDK types accept", async () => {
    const { llm } = setup();
    const client = wrapOpenAI(new OpenAI({ apiKey: "sk-unused", baseURL: "http://127.0.0.1:9/v1" }), llm, {
      metadata: () => ({ tenant: "acme" }),
    });
    const messages = [{ role: "user" as const, content: "Say hi" }];
    const first = await client.chat.completions.create({ model: "gpt-4o-mini", messages });
    const stream = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    expectTypeOf(stream).toExtend<Stream<ChatCompletionChunk>>();
    expect(stream).toBeInstanceOf(Stream);
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(fakes().openai.requests).toHaveLength(1);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(text).toBe(first.choices[0]!.message.content);
    expect(chunks.some((c) => c.choices[0]?.finish_reason === "stop")).toBe(true);
    expect(chunks.at(-1)?.usage).toMatchObject({ completion_tokens: first.usage!.completion_tokens });
  });
});

describe("exactCache: TTL", () => {
  it("uses the TTL of the request's task, and ttlMs for the others", async () => {
    const { llm, store } = setup({ ttlMs: 60_000, ttlByTask: { faq: 86_400_000, forever: Infinity } });
    await llm.chat(acme("a", { metadata: { tenant: "acme", task: "faq" } }));
    await llm.chat(acme("b"));
    await llm.chat(acme("c", { metadata: { tenant: "acme", task: "forever" } }));
    await settle();
    expect(store.sets.map((s) => s.ttlMs)).toEqual([86_400_000, 60_000, undefined]);
  });

  it("defaults to one hour", async () => {
    const { llm, store } = setup();
    await llm.chat(acme());
    await settle();
    expect(store.sets[0]?.ttlMs).toBe(3_600_000);
  });

  it("a TTL of 0 for a task bypasses the cache for it", async () => {
    const { llm, store } = setup({ ttlByTask: { news: 0 } });
    const news = acme("Headlines?", { metadata: { tenant: "acme", task: "news" } });
    await llm.chat(news);
    const again = await llm.chat(news);
    expect(again.meta.state.cache?.status).toBe("bypass");
    expect(fakes().openai.requests).toHaveLength(2);
    expect(store.sets).toEqual([]);
  });

  it("an entry expires after its TTL", async () => {
    const { llm } = setup({ ttlByTask: { brief: 200 } });
    const request = acme("Hi", { metadata: { tenant: "acme", task: "brief" } });
    await llm.chat(request);
    expect((await llm.chat(request)).meta.state.cache?.status).toBe("hit");
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await llm.chat(request)).meta.state.cache?.status).toBe("miss");
    expect(fakes().openai.requests).toHaveLength(2);
  });

  it("an entry stored under a longer task TTL is not served past the reading task's own", async () => {
    let now = 1_700_000_000_000;
    const cache = exactCache({ ttlByTask: { faq: 3_600_000, news: 60_000 }, store: memoryKv() });
    const { llm } = testClient({ openai: fakes().openai }, [cache], { clock: { now: () => now } });
    await llm.chat(acme("Headlines?", { metadata: { tenant: "acme", task: "faq" } }));
    await settle();
    const news = acme("Headlines?", { metadata: { tenant: "acme", task: "news" } });
    expect((await llm.chat(news)).meta.state.cache?.status).toBe("hit"); // within both TTLs
    now += 120_000;
    expect((await llm.chat(news)).meta.state.cache?.status).toBe("miss"); // older than news's minute
    const faq = await llm.chat(acme("Headlines?", { metadata: { tenant: "acme", task: "faq" } }));
    expect(faq.meta.state.cache?.status).toBe("hit"); // still fresh for faq
  });
});

describe("exactCache: purge", () => {
  it("purgeTenant removes only that tenant's entries", async () => {
    const { llm, cache } = setup();
    await llm.chat(acme("Hi"));
    await llm.chat(acme("Bye"));
    await llm.chat(ask("Hi", { metadata: { tenant: "globex" } }));
    await llm.chat(ask("Hi"));
    await settle();
    expect(await cache.purgeTenant("acme")).toBe(2);
    expect((await llm.chat(acme("Hi"))).meta.state.cache?.status).toBe("miss");
    expect((await llm.chat(ask("Hi", { metadata: { tenant: "globex" } }))).meta.state.cache?.status).toBe(
      "hit",
    );
    expect((await llm.chat(ask("Hi"))).meta.state.cache?.status).toBe("hit");
    expect(await cache.purgeTenant(undefined)).toBe(1);
    expect((await llm.chat(ask("Hi"))).meta.state.cache?.status).toBe("miss");
  });

  it("purgeKey removes one entry, by store key or by request key", async () => {
    const { llm, cache } = setup();
    const hi = await llm.chat(acme("Hi"));
    await llm.chat(acme("Bye"));
    await settle();
    expect(await cache.purgeKey("acme", hi.meta.state.exactCacheKey!)).toBe(true);
    expect(await cache.purgeKey("acme", hi.meta.state.exactCacheKey!)).toBe(false);
    expect((await llm.chat(acme("Hi"))).meta.state.cache?.status).toBe("miss");
    expect((await llm.chat(acme("Bye"))).meta.state.cache?.status).toBe("hit");

    const byeKey = requestKey({ ...acme("Bye"), stream: false }, "openai:gpt-4o-mini");
    expect(await cache.purgeKey("acme", byeKey)).toBe(true);
    expect((await llm.chat(acme("Bye"))).meta.state.cache?.status).toBe("miss");
  });

  it("purgeKey refuses a key of another tenant's scope", async () => {
    const { llm, cache } = setup();
    const hi = await llm.chat(acme("Hi"));
    await expect(cache.purgeKey("globex", hi.meta.state.exactCacheKey!)).rejects.toThrow(RangeError);
    await expect(cache.purgeKey("acme", "frugal:x:{acme}")).rejects.toThrow(RangeError);
  });
});

describe("exactCache: a store outage never fails the call", () => {
  const broken: KeyValueStore = {
    name: "broken",
    get: () => Promise.reject(new Error("ECONNREFUSED 127.0.0.1:6379")),
    set: () => Promise.reject(new Error("ECONNREFUSED 127.0.0.1:6379")),
    setIfAbsent: () => Promise.reject(new Error("ECONNREFUSED 127.0.0.1:6379")),
    delete: () => Promise.reject(new Error("ECONNREFUSED 127.0.0.1:6379")),
    deletePrefix: () => Promise.reject(new Error("ECONNREFUSED 127.0.0.1:6379")),
  };

  it("answers from the provider and reports each failure to onError", async () => {
    const errors: string[] = [];
    const { llm } = setup({ store: broken, onError: (_e, info) => errors.push(info.operation) });
    const a = await llm.chat(acme());
    const b = await llm.stream(acme()).finalCompletion();
    expect(a.text).toBe(b.text);
    expect(fakes().openai.requests).toHaveLength(2);
    await settle();
    expect(errors).toEqual(["get", "lock", "set", "get", "lock", "set"]);
  });

  it("warns through the client's logger by default, at most once per operation per 10 s", async () => {
    const { llm, logs } = setup({ store: broken });
    for (let i = 0; i < 5; i++) await llm.chat(acme());
    await settle();
    expect(fakes().openai.requests).toHaveLength(5);
    expect(logs.map((w) => w.message)).toEqual([
      "exactCache: the store failed to get; the call goes on without the cache",
      "exactCache: the store failed to lock; the call goes on without the cache",
      "exactCache: the store failed to set; the call goes on without the cache",
    ]);
  });

  it("a purge does report a store failure", async () => {
    const { cache } = setup({ store: broken });
    await expect(cache.purgeTenant("acme")).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe("exactCache: options", () => {
  it.each([
    [{ ttlMs: -1 }, /options.ttlMs/],
    [{ ttlMs: 1.5 }, /options.ttlMs/],
    [{ ttlByTask: { faq: -5 } }, /options.ttlByTask.faq/],
    [{ policyVersion: "" }, /options.policyVersion/],
    [{ lockTtlMs: -1 }, /options.lockTtlMs/],
    [{ lockPollMs: 0 }, /options.lockPollMs/],
    [{ admission: { maxTemperature: -1 } }, /options.admission.maxTemperature/],
    [{ store: {} }, /options.store: expected a KeyValueStore/],
    [{ colour: "blue" }, /colour/],
  ])("refuses %o with an error naming the option", (bad, message) => {
    const options = { store: memoryKv(), ...bad } as unknown as ExactCacheOptions;
    expect(() => exactCache(options)).toThrow(ConfigError);
    expect(() => exactCache(options)).toThrow(message);
  });
});
