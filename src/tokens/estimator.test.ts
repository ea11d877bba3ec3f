import { getEncodingNameForModel, Tiktoken, type TiktokenModel } from "js-tiktoken/lite";
import cl100k from "js-tiktoken/ranks/cl100k_base";
import o200k from "js-tiktoken/ranks/o200k_base";
import { describe, expect, it, vi } from "vitest";
import { ConfigError, FrugalError } from "../core/errors.js";
import type { ChatRequest, ToolDefinition } from "../core/request.js";
import {
  InputTooLargeError,
  type ModelRef,
  modelProfile,
  type TokenEstimate,
  type TokenEstimator,
  tokenEstimator,
} from "./index.js";

/** js-tiktoken, the reference port of OpenAI's tiktoken, as the oracle. */
const reference = { o200k_base: new Tiktoken(o200k), cl100k_base: new Tiktoken(cl100k) };
const ref = (text: string, encoding: keyof typeof reference) =>
  reference[encoding].encode(text, [], []).length;

const GPT4O: ModelRef = { provider: "openai", model: "gpt-4o" };
const GPT4: ModelRef = { provider: "openai", model: "gpt-4" };
const CLAUDE: ModelRef = { provider: "anthropic", model: "claude-sonnet-4-5" };

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomLetters(n: number, random: () => number): string {
  const codes = new Uint16Array(n);
  for (let i = 0; i < n; i++) codes[i] = 97 + Math.floor(random() * 26);
  return new TextDecoder("utf-16le").decode(codes);
}

const request = (fields: Partial<ChatRequest>): ChatRequest => ({
  model: "openai:gpt-4o",
  messages: [{ role: "user", content: "Hi" }],
  ...fields,
});

const SAMPLES = [
  "tiktoken is great!",
  "Hello, world!",
  "antidisestablishmentarianism",
  "お誕生日おめでとう",
  "中文文本，日本語のテキスト、한국어 텍스트.",
  "function add(a: number, b: number): number {\n  return a + b; // sum\n}\n",
  '{"name":"get_weather","arguments":{"city":"Paris","unit":"celsius"}}',
  "  leading spaces,\ttabs,\r\nCRLF and trailing   ",
  "emoji 😀👍🏽🇫🇷 and accents: crème brûlée, Ñandú",
  "<|endoftext|> <|im_start|>user<|im_sep|> are only text in a prompt",
  "1234567890 3.14159 1e-9 0xDEADBEEF",
  `${"The quick brown fox jumps over the lazy dog. ".repeat(400)}`,
];

describe("countText: exact BPE counts for OpenAI models", () => {
  const estimator = tokenEstimator();

  it("matches js-tiktoken on every sample, for o200k_base (gpt-4o) and cl100k_base (gpt-4)", async () => {
    for (const text of SAMPLES) {
      expect(await estimator.countText(text, GPT4O), text).toBe(ref(text, "o200k_base"));
      expect(await estimator.countText(text, GPT4), text).toBe(ref(text, "cl100k_base"));
    }
  });

  it("gives the counts OpenAI's cookbook documents", async () => {
    expect(await estimator.countText("tiktoken is great!", GPT4)).toBe(6);
    expect(await estimator.countText("antidisestablishmentarianism", GPT4)).toBe(6);
    expect(await estimator.countText("お誕生日おめでとう", GPT4)).toBe(9);
    expect(await estimator.countText("お誕生日おめでとう", GPT4O)).toBe(8);
  });

  it("counts special-token strings as text, without throwing", async () => {
    const text = "<|endoftext|>";
    expect(await estimator.countText(text, GPT4O)).toBe(ref(text, "o200k_base"));
    expect(await estimator.countText(text, GPT4O)).toBeGreaterThan(1);
  });

  it("counts the empty string as 0 tokens", async () => {
    expect(await estimator.countText("", GPT4O)).toBe(0);
  });

  it("never counts more tokens than UTF-8 bytes (the fast upper bound)", async () => {
    const random = seeded(3);
    const texts = [...SAMPLES];
    // Random code points across the planes, lone surrogates included.
    for (let i = 0; i < 50; i++) {
      let s = "";
      for (let j = 0; j < 400; j++) {
        const plane = random();
        const code =
          plane < 0.4
            ? Math.floor(random() * 0x80)
            : plane < 0.8
              ? Math.floor(random() * 0x10000)
              : 0x10000 + Math.floor(random() * 0x100000);
        s += String.fromCodePoint(code);
      }
      texts.push(s);
    }
    for (const text of texts) {
      const bytes = Buffer.byteLength(text, "utf8");
      expect(await estimator.countText(text, GPT4O)).toBeLessThanOrEqual(bytes);
      expect(await estimator.countText(text, GPT4)).toBeLessThanOrEqual(bytes);
    }
  });
});

describe("model profiles: the right encoding per model family", () => {
  it("selects o200k_base and cl100k_base by model", () => {
    const cases: [string, string, string][] = [
      ["gpt-4o", "openai", "o200k_base"],
      ["gpt-4o-mini-2024-07-18", "openai", "o200k_base"],
      ["chatgpt-4o-latest", "openai", "o200k_base"],
      ["gpt-4.1", "openai", "o200k_base"],
      ["gpt-4.1-nano-2025-04-14", "openai", "o200k_base"],
      ["gpt-4.5-preview", "openai", "o200k_base"],
      ["gpt-5", "openai", "o200k_base"],
      ["gpt-5-mini", "openai", "o200k_base"],
      ["o1", "openai", "o200k_base"],
      ["o3-mini", "openai", "o200k_base"],
      ["o4-mini-2025-04-16", "openai", "o200k_base"],
      ["ft:gpt-4o-mini-2024-07-18:acme::abc123", "openai", "o200k_base"],
      ["openai/gpt-4o", "openrouter", "o200k_base"],
      ["gpt-4", "openai", "cl100k_base"],
      ["gpt-4-0613", "openai", "cl100k_base"],
      ["gpt-4-turbo", "openai", "cl100k_base"],
      ["gpt-3.5-turbo", "openai", "cl100k_base"],
      ["text-embedding-3-small", "openai", "cl100k_base"],
    ];
    for (const [model, provider, encoding] of cases) {
      const profile = modelProfile({ provider, model });
      expect(profile, model).toMatchObject({ family: "openai", encoding, exact: true });
    }
  });

  it("agrees with js-tiktoken's own model table for every chat model it knows", () => {
    const models: TiktokenModel[] = [
      "gpt-3.5-turbo",
      "gpt-3.5-turbo-0125",
      "gpt-4",
      "gpt-4-0125-preview",
      "gpt-4-turbo-2024-04-09",
      "gpt-4o",
      "gpt-4o-2024-11-20",
      "gpt-4o-mini",
      "gpt-4.1-mini",
      "gpt-4.5-preview",
      "o1",
      "o1-mini",
      "o3",
      "o3-mini",
      "o4-mini",
      "gpt-5",
      "gpt-5-nano",
      "chatgpt-4o-latest",
      "text-embedding-3-large",
    ];
    for (const model of models) {
      expect(modelProfile({ provider: "openai", model }).encoding, model).toBe(
        getEncodingNameForModel(model),
      );
    }
  });

  it("estimates Anthropic models (no public tokenizer) with a calibrated cl100k_base count", () => {
    for (const model of [
      "claude-sonnet-4-5",
      "claude-3-5-haiku-20241022",
      "claude-opus-4-7",
      "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
      "anthropic/claude-3.5-sonnet",
    ]) {
      expect(modelProfile({ provider: "whatever", model }), model).toMatchObject({
        family: "anthropic",
        encoding: "cl100k_base",
        exact: false,
      });
    }
    expect(modelProfile({ provider: "anthropic", model: "my-alias" }).family).toBe("anthropic");
  });

  it("treats unknown OpenAI deployments and other providers as estimates", () => {
    expect(modelProfile({ provider: "azure-openai", model: "prod-chat" })).toMatchObject({
      family: "openai",
      encoding: "o200k_base",
      exact: false,
    });
    expect(modelProfile({ provider: "mistral", model: "mistral-large" })).toMatchObject({
      family: "other",
      encoding: "o200k_base",
      exact: false,
    });
  });
});

describe("estimateRequest", () => {
  const estimator = tokenEstimator();

  it("counts every message's text plus 3 framing tokens and the role, and 3 to prime the reply", async () => {
    const system = "You are a terse assistant.";
    const messages: ChatRequest["messages"] = [
      { role: "user", content: "What is the capital of France?" },
      { role: "assistant", content: [{ type: "text", text: "Paris." }] },
      {
        role: "user",
        content: [
          { type: "text", text: "And of " },
          { type: "text", text: "Spain?" },
        ],
      },
    ];
    const estimate = await estimator.estimateRequest(request({ system, messages }), GPT4O);
    const text = [system, "What is the capital of France?", "Paris.", "And of ", "Spain?"];
    const textTokens = text.reduce((n, t) => n + ref(t, "o200k_base"), 0);
    expect(estimate).toMatchObject({
      inputTokens: textTokens + 4 * (3 + 1) + 3,
      estimated: true,
      method: "bpe",
      encoding: "o200k_base",
      ratio: 1,
      fixedTokens: 0,
    });
    expect(estimate.breakdown).toEqual({
      system: ref(system, "o200k_base"),
      messages: textTokens - ref(system, "o200k_base"),
      tools: 0,
      overhead: 4 * 4 + 3,
      images: 0,
      imagesUpper: 0,
      providerPrompt: 0,
    });
  });

  it("matches OpenAI's documented framing for a plain exchange (cookbook num_tokens_from_messages)", async () => {
    // The cookbook's formula: 3 per message + tokens of role and content, + 3 for the reply.
    const messages = [
      { role: "system", content: "You are a helpful assistant." },
      { role: "user", content: "Hello!" },
    ];
    let expected = 3;
    for (const m of messages) expected += 3 + ref(m.role, "cl100k_base") + ref(m.content, "cl100k_base");
    const estimate = await estimator.estimateRequest(
      request({ system: "You are a helpful assistant.", messages: [{ role: "user", content: "Hello!" }] }),
      GPT4,
    );
    expect(estimate.inputTokens).toBe(expected);
  });

  const weather: ToolDefinition = {
    name: "get_weather",
    description: "Current weather for a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } },
      required: ["city"],
    },
  };

  it("counts tool schemas as their JSON, with the tool-list wrapper, and a forced tool's name", async () => {
    const plain = await estimator.estimateRequest(request({}), GPT4O);
    const withTools = await estimator.estimateRequest(request({ tools: [weather] }), GPT4O);
    const json = JSON.stringify({
      name: weather.name,
      description: weather.description,
      parameters: weather.parameters,
    });
    expect(withTools.breakdown.tools).toBe(ref(json, "o200k_base"));
    expect(withTools.inputTokens - plain.inputTokens).toBe(ref(json, "o200k_base") + 9);
    const forced = await estimator.estimateRequest(
      request({ tools: [weather], toolChoice: { type: "tool", name: "get_weather" } }),
      GPT4O,
    );
    expect(forced.inputTokens - withTools.inputTokens).toBe(ref("get_weather", "o200k_base"));
  });

  it("counts a JSON schema response format", async () => {
    const schema = { type: "object", properties: { answer: { type: "string" } }, required: ["answer"] };
    const plain = await estimator.estimateRequest(request({}), GPT4O);
    const structured = await estimator.estimateRequest(
      request({ responseFormat: { type: "json-schema", name: "answer", schema } }),
      GPT4O,
    );
    const json = JSON.stringify({ name: "answer", schema });
    expect(structured.inputTokens - plain.inputTokens).toBe(ref(json, "o200k_base"));
  });

  it("counts tool calls (name, arguments, framing) and tool results as messages", async () => {
    const args = '{"city":"Paris"}';
    const result = '{"temperature":21,"sky":"clear"}';
    const estimate = await estimator.estimateRequest(
      request({
        messages: [
          { role: "user", content: "Weather in Paris?" },
          {
            role: "assistant",
            content: [{ type: "tool-call", id: "call_1", name: "get_weather", arguments: args }],
          },
          { role: "tool", content: [{ type: "tool-result", toolCallId: "call_1", content: result }] },
        ],
      }),
      GPT4O,
    );
    const text = ["Weather in Paris?", "get_weather", args, result].reduce(
      (n, t) => n + ref(t, "o200k_base"),
      0,
    );
    expect(estimate.breakdown.messages).toBe(text);
    expect(estimate.breakdown.overhead).toBe(3 * 4 + 3 + 3);
    expect(estimate.inputTokens).toBe(text + 18);
  });

  it("leaves earlier turns' reasoning out of the estimate but not out of the bound", async () => {
    const reasoning = "Let me think step by step. ".repeat(50);
    const plain = await estimator.estimateRequest(
      request({ messages: [{ role: "assistant", content: [{ type: "text", text: "ok" }] }] }),
      CLAUDE,
    );
    const withReasoning = await estimator.estimateRequest(
      request({
        messages: [
          {
            role: "assistant",
            content: [
              { type: "reasoning", text: reasoning, signature: "sig" },
              { type: "text", text: "ok" },
            ],
          },
        ],
      }),
      CLAUDE,
    );
    expect(withReasoning.inputTokens).toBe(plain.inputTokens);
    expect(withReasoning.upperBound - plain.upperBound).toBe(Buffer.byteLength(reasoning));
  });

  it("counts images by the provider's formula, from the data URL's size or a fixed estimate", async () => {
    const png = Buffer.alloc(33);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]).copy(png, 0);
    png.write("IHDR", 12, "latin1");
    png.writeUInt32BE(2048, 16);
    png.writeUInt32BE(4096, 20);
    const inline = `data:image/png;base64,${png.toString("base64")}`;
    const image = (url: string, detail?: "low" | "high" | "auto") =>
      request({
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "What is this?" },
              { type: "image", url, ...(detail ? { detail } : {}) },
            ],
          },
        ],
      });
    const remote = "https://example.com/cat.jpg";
    const known = await estimator.estimateRequest(image(inline), GPT4O);
    expect([known.breakdown.images, known.breakdown.imagesUpper]).toEqual([1105, 1105]);
    expect((await estimator.estimateRequest(image(remote, "low"), GPT4O)).breakdown.images).toBe(85);
    const unknown = await estimator.estimateRequest(image(remote), GPT4O);
    expect(unknown.breakdown.images).toBe(765);
    expect(unknown.breakdown.imagesUpper).toBe(85 + 8 * 170); // its size unknown: at its largest
    expect(unknown.fixedTokens).toBe(765);
    expect(unknown.inputTokens).toBe(unknown.countedTokens + 765);
    expect(unknown.upperBound).toBeGreaterThanOrEqual(unknown.countedTokens + 85 + 8 * 170);
    expect(
      (await estimator.estimateRequest(image(remote), { provider: "openai", model: "gpt-4o-mini" })).breakdown
        .images,
    ).toBe(2833 + 4 * 5667);
    expect((await estimator.estimateRequest(image(remote), CLAUDE)).breakdown.images).toBe(1600);
    // Images in tool results count too.
    const inToolResult = await estimator.estimateRequest(
      request({
        messages: [
          {
            role: "tool",
            content: [
              {
                type: "tool-result",
                toolCallId: "c",
                content: [{ type: "image", url: remote, detail: "low" }],
              },
            ],
          },
        ],
      }),
      GPT4O,
    );
    expect(inToolResult.breakdown.images).toBe(85);
  });

  it("does not count image data as text against the byte cap", async () => {
    const small = tokenEstimator({ maxInputBytes: 1024 });
    const url = `data:image/png;base64,${Buffer.alloc(100_000).toString("base64")}`;
    const estimate = await small.estimateRequest(
      request({ messages: [{ role: "user", content: [{ type: "image", url }] }] }),
      GPT4O,
    );
    expect(estimate.bytes).toBe(0);
    expect(estimate.breakdown.images).toBe(765);
  });

  it("adds Anthropic's tool-use system prompt, by model and tool choice, without the ratio", async () => {
    const auto = await estimator.estimateRequest(request({ tools: [weather] }), CLAUDE);
    expect(auto.breakdown.providerPrompt).toBe(346);
    const forced = await estimator.estimateRequest(
      request({ tools: [weather], toolChoice: "required" }),
      CLAUDE,
    );
    expect(forced.breakdown.providerPrompt).toBe(313);
    const haiku3 = await estimator.estimateRequest(request({ tools: [weather] }), {
      provider: "anthropic",
      model: "claude-3-haiku-20240307",
    });
    expect(haiku3.breakdown.providerPrompt).toBe(264);
    expect(auto.inputTokens).toBe(Math.ceil(auto.countedTokens * auto.ratio) + 346);
    expect(
      (await estimator.estimateRequest(request({ tools: [weather] }), GPT4O)).breakdown.providerPrompt,
    ).toBe(0);
  });

  it("estimates Anthropic models as cl100k_base x the default ratio", async () => {
    const text = "Summarize the following paragraph in one sentence.";
    const estimate = await estimator.estimateRequest(
      request({ messages: [{ role: "user", content: text }] }),
      CLAUDE,
    );
    expect(estimate).toMatchObject({ method: "calibrated", encoding: "cl100k_base", ratio: 1.2 });
    expect(estimate.countedTokens).toBe(ref(text, "cl100k_base") + 4 + 3);
    expect(estimate.inputTokens).toBe(Math.ceil(estimate.countedTokens * 1.2));
    expect(
      (await estimator.estimateRequest(request({}), { provider: "anthropic", model: "claude-opus-4-7" }))
        .ratio,
    ).toBe(1.6);
    expect(await estimator.countText(text, CLAUDE)).toBe(Math.ceil(ref(text, "cl100k_base") * 1.2));
  });

  it("keeps upperBound at or above inputTokens, and the byte-only bound at or above the estimate", async () => {
    const requests = [
      request({}),
      request({ system: "日本語のシステムプロンプト", tools: [weather] }),
      request({ messages: [{ role: "user", content: "😀".repeat(1000) }] }),
      request({ messages: [{ role: "user", content: [{ type: "image", url: "https://x/y.png" }] }] }),
    ];
    for (const r of requests) {
      for (const model of [GPT4O, GPT4, CLAUDE]) {
        const estimate = await estimator.estimateRequest(r, model);
        expect(estimate.upperBound).toBeGreaterThanOrEqual(estimate.inputTokens);
        const fast = estimator.upperBound(r, model);
        expect(fast.bytes).toBe(estimate.bytes);
        expect(fast.upperBound).toBeGreaterThanOrEqual(estimate.inputTokens);
      }
    }
  });

  it("names a tool whose parameters cannot be serialized", async () => {
    const cyclic: Record<string, unknown> = { type: "object" };
    cyclic.self = cyclic;
    await expect(
      estimator.estimateRequest(request({ tools: [{ name: "loop", parameters: cyclic }] }), GPT4O),
    ).rejects.toThrow(/request\.tools\[0\]\.parameters/);
  });
});

describe("S4: a megabyte of unbroken text", () => {
  const megabyte = randomLetters(1024 * 1024, seeded(11));
  const big = request({ messages: [{ role: "user", content: megabyte }] });

  it("is refused with InputTooLargeError when over the cap, from its byte size alone", async () => {
    const capped = tokenEstimator({ maxInputBytes: 512 * 1024 });
    const error = await capped.estimateRequest(big, GPT4O).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputTooLargeError);
    expect(error).toBeInstanceOf(FrugalError);
    expect(error).toMatchObject({
      bytes: 1024 * 1024,
      maxBytes: 512 * 1024,
      provider: "openai",
      model: "gpt-4o",
    });
    expect((error as Error).message).not.toContain("aaaa");
    expect(() => capped.upperBound(big, GPT4O)).toThrow(InputTooLargeError);
    await expect(capped.countText(megabyte, GPT4O)).rejects.toBeInstanceOf(InputTooLargeError);
    // A cap that counts everything tokenized: the system prompt, tools and messages add up.
    const halves = request({
      system: megabyte.slice(0, 300_000),
      messages: [{ role: "user", content: megabyte.slice(0, 300_000) }],
    });
    await expect(capped.estimateRequest(halves, GPT4O)).rejects.toBeInstanceOf(InputTooLargeError);
  });

  it("is counted piecewise when under the cap (linear: this test only has to finish)", async () => {
    const estimator = tokenEstimator();
    const estimate = await estimator.estimateRequest(big, GPT4O);
    // Random lowercase letters are ~1.9 characters a token in o200k_base.
    expect(estimate.breakdown.messages).toBeGreaterThan(megabyte.length / 2.5);
    expect(estimate.breakdown.messages).toBeLessThan(megabyte.length / 1.5);
    expect(estimate.upperBound).toBeGreaterThanOrEqual(estimate.inputTokens);
  });

  it("counts a 200k-character run without whitespace within 1% of js-tiktoken on the same text chunked", async () => {
    const run = randomLetters(200_000, seeded(5));
    const estimator = tokenEstimator();
    let chunked = 0;
    for (let i = 0; i < run.length; i += 64) chunked += ref(run.slice(i, i + 64), "o200k_base");
    const counted = await estimator.countText(run, GPT4O);
    expect(Math.abs(counted - chunked) / chunked).toBeLessThan(0.01);
  });

  it("counts a 200k-character base64 blob within 0.5% of js-tiktoken's unsplit count", async () => {
    const random = seeded(9);
    const blob = Buffer.from(Array.from({ length: 150_000 }, () => Math.floor(random() * 256))).toString(
      "base64",
    );
    const estimator = tokenEstimator();
    for (const [model, encoding] of [
      [GPT4O, "o200k_base"],
      [GPT4, "cl100k_base"],
    ] as const) {
      const exact = ref(blob, encoding);
      const counted = await estimator.countText(blob, model);
      expect(Math.abs(counted - exact) / exact).toBeLessThan(0.005);
    }
  });

  it("keeps emoji runs whole: a long run of surrogate pairs counts as the sum of its emoji", async () => {
    const estimator = tokenEstimator();
    const one = ref("😀", "o200k_base");
    expect(await estimator.countText("😀".repeat(50_000), GPT4O)).toBe(50_000 * one);
  });
});

describe("countOutputText (A1: pricing a stream cut short)", () => {
  it("counts received text as countText does", async () => {
    const estimator = tokenEstimator();
    const text = "The answer is 42, because the question was badly posed.";
    expect(await estimator.countOutputText(text, GPT4O)).toBe(ref(text, "o200k_base"));
    expect(await estimator.countOutputText(text, CLAUDE)).toBe(await estimator.countText(text, CLAUDE));
  });

  it("never throws for size: over the cap it extrapolates from a sample", async () => {
    const estimator = tokenEstimator({ maxInputBytes: 100_000 });
    const text = "All work and no play makes Jack a dull boy. ".repeat(10_000);
    const exact = ref(text, "o200k_base");
    const counted = await estimator.countOutputText(text, GPT4O);
    expect(Math.abs(counted - exact) / exact).toBeLessThan(0.02);
  });
});

describe("calibration", () => {
  const estimateFor = async (estimator: TokenEstimator, model: ModelRef): Promise<TokenEstimate> =>
    estimator.estimateRequest(
      request({
        messages: [{ role: "user", content: "Explain the difference between TCP and UDP. ".repeat(20) }],
      }),
      model,
    );

  it("does not ask to learn before anything has estimated with the model's encoding", async () => {
    vi.resetModules(); // a fresh process: no encoding table loaded yet
    const fresh = (await import("./estimator.js")).tokenEstimator();
    expect(fresh.wantsSample(CLAUDE)).toBe(false);
    await fresh.preload(["cl100k_base"]);
    expect(fresh.wantsSample(CLAUDE)).toBe(true);
  });

  it("asks to learn from every answer until a model settles, no more at once than are missing, then from one in sampleEvery", async () => {
    const estimator = tokenEstimator({ calibration: { settleSamples: 2, sampleEvery: 3 } });
    await estimator.preload(); // as a budget or a router would have, estimating
    expect(estimator.wantsSample(GPT4O)).toBe(false); // an exact count: nothing to learn
    // A burst of first answers asks for the two samples missing, not five.
    expect(Array.from({ length: 5 }, () => estimator.wantsSample(CLAUDE))).toEqual([
      true,
      true,
      false,
      false,
      false,
    ]);
    const small = request({ messages: [{ role: "user", content: "Explain TCP and UDP. ".repeat(20) }] });
    const { countedTokens } = await estimator.estimateRequest(small, CLAUDE);
    await estimator.observeRequest(small, CLAUDE, Math.round(countedTokens * 1.3));
    await estimator.observeRequest(small, CLAUDE, Math.round(countedTokens * 1.3));
    expect(estimator.calibration(CLAUDE).samples).toBe(2);
    expect(Array.from({ length: 6 }, () => estimator.wantsSample(CLAUDE))).toEqual([
      false,
      false,
      true,
      false,
      false,
      true,
    ]);
    expect(tokenEstimator({ calibration: { sampleEvery: 0 } }).wantsSample(CLAUDE)).toBe(false);
    expect(tokenEstimator({ calibrateOpenAI: true }).wantsSample(GPT4O)).toBe(true);
  });

  it("learns from a request and the provider's count (observeRequest), and never rejects", async () => {
    const estimator = tokenEstimator({ maxInputBytes: 1000 });
    const small = request({ messages: [{ role: "user", content: "Explain TCP and UDP. ".repeat(20) }] });
    const { countedTokens } = await estimator.estimateRequest(small, CLAUDE);
    expect(await estimator.observeRequest(small, CLAUDE, countedTokens * 1.5)).toBe(true);
    expect(estimator.calibration(CLAUDE).samples).toBe(1);
    const large = request({ messages: [{ role: "user", content: "x ".repeat(1000) }] });
    expect(await estimator.observeRequest(large, CLAUDE, 5000)).toBe(false); // over maxInputBytes
  });

  it("starts from the documented default and converges toward the observed ratio", async () => {
    const estimator = tokenEstimator();
    expect(estimator.calibration(CLAUDE)).toEqual({ ratio: 1.2, samples: 0 });
    const random = seeded(13);
    for (let i = 0; i < 60; i++) {
      const counted = 500 + Math.floor(random() * 5000);
      const noise = 1 + (random() - 0.5) * 0.06;
      expect(estimator.observe(CLAUDE, counted, Math.round(counted * 1.35 * noise))).toBe(true);
    }
    const { ratio, samples } = estimator.calibration(CLAUDE);
    expect(samples).toBe(60);
    expect(ratio).toBeGreaterThan(1.32);
    expect(ratio).toBeLessThan(1.38);
    // Later estimates use it.
    const estimate = await estimateFor(estimator, CLAUDE);
    expect(estimate.ratio).toBe(ratio);
    expect(estimate.inputTokens).toBe(Math.ceil(estimate.countedTokens * ratio) + estimate.fixedTokens);
  });

  it("follows a change of tokenizer within a few dozen requests", () => {
    const estimator = tokenEstimator();
    for (let i = 0; i < 30; i++) estimator.observe(CLAUDE, 1000, 1200);
    for (let i = 0; i < 40; i++) estimator.observe(CLAUDE, 1000, 1600);
    expect(estimator.calibration(CLAUDE).ratio).toBeGreaterThan(1.58);
  });

  it("ignores garbage: zero, negative, non-finite, tiny, out-of-range and outlying samples", () => {
    const estimator = tokenEstimator();
    for (let i = 0; i < 10; i++) estimator.observe(CLAUDE, 1000, 1300);
    const before = estimator.calibration(CLAUDE);
    const garbage: [number, number][] = [
      [0, 100],
      [1000, 0],
      [-5, 100],
      [1000, -1],
      [Number.NaN, 100],
      [1000, Number.POSITIVE_INFINITY],
      [5, 20], // too few tokens to tell
      [1000, 100_000], // 100x: a wrong usage report
      [1000, 100], // 0.1x
      [1000, 2900], // in range, but more than 2x the settled ratio
    ];
    for (const [counted, actual] of garbage) expect(estimator.observe(CLAUDE, counted, actual)).toBe(false);
    expect(estimator.calibration(CLAUDE)).toEqual(before);
  });

  it("takes the estimate itself, separating counted from fixed tokens (images are not scaled)", async () => {
    const estimator = tokenEstimator();
    const estimate = await estimator.estimateRequest(
      request({
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "Describe this picture in detail, please. ".repeat(10) },
              { type: "image", url: "https://example.com/photo.jpg" },
            ],
          },
        ],
      }),
      CLAUDE,
    );
    expect(estimate.fixedTokens).toBe(1600);
    // The provider reported exactly 1.5 x the counted tokens plus the image.
    for (let i = 0; i < 30; i++) {
      estimator.observe(CLAUDE, estimate, Math.round(estimate.countedTokens * 1.5) + estimate.fixedTokens);
    }
    expect(estimator.calibration(CLAUDE).ratio).toBeCloseTo(1.5, 2);
  });

  it("is per model, bounded in how many models it remembers, and resettable", () => {
    const estimator = tokenEstimator({ calibration: { maxModels: 2 } });
    const models = ["claude-a", "claude-b", "claude-c"].map((model) => ({ provider: "anthropic", model }));
    for (const model of models) estimator.observe(model, 1000, 1500);
    expect(estimator.calibrations().map((c) => c.key)).toEqual(["anthropic:claude-b", "anthropic:claude-c"]);
    expect(estimator.calibration(models[0]!)).toEqual({ ratio: 1.2, samples: 0 });
    estimator.resetCalibration(models[1]);
    expect(estimator.calibration(models[1]!).samples).toBe(0);
  });

  it("leaves OpenAI's exact counts alone unless calibrateOpenAI is set", async () => {
    const estimator = tokenEstimator();
    expect(estimator.observe(GPT4O, 1000, 1100)).toBe(false);
    expect(estimator.calibration(GPT4O)).toEqual({ ratio: 1, samples: 0 });
    const calibrating = tokenEstimator({ calibrateOpenAI: true });
    for (let i = 0; i < 20; i++) expect(calibrating.observe(GPT4O, 1000, 1100)).toBe(true);
    expect(calibrating.calibration(GPT4O).ratio).toBeCloseTo(1.1, 1);
    const estimate = await estimateFor(calibrating, GPT4O);
    expect(estimate.method).toBe("calibrated");
    expect(estimate.inputTokens).toBeGreaterThan(estimate.countedTokens);
  });

  it("takes starting ratios from the ratios option, longest prefix first", () => {
    const estimator = tokenEstimator({ ratios: { claude: 1.1, "claude-sonnet-4": 1.25, "mistral-": 0.9 } });
    expect(estimator.calibration(CLAUDE).ratio).toBe(1.25);
    expect(estimator.calibration({ provider: "anthropic", model: "claude-3-haiku" }).ratio).toBe(1.1);
    expect(estimator.calibration({ provider: "mistral", model: "mistral-large" }).ratio).toBe(0.9);
  });
});

describe("options", () => {
  it("rejects bad values with a ConfigError that names the option", () => {
    expect(() => tokenEstimator({ maxInputBytes: 0 })).toThrow(ConfigError);
    expect(() => tokenEstimator({ maxInputBytes: -1 })).toThrow(
      /tokenEstimator[\s\S]*options\.maxInputBytes/,
    );
    expect(() => tokenEstimator({ maxRunChars: 2 })).toThrow(/options\.maxRunChars/);
    expect(() => tokenEstimator({ calibration: { alpha: 0 } })).toThrow(/options\.calibration\.alpha/);
    expect(() => tokenEstimator({ calibration: { minRatio: 2, maxRatio: 1 } })).toThrow(
      /options\.calibration\.minRatio/,
    );
    expect(() => tokenEstimator({ unknown: true } as never)).toThrow(/tokenEstimator/);
  });

  it("has documented defaults", () => {
    const { options } = tokenEstimator();
    expect(options).toMatchObject({
      maxInputBytes: 2 * 1024 * 1024,
      maxRunChars: 256,
      yieldAfterMs: 5,
      calibrateOpenAI: false,
      calibration: { alpha: 0.1, minRatio: 0.5, maxRatio: 3 },
    });
  });
});
