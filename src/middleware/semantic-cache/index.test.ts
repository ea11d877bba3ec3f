import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeServer, startFakeOpenAI } from "../../../test/fakes/index.js";
import { ConfigError } from "../../core/errors.js";
import type { ChatRequestInput } from "../../core/request.js";
import { cachedEmbedder } from "../../embeddings/cached.js";
import type { Embedder } from "../../embeddings/embedder.js";
import { LOCAL_THRESHOLD, localEmbedder } from "../../embeddings/local.js";
import type { KeyValueStore } from "../../storage/kv.js";
import { memoryKv } from "../../storage/memory/kv.js";
import { memoryVectorIndex } from "../../storage/memory/vector-index.js";
import type { VectorIndex } from "../../storage/vector-index.js";
import { ask, readStream, recording, settle, testClient } from "../exact-cache/test-client.js";
import { defaultGuards, lexicalGuards, type SemanticGuard } from "./guards.js";
import { type SemanticCacheOptions, semanticCache } from "./index.js";
import { constantEmbedder, mapVectorIndex } from "./test-index.js";

let fo: FakeServer;
beforeAll(async () => {
  fo = await startFakeOpenAI();
});
afterAll(async () => {
  await fo.close();
});
beforeEach(() => fo.reset());

function setup(options: Partial<SemanticCacheOptions> = {}) {
  const store = recording(options.store ?? memoryKv());
  const index = options.index ?? memoryVectorIndex();
  const errors: { error: unknown; operation: string }[] = [];
  const cache = semanticCache({
    embedder: localEmbedder(),
    policyVersion: "1",
    ttlMs: 3_600_000,
    onError: (error, info) => void errors.push({ error, operation: info.operation }),
    ...options,
    index,
    store,
  });
  return { ...testClient({ openai: fo }, [cache]), cache, store, index, errors };
}
const acme = (content: string, extra: Partial<ChatRequestInput> = {}) =>
  ask(content, { ...extra, metadata: { tenant: "acme", ...extra.metadata } });

/** Asks `first`, then `second`; resolves with the second completion and whether it made a provider call. */
async function pair(s: ReturnType<typeof setup>, first: ChatRequestInput, second: ChatRequestInput) {
  await s.llm.chat(first);
  await settle();
  const before = fo.requests.length;
  const completion = await s.llm.chat(second);
  await settle();
  return { completion, called: fo.requests.length > before };
}

describe("semanticCache: hits", () => {
  it("serves a reworded question from the cache, with no provider call, and reports its similarity", async () => {
    const s = setup();
    fo.enqueue({ kind: "text", text: "Unplug it for ten seconds.", usage: { input: 20, output: 8 } });
    const { completion, called } = await pair(
      s,
      acme("How do I reset my router?"),
      acme("How can I reset my router?"),
    );
    expect(called).toBe(false);
    expect(completion.text).toBe("Unplug it for ten seconds.");
    const cache = completion.meta.state.cache!;
    expect(cache).toMatchObject({ status: "hit", kind: "semantic" });
    expect(cache.similarity).toBeGreaterThanOrEqual(LOCAL_THRESHOLD);
    expect(cache.similarity).toBeLessThan(1);
    const record = s.records.at(-1)!;
    expect(record.cache).toMatchObject({ status: "hit", kind: "semantic", similarity: cache.similarity });
    expect(record.cache?.saved?.usage.outputTokens).toBe(8);
    expect(record.cost.usd).toBe(0);
    expect(record.attempts).toEqual([]);
  });

  it("replays a hit as a stream when the caller streams", async () => {
    const s = setup();
    fo.enqueue({ kind: "text", text: "Paris is the capital." });
    await s.llm.chat(acme("What is the capital of France?"));
    await settle();
    const { events, completion } = await readStream(s.llm.stream(acme("What's the capital of France?")));
    expect(
      events
        .filter((e) => e.type === "text-delta")
        .map((e) => (e as { text: string }).text)
        .join(""),
    ).toBe("Paris is the capital.");
    expect(completion.meta.state.cache?.status).toBe("hit");
    expect(fo.requests).toHaveLength(1);
  });

  it("serves at least 80% of a corpus of rewordings (must-hit)", async () => {
    const rewordings: [string, string][] = [
      ["How do I reset my router?", "How can I reset my router?"],
      ["What is the capital of France?", "What's the capital of France?"],
      ["How do I learn Python quickly?", "How can I learn Python quickly?"],
      ["What are the symptoms of diabetes?", "what are the symptoms of diabetes"],
      ["How to cancel my subscription?", "How do I cancel my subscription?"],
      ["Best way to learn guitar?", "What is the best way to learn guitar?"],
      ["Explain how photosynthesis works", "Explain how photosynthesis works, please"],
      ["How can I improve my public speaking skills?", "How do I improve my public speaking skills?"],
      [
        "What is the difference between a virus and a bacterium?",
        "What's the difference between a virus and a bacterium?",
      ],
      ["Tips for a job interview?", "What are some tips for a job interview?"],
      ["Can you recommend a good book on Stoicism?", "Could you recommend a good book on Stoicism?"],
      ["Why do cats purr?", "Why do cats purr so much?"],
    ];
    const s = setup();
    let served = 0;
    for (const [a, b] of rewordings) {
      const { called } = await pair(s, acme(a), acme(b));
      if (!called) served++;
    }
    expect(served / rewordings.length).toBeGreaterThanOrEqual(0.8);
  });

  it("shares answers between a dated snapshot and its family", async () => {
    const s = setup();
    const { called } = await pair(
      s,
      acme("How do I boil an egg?", { model: "openai:gpt-4o-mini" }),
      acme("How can I boil an egg?", { model: "openai:gpt-4o-mini-2024-07-18" }),
    );
    expect(called).toBe(false);
  });
});

describe("semanticCache: false hits refused by the guards (C2)", () => {
  // The constant embedder scores every pair 1.0: far above any threshold, so only the guards decide.
  const cases: [string, string, string][] = [
    ["numbers", "What is 2+2?", "What is 2+3?"],
    ["negation", "Is aspirin safe?", "Is aspirin not safe?"],
    ["entities", "Who is the CEO of Apple?", "Who is the CEO of Microsoft?"],
    ["argument-order", "How do I convert Celsius to Fahrenheit?", "How do I convert Fahrenheit to Celsius?"],
    ["antonyms", "Is it safe to eat raw eggs?", "Is it dangerous to eat raw eggs?"],
  ];
  it.each(cases)("refuses a %s change at similarity 1: %j / %j", async (guard, a, b) => {
    const s = setup({ embedder: constantEmbedder(), threshold: 0.9 });
    const { completion, called } = await pair(s, acme(a), acme(b));
    expect(called).toBe(true);
    expect(completion.meta.state.cache?.status).toBe("miss");
    expect(completion.meta.state.semanticCache?.candidates).toEqual([
      { similarity: 1, served: false, rejection: { guard, reason: expect.any(String) } },
    ]);
  });

  it("refuses them with the local embedder too, where it scores them above its threshold", async () => {
    const embedder = localEmbedder();
    const cases: [string, string, string][] = [
      [
        "numbers",
        "In this test, what is 2+2 when written as a sum of two integers?",
        "In this test, what is 2+3 when written as a sum of two integers?",
      ],
      [
        "negation",
        "Is it safe to take ibuprofen and paracetamol together?",
        "Is it not safe to take ibuprofen and paracetamol together?",
      ],
      [
        "entities",
        "What is the best way to learn the guitar as an adult living in Paris?",
        "What is the best way to learn the guitar as an adult living in Berlin?",
      ],
      [
        "argument-order",
        "How much does a flight from Paris to London cost?",
        "How much does a flight from London to Paris cost?",
      ],
    ];
    for (const [guard, a, b] of cases) {
      const s = setup({ embedder });
      const { completion, called } = await pair(s, acme(a), acme(b));
      const [candidate] = completion.meta.state.semanticCache!.candidates;
      expect(candidate!.similarity, `${a} / ${b}`).toBeGreaterThan(LOCAL_THRESHOLD);
      expect(candidate!.rejection?.guard).toBe(guard);
      expect(called).toBe(true);
    }
  });

  it("still serves what the guards let through at that similarity", async () => {
    const s = setup({ embedder: constantEmbedder(), threshold: 0.9 });
    const { called } = await pair(s, acme("What is 2+2?"), acme("what is 2 + 2"));
    expect(called).toBe(false);
  });

  it("with guards: false, serves on similarity alone", async () => {
    const s = setup({ embedder: constantEmbedder(), threshold: 0.9, guards: false });
    const { called } = await pair(s, acme("What is 2+2?"), acme("What is 2+3?"));
    expect(called).toBe(false);
  });

  it("never serves one random string's answer to another (local embedder, default threshold)", async () => {
    const s = setup();
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const word = () =>
      Array.from({ length: 2 + Math.floor(random() * 8) }, () =>
        String.fromCharCode(97 + Math.floor(random() * 26)),
      ).join("");
    const sentence = () => Array.from({ length: 3 + Math.floor(random() * 10) }, word).join(" ");
    for (let i = 0; i < 40; i++) await s.llm.chat(acme(sentence()));
    await settle();
    const hits = [];
    for (let i = 0; i < 100; i++) {
      const c = await s.llm.chat(acme(sentence()));
      if (c.meta.state.cache?.status === "hit") hits.push(c);
    }
    expect(hits).toEqual([]);
  });
});

describe("semanticCache: thresholds (C3)", () => {
  it("a threshold of 1 serves only a prompt with the identical vector", async () => {
    const s = setup({ threshold: 1 });
    fo.enqueue({ kind: "text", text: "Paris." });
    // Case and spacing are normalized away before embedding: the same vector.
    expect(
      (await pair(s, acme("What is the capital of France?"), acme("what is the  capital of France?"))).called,
    ).toBe(false);
    expect(
      (await pair(s, acme("What is the capital of France?"), acme("What's the capital of France?"))).called,
    ).toBe(true);
  });

  it("a threshold of 1 is identity even when the index rounds a near match up to 1", async () => {
    const rounding: VectorIndex = { ...mapVectorIndex(), name: "rounding" };
    const inner = mapVectorIndex();
    rounding.upsert = inner.upsert;
    rounding.query = async (ns, v, k, min) =>
      (await inner.query(ns, v, k, -1)).map((m) => ({ ...m, score: 1 })).filter((m) => m.score >= min);
    const s = setup({ threshold: 1, index: rounding });
    expect(
      (await pair(s, acme("How do I reset my router?"), acme("How can I reset my router?"))).called,
    ).toBe(true);
  });

  it.each([0, -0.5, 1.01, Number.NaN])(
    "refuses threshold %s at construction, naming the option",
    (threshold) => {
      expect(() => setup({ threshold })).toThrow(ConfigError);
      expect(() => setup({ threshold })).toThrow(/options\.threshold/);
    },
  );

  it("refuses a bad per-task threshold, naming the task", () => {
    expect(() => setup({ thresholdByTask: { faq: 0 } })).toThrow(/options\.thresholdByTask\.faq/);
  });

  it("asks for a threshold when the embedder recommends none", () => {
    expect(() => setup({ embedder: constantEmbedder() })).toThrow(/options\.threshold: required/);
  });

  it("asks for a threshold when a lexical embedder runs without the content-words guard", () => {
    // Its recommended threshold assumes the lexical guards: without them it would serve ~37% wrong answers on QQP.
    for (const guards of [false, defaultGuards] as const)
      expect(() => setup({ guards }), String(guards)).toThrow(
        /options\.threshold: required when the lexical embedder/,
      );
    expect(() => setup({ guards: defaultGuards, threshold: 0.9 })).not.toThrow();
    const sku: SemanticGuard = { name: "sku", check: () => undefined };
    expect(() => setup({ guards: [...lexicalGuards, sku] })).not.toThrow();
  });

  it("uses the threshold of the request's task", async () => {
    const s = setup({ thresholdByTask: { strict: 1 } });
    const strict = { metadata: { tenant: "acme", task: "strict" } };
    expect(
      (await pair(s, acme("How do I reset my router?", strict), acme("How can I reset my router?", strict)))
        .called,
    ).toBe(true);
    expect((await pair(s, acme("How do I reset my modem?"), acme("How can I reset my modem?"))).called).toBe(
      false,
    );
  });
});

describe("semanticCache: scope (C1, S1)", () => {
  it("never serves tenant A's answer to tenant B, exact or paraphrased", async () => {
    const s = setup();
    fo.enqueue({ kind: "text", text: "Your balance is $5,432." });
    await s.llm.chat(ask("What is my account balance?", { metadata: { tenant: "a" } }));
    await settle();
    for (const [tenant, prompt] of [
      ["b", "What is my account balance?"],
      ["c", "What's my account balance?"],
    ] as const) {
      const c = await s.llm.chat(ask(prompt, { metadata: { tenant } }));
      expect(c.text).not.toContain("5,432");
      expect(c.meta.state.cache?.status).toBe("miss");
    }
    const none = await s.llm.chat(ask("What is my account balance?"));
    expect(none.text).not.toContain("5,432");
  });

  it("keeps policy versions apart", async () => {
    const store = memoryKv();
    const index = mapVectorIndex();
    const v1 = setup({ store, index, policyVersion: "v1" });
    await v1.llm.chat(acme("How do I reset my router?"));
    await settle();
    const v2 = setup({ store, index, policyVersion: "v2" });
    const before = fo.requests.length;
    await v2.llm.chat(acme("How do I reset my router?"));
    expect(fo.requests.length).toBe(before + 1);
  });

  it("misses when the system prompt or a parameter differs", async () => {
    const s = setup();
    const base = { system: "Answer briefly." };
    for (const other of [
      { system: "Answer in French." },
      { ...base, temperature: 0.2 },
      { ...base, maxOutputTokens: 50 },
    ]) {
      const { called } = await pair(
        s,
        acme("How do I reset my router?", base),
        acme("How can I reset my router?", other),
      );
      expect(called).toBe(true);
    }
  });

  it("a shared cache serves every tenant, but not personalized requests", async () => {
    const s = setup({ shared: true });
    const { called } = await pair(
      s,
      ask("How do I reset my router?", { metadata: { tenant: "a" } }),
      ask("How can I reset my router?", { metadata: { tenant: "b" } }),
    );
    expect(called).toBe(false);
    const personal = await s.llm.chat(
      ask("How can I reset my router?", { metadata: { tenant: "b", user: "u1" } }),
    );
    expect(personal.meta.state.cache?.status).toBe("bypass");
  });

  it("purgeTenant removes one tenant's vectors and entries, and nobody else's", async () => {
    const s = setup();
    await s.llm.chat(acme("How do I reset my router?"));
    await s.llm.chat(ask("How do I reset my router?", { metadata: { tenant: "other" } }));
    await settle();
    expect(await s.cache.purgeTenant("acme")).toEqual({ vectors: 1, entries: 1 });
    expect((await pair(s, acme("How do I tie a tie?"), acme("How can I reset my router?"))).called).toBe(
      true,
    );
    const other = await s.llm.chat(ask("How can I reset my router?", { metadata: { tenant: "other" } }));
    expect(other.meta.state.cache?.status).toBe("hit");
  });

  it("purgeKey removes one entry, refusing a key from another tenant's scope", async () => {
    const s = setup();
    const first = await s.llm.chat(acme("How do I reset my router?"));
    await settle();
    const key = first.meta.state.semanticCache?.key;
    expect(key).toBeDefined();
    await expect(s.cache.purgeKey("other", key!)).rejects.toThrow(RangeError);
    expect(await s.cache.purgeKey("acme", key!)).toBe(true);
    expect((await s.llm.chat(acme("How can I reset my router?"))).meta.state.cache?.status).toBe("miss");
  });
});

describe("semanticCache: what it looks up", () => {
  it("does not look up a multi-turn conversation by default", async () => {
    const s = setup();
    await s.llm.chat(acme("How do I reset my router?"));
    await settle();
    const c = await s.llm.chat(
      acme("", {
        messages: [
          { role: "user", content: "My internet is down." },
          { role: "assistant", content: "Have you tried resetting the router?" },
          { role: "user", content: "How do I reset my router?" },
        ],
      }),
    );
    expect(c.meta.state.cache?.status).toBe("bypass");
  });

  it("compares a host-selected conversation's earlier turns exactly and its last message by meaning", async () => {
    const s = setup({ eligible: () => true });
    const convo = (earlier: string, last: string) =>
      acme("", {
        messages: [
          { role: "user", content: earlier },
          { role: "assistant", content: "Sure." },
          { role: "user", content: last },
        ],
      });
    expect(
      (
        await pair(
          s,
          convo("I use a Netgear.", "How do I reset it?"),
          convo("I use a Netgear.", "How can I reset it?"),
        )
      ).called,
    ).toBe(false);
    expect(
      (
        await pair(
          s,
          convo("I use a Netgear.", "How do I reset it?"),
          convo("I use a TP-Link.", "How do I reset it?"),
        )
      ).called,
    ).toBe(true);
  });

  it("bypasses requests with metadata.cache false or hotter than the limit", async () => {
    const s = setup({ admission: { maxTemperature: 0.5 } });
    const c = await s.llm.chat(
      acme("How do I reset my router?", { metadata: { tenant: "acme", cache: false } }),
    );
    expect(c.meta.state.cache?.status).toBe("bypass");
    expect(
      (await s.llm.chat(acme("How do I reset my router?", { temperature: 0.9 }))).meta.state.cache?.status,
    ).toBe("bypass");
  });
});

describe("semanticCache: nothing incomplete or failed is stored (C5)", () => {
  async function expectNothingStored(s: ReturnType<typeof setup>) {
    await settle();
    expect(s.store.sets).toEqual([]);
    expect((s.index as ReturnType<typeof memoryVectorIndex>).size).toBe(0);
  }
  it("a refusal", async () => {
    const s = setup();
    fo.enqueue({ kind: "refusal", text: "I can't help with that." });
    await s.llm.chat(acme("How do I pick a lock?"));
    await expectNothingStored(s);
  });
  it("a stream cut mid-delta", async () => {
    const s = setup();
    fo.enqueue({ kind: "truncated-stream", afterDeltas: 2, text: "one two three four" });
    await expect(s.llm.stream(acme("How do I pick a lock?")).finalCompletion()).rejects.toThrow();
    await expectNothingStored(s);
  });
  it("an answer cut at the token limit, a content filter, a 500", async () => {
    const s = setup();
    fo.enqueue({ kind: "text", text: "To pick", finishReason: "length" });
    await s.llm.chat(acme("How do I pick a lock?"));
    fo.enqueue({ kind: "text", text: "I", finishReason: "content_filter" });
    await s.llm.chat(acme("How do I pick a lock?"));
    fo.enqueue({ kind: "error", status: 500 });
    await expect(s.llm.chat(acme("How do I pick a lock?"))).rejects.toThrow();
    await expectNothingStored(s);
  });
});

describe("semanticCache: failures of the embedder, index or store are misses (never failed calls)", () => {
  const failing = (what: string) => {
    throw new Error(`${what} is down`);
  };
  it.each([
    ["embed", { embedder: { ...localEmbedder(), embed: async () => failing("embedder") } as Embedder }],
    ["query", { index: { ...mapVectorIndex(), query: async () => failing("index") } as VectorIndex }],
    ["set", { store: { ...memoryKv(), set: async () => failing("store") } as KeyValueStore }],
    ["upsert", { index: { ...mapVectorIndex(), upsert: async () => failing("index") } as VectorIndex }],
  ])("%s", async (operation, options) => {
    const s = setup(options as Partial<SemanticCacheOptions>);
    const first = await s.llm.chat(acme("How do I reset my router?"));
    await settle();
    const second = await s.llm.chat(acme("How can I reset my router?"));
    await settle();
    expect(first.text).toMatch(/Fake reply/);
    expect(second.meta.state.cache?.status).toBe("miss");
    expect(s.errors.map((e) => e.operation)).toContain(operation);
  });

  it("a store that fails to read: a miss", async () => {
    const kv = memoryKv();
    const s = setup({ store: { ...kv, get: async () => failing("store") } as KeyValueStore });
    const { called } = await pair(s, acme("How do I reset my router?"), acme("How can I reset my router?"));
    expect(called).toBe(true);
    expect(s.errors.map((e) => e.operation)).toContain("get");
  });
});

describe("semanticCache: verification by a cheap model", () => {
  it("serves a hit the model confirms, and records the call as a priced side call", async () => {
    const s = setup({ verify: { model: "openai:gpt-4o-mini" } });
    await s.llm.chat(acme("How do I reset my router?"));
    await settle();
    fo.enqueue({ kind: "text", text: "yes", usage: { input: 60, output: 1 } });
    const c = await s.llm.chat(acme("How can I reset my router?"));
    expect(c.meta.state.cache?.status).toBe("hit");
    const record = s.records.at(-1)!;
    expect(record.attempts).toMatchObject([
      { purpose: "side-call", label: "verify", status: "ok", model: "gpt-4o-mini" },
    ]);
    expect(record.cost.priced && record.cost.usd).toBeGreaterThan(0);
    expect(fo.requests.at(-1)!.body.messages.at(-1).content).toContain("How can I reset my router?");
  });

  it("refuses a hit the model does not confirm, and only for the listed tasks", async () => {
    const s = setup({ verify: { model: "openai:gpt-4o-mini", tasks: ["medical"] } });
    const medical = { metadata: { tenant: "acme", task: "medical" } };
    await s.llm.chat(acme("How do I treat a burn?", medical));
    await settle();
    fo.enqueue({ kind: "text", text: "No." });
    const refused = await s.llm.chat(acme("How can I treat a burn?", medical));
    expect(refused.meta.state.cache?.status).toBe("miss");
    expect(refused.meta.state.semanticCache?.candidates[0]?.rejection?.guard).toBe("verify");
    const { called } = await pair(s, acme("How do I reset my router?"), acme("How can I reset my router?"));
    expect(called).toBe(false); // not a listed task: no verification call at all
  });
});

describe("semanticCache: the identical text embeds once", () => {
  it("a cached embedder asks its inner embedder once per text, and a hit or a store reuses it", async () => {
    const inner = localEmbedder();
    let texts = 0;
    const counting: Embedder = {
      ...inner,
      embed: async (t, ctx) => {
        texts += t.length;
        return inner.embed(t, ctx);
      },
    };
    const s = setup({ embedder: cachedEmbedder(counting) });
    for (let i = 0; i < 3; i++) await s.llm.chat(acme("How do I reset my router?"));
    expect(texts).toBe(1);
  });
});

describe("semanticCache: prompts it does not look up", () => {
  it("a prompt longer than the guards read, an image, an empty text", async () => {
    const s = setup();
    const long = await s.llm.chat(acme(`Summarize: ${"word ".repeat(5_000)}`));
    const image = await s.llm.chat(
      acme("", {
        messages: [{ role: "user", content: [{ type: "image", url: "https://example.com/a.png" }] }],
      }),
    );
    expect([long, image].map((c) => c.meta.state.cache?.status)).toEqual(["bypass", "bypass"]);
    await settle();
    expect(s.store.sets).toEqual([]);
  });
});
