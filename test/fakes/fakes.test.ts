// Drives the fakes through the real SDKs: if these pass, the SDKs accept our wire format.
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeServer, startFakeAnthropic, startFakeOpenAI } from "./index.js";

const user = (content: string) => [{ role: "user" as const, content }];

/** Collects every item of an async iterable; rejects with whatever the iteration throws. */
async function drain<T>(iterable: AsyncIterable<T>, into: T[] = []): Promise<T[]> {
  for await (const item of iterable) into.push(item);
  return into;
}

/** The rejection reason of a promise that must reject. */
const caught = (p: Promise<unknown>): Promise<any> =>
  p.then(
    () => expect.fail("expected a rejection"),
    (e) => e,
  );

describe("fake OpenAI", () => {
  let fake: FakeServer;
  let client: OpenAI;
  const chat = (extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}) =>
    client.chat.completions.create({ model: "gpt-4o-mini", messages: user("Hello there, fake"), ...extra });
  const stream = (extra: Partial<OpenAI.ChatCompletionCreateParamsStreaming> = {}) =>
    client.chat.completions.create({ model: "gpt-4o-mini", messages: user("Hi"), stream: true, ...extra });

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    client = new OpenAI({ apiKey: "sk-test", baseURL: fake.baseURL, maxRetries: 0 });
  });
  beforeEach(() => fake.reset());
  afterAll(() => fake.close());

  it("answers with the default reply and records the request", async () => {
    const res = await chat();
    expect(res.object).toBe("chat.completion");
    expect(res.choices[0]?.message.content).toBe("Fake reply to: Hello there, fake");
    expect(res.choices[0]?.finish_reason).toBe("stop");
    const expectedInput = Math.ceil(JSON.stringify(user("Hello there, fake")).length / 4);
    expect(res.usage).toMatchObject({ prompt_tokens: expectedInput, completion_tokens: 6 });
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]).toMatchObject({ method: "POST", path: "/v1/chat/completions" });
    expect(fake.requests[0]?.headers.authorization).toBe("Bearer sk-test");
    expect(fake.requests[0]?.body.messages).toEqual(user("Hello there, fake"));
  });

  it("returns scripted text, finish reason, model and cached usage", async () => {
    const usage = { input: 10, cacheRead: 90, output: 3 };
    fake.enqueue({ kind: "text", text: "Cut", finishReason: "length", model: "gpt-x", usage });
    const res = await chat();
    expect(res.model).toBe("gpt-x");
    expect(res.choices[0]).toMatchObject({
      finish_reason: "length",
      message: { content: "Cut", refusal: null },
    });
    expect(res.usage).toMatchObject({ prompt_tokens: 100, completion_tokens: 3, total_tokens: 103 });
    expect(res.usage?.prompt_tokens_details?.cached_tokens).toBe(90);
  });

  it("streams text in several deltas, with usage only when include_usage is set", async () => {
    fake.enqueue({ kind: "text", text: "one two three" }, { kind: "text", text: "one two three" });
    const without = await drain(await stream());
    expect(without.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("one two three");
    expect(without.filter((c) => c.choices[0]?.delta.content).length).toBeGreaterThanOrEqual(2);
    expect(without.at(-1)?.choices[0]?.finish_reason).toBe("stop");
    expect(without.every((c) => !("usage" in c))).toBe(true);

    const withUsage = await drain(await stream({ stream_options: { include_usage: true } }));
    const last = withUsage.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage?.completion_tokens).toBe(3);
    expect(withUsage.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it("returns tool calls, plain and streamed", async () => {
    const call = { name: "get_weather", arguments: { city: "Paris", days: 2 } };
    fake.enqueue(
      { kind: "tool-calls", calls: [call] },
      { kind: "tool-calls", calls: [call, { ...call, id: "call_b" }] },
    );
    const parsed = (res: OpenAI.ChatCompletion) =>
      res.choices[0]?.message.tool_calls?.map((c) =>
        c.type === "function" ? [c.id, c.function.name, JSON.parse(c.function.arguments)] : c.type,
      );
    const res = await chat();
    expect(res.choices[0]).toMatchObject({ finish_reason: "tool_calls", message: { content: null } });
    expect(parsed(res)).toEqual([[expect.stringMatching(/^call_/), "get_weather", call.arguments]]);
    const final = await client.chat.completions
      .stream({ model: "m", messages: user("?") })
      .finalChatCompletion();
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
    expect(parsed(final)).toEqual([
      [expect.stringMatching(/^call_/), "get_weather", call.arguments],
      ["call_b", "get_weather", call.arguments],
    ]);
  });

  it("reports reasoning tokens for thinking steps", async () => {
    fake.enqueue({ kind: "thinking", thinking: "let me think hard", text: "42" });
    const res = await chat();
    expect(res.choices[0]?.message.content).toBe("42");
    expect(res.usage?.completion_tokens_details?.reasoning_tokens).toBe(4);
    expect(res.usage?.completion_tokens).toBe(5);
  });

  it("returns refusals plain and streamed", async () => {
    fake.enqueue(
      { kind: "refusal", text: "I can't help with that." },
      { kind: "refusal", text: "No can do." },
    );
    const res = await chat();
    expect(res.choices[0]?.message).toMatchObject({ content: null, refusal: "I can't help with that." });
    const final = await client.chat.completions
      .stream({ model: "m", messages: user("x") })
      .finalChatCompletion();
    expect(final.choices[0]?.message).toMatchObject({ content: null, refusal: "No can do." });
  });

  it("maps 429 with retry-after to RateLimitError, 500 to InternalServerError", async () => {
    fake.enqueue({ kind: "error", status: 429, retryAfter: 7 }, { kind: "error", status: 500 });
    const rate = await caught(chat());
    expect(rate).toBeInstanceOf(OpenAI.RateLimitError);
    expect([rate.status, rate.headers.get("retry-after"), rate.code]).toEqual([
      429,
      "7",
      "rate_limit_exceeded",
    ]);
    expect(rate.requestID).toMatch(/^req_/);
    const server = await caught(chat());
    expect(server).toBeInstanceOf(OpenAI.InternalServerError);
    expect([server.status, server.type]).toEqual([500, "server_error"]);
  });

  it("delays the first byte", async () => {
    fake.enqueue({ kind: "slow-first-byte", delayMs: 250, next: { kind: "text", text: "late" } });
    const started = Date.now();
    const res = await chat();
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
    expect(res.choices[0]?.message.content).toBe("late");
  });

  it("truncated stream throws mid-iteration, with no finish or usage seen", async () => {
    fake.enqueue(
      { kind: "truncated-stream", afterDeltas: 2, text: "a b c d e" },
      { kind: "truncated-stream", afterDeltas: 0 },
    );
    const seen: OpenAI.ChatCompletionChunk[] = [];
    const s = await stream({ stream_options: { include_usage: true } });
    // undici reports the dropped socket as TypeError("terminated"); the SDK passes it through.
    await expect(drain(s, seen)).rejects.toThrow("terminated");
    expect(seen.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("a b");
    expect(seen.some((c) => c.choices[0]?.finish_reason || c.usage)).toBe(false);
    // Not streamed: the body stops halfway through its announced content-length.
    await expect(chat()).rejects.toThrow("terminated");
  });

  it("stall keeps the stream open until the client aborts", async () => {
    fake.enqueue({ kind: "stall", afterDeltas: 1, text: "first second" });
    const s = await stream();
    const seen: string[] = [];
    const timer = setTimeout(() => s.controller.abort(), 300);
    const started = Date.now();
    for await (const c of s) seen.push(c.choices[0]?.delta.content ?? "");
    clearTimeout(timer);
    expect(seen.join("")).toBe("first");
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it("malformed JSON makes the SDK throw, plain and streamed", async () => {
    const quiet = client.withOptions({ logLevel: "off" });
    fake.enqueue({ kind: "malformed-json" }, { kind: "malformed-json" });
    const params = { model: "m", messages: user("x") };
    await expect(quiet.chat.completions.create(params)).rejects.toThrow(SyntaxError);
    await expect(drain(await quiet.chat.completions.create({ ...params, stream: true }))).rejects.toThrow(
      SyntaxError,
    );
  });

  it("reset gives APIConnectionError; hang plus timeout gives APIConnectionTimeoutError", async () => {
    fake.enqueue({ kind: "reset" }, { kind: "hang" });
    const reset = await caught(chat());
    expect(reset).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(reset).not.toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    const impatient = new OpenAI({ apiKey: "sk-test", baseURL: fake.baseURL, maxRetries: 0, timeout: 200 });
    const started = Date.now();
    const hung = await caught(impatient.chat.completions.create({ model: "m", messages: user("x") }));
    expect(hung).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(fake.requests).toHaveLength(2);
  });

  it("embeddings are deterministic unit vectors, and honour error steps", async () => {
    fake.enqueue({ kind: "text", text: "kept for chat" });
    const a = await client.embeddings.create({ model: "text-embedding-3-small", input: ["alpha", "beta"] });
    const b = await client.embeddings.create({ model: "e", input: "alpha", encoding_format: "float" });
    expect(a.data).toHaveLength(2);
    expect(a.data[0]?.embedding).toHaveLength(8);
    expect(a.data[0]?.embedding).toEqual(b.data[0]?.embedding.map(Math.fround));
    expect(a.data[0]?.embedding).not.toEqual(a.data[1]?.embedding);
    expect(Math.hypot(...(b.data[0]?.embedding ?? []))).toBeCloseTo(1, 6);
    expect(a.usage.prompt_tokens).toBe(3); // ceil(5/4) + ceil(4/4)

    fake.enqueue({ kind: "error", status: 500 });
    // The queued text step stays for chat; the error step behind it is not reached first.
    expect((await chat()).choices[0]?.message.content).toBe("kept for chat");
    expect(await caught(client.embeddings.create({ model: "e", input: "x" }))).toBeInstanceOf(
      OpenAI.InternalServerError,
    );
  });
});

describe("fake Anthropic", () => {
  let fake: FakeServer;
  let client: Anthropic;
  const params = (content = "Hello there, fake") => ({
    model: "claude-test",
    max_tokens: 100,
    messages: user(content),
  });
  const create = () => client.messages.create(params());

  beforeAll(async () => {
    fake = await startFakeAnthropic();
    client = new Anthropic({ apiKey: "test", baseURL: fake.baseURL, maxRetries: 0 });
  });
  beforeEach(() => fake.reset());
  afterAll(() => fake.close());

  it("answers with the default reply and records the request", async () => {
    const res = await client.messages.create({ ...params(), system: "Be brief." });
    expect(res).toMatchObject({
      type: "message",
      role: "assistant",
      model: "claude-test",
      stop_reason: "end_turn",
    });
    expect(res.content).toEqual([{ type: "text", text: "Fake reply to: Hello there, fake" }]);
    const promptChars = JSON.stringify(user("Hello there, fake")).length + '"Be brief."'.length;
    expect(res.usage).toMatchObject({ input_tokens: Math.ceil(promptChars / 4), output_tokens: 6 });
    expect(res.usage).toMatchObject({ cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
    expect(fake.requests[0]).toMatchObject({ method: "POST", path: "/v1/messages" });
    // SDK 1.x sends the key as a bearer token; older versions used x-api-key. Either is recorded.
    const { authorization, "x-api-key": apiKey } = fake.requests[0]?.headers ?? {};
    expect(apiKey === "test" || authorization === "Bearer test").toBe(true);
    expect(fake.requests[0]?.body.system).toBe("Be brief.");
  });

  it("streams text; finalMessage() carries the scripted usage", async () => {
    const usage = { input: 5, cacheRead: 100, cacheWrite5m: 20, cacheWrite1h: 30, output: 9 };
    fake.enqueue({ kind: "text", text: "one two three", usage, finishReason: "max_tokens" });
    const s = client.messages.stream(params());
    const deltas: string[] = [];
    s.on("text", (t) => deltas.push(t));
    const final = await s.finalMessage();
    expect(deltas.join("")).toBe("one two three");
    expect(deltas.length).toBeGreaterThanOrEqual(2);
    expect(final.stop_reason).toBe("max_tokens");
    expect(final.usage).toMatchObject({
      input_tokens: 5,
      cache_read_input_tokens: 100,
      cache_creation_input_tokens: 50,
      cache_creation: { ephemeral_5m_input_tokens: 20, ephemeral_1h_input_tokens: 30 },
      output_tokens: 9,
    });
  });

  it("returns tool_use blocks, plain and streamed", async () => {
    const call = { id: "toolu_1", name: "get_weather", arguments: { city: "Paris", days: 2 } };
    fake.enqueue(
      { kind: "tool-calls", calls: [call], text: "Checking." },
      { kind: "tool-calls", calls: [call, call] },
    );
    const res = await create();
    expect(res.stop_reason).toBe("tool_use");
    expect(res.content).toEqual([
      { type: "text", text: "Checking." },
      { type: "tool_use", id: "toolu_1", name: "get_weather", input: call.arguments },
    ]);
    const final = await client.messages.stream(params()).finalMessage();
    expect(final.stop_reason).toBe("tool_use");
    expect(final.content.map((b) => (b.type === "tool_use" ? [b.name, b.input] : b.type))).toEqual([
      ["get_weather", call.arguments],
      ["get_weather", call.arguments],
    ]);
  });

  it("returns a signed thinking block before the text, plain and streamed", async () => {
    const step = { kind: "thinking", thinking: "let me think", text: "42" } as const;
    fake.enqueue(step, step);
    const plain = await create();
    const streamed = await client.messages.stream(params()).finalMessage();
    for (const res of [plain, streamed]) {
      const [thinking, text] = res.content;
      expect(thinking?.type === "thinking" && thinking.thinking).toBe("let me think");
      expect(thinking?.type === "thinking" && thinking.signature).toMatch(/^[A-Za-z0-9+/=]{20,}$/);
      expect(text).toEqual({ type: "text", text: "42" });
      expect(res.usage.output_tokens).toBe(4);
    }
  });

  it("reports refusals with stop_reason refusal", async () => {
    fake.enqueue({ kind: "refusal", text: "I can't help." }, { kind: "refusal", text: "No." });
    expect((await create()).stop_reason).toBe("refusal");
    expect((await client.messages.stream(params()).finalMessage()).stop_reason).toBe("refusal");
  });

  it("maps 429, 500, 529 and 400 to the SDK error classes", async () => {
    fake.enqueue(
      { kind: "error", status: 429, retryAfter: 3 },
      { kind: "error", status: 500 },
      { kind: "error", status: 529 },
      { kind: "error", status: 400, message: "bad input" },
    );
    const rate = await caught(create());
    expect(rate).toBeInstanceOf(Anthropic.RateLimitError);
    expect([rate.status, rate.headers.get("retry-after"), rate.type]).toEqual([429, "3", "rate_limit_error"]);
    expect(rate.requestID).toMatch(/^req_/);
    const server = await caught(create());
    expect(server).toBeInstanceOf(Anthropic.InternalServerError);
    expect([server.status, server.type]).toEqual([500, "api_error"]);
    const overloaded = await caught(create());
    expect(overloaded).toBeInstanceOf(Anthropic.OverloadedError);
    expect([overloaded.status, overloaded.type]).toEqual([529, "overloaded_error"]);
    const bad = await caught(create());
    expect(bad).toBeInstanceOf(Anthropic.BadRequestError);
    expect(bad.error).toMatchObject({
      type: "error",
      error: { type: "invalid_request_error", message: "bad input" },
    });
  });

  it("delays the first byte of a stream", async () => {
    fake.enqueue({ kind: "slow-first-byte", delayMs: 250 });
    const started = Date.now();
    const final = await client.messages.stream(params("slow")).finalMessage();
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
    expect(final.content).toEqual([{ type: "text", text: "Fake reply to: slow" }]);
  });

  it("truncated stream throws, with no message_delta or message_stop seen", async () => {
    fake.enqueue({ kind: "truncated-stream", afterDeltas: 2, text: "a b c d" });
    const events: Anthropic.MessageStreamEvent[] = [];
    const s = await client.messages.create({ ...params(), stream: true });
    await expect(drain(s, events)).rejects.toThrow("terminated");
    const text = events.map((e) =>
      e.type === "content_block_delta" && e.delta.type === "text_delta" ? e.delta.text : "",
    );
    expect(text.join("")).toBe("a b");
    expect(events.some((e) => e.type === "message_delta" || e.type === "message_stop")).toBe(false);
  });

  it("stall leaves the stream open until the client aborts", async () => {
    fake.enqueue({ kind: "stall", afterDeltas: 1, text: "first second" });
    const s = client.messages.stream(params());
    const deltas: string[] = [];
    s.on("text", (t) => deltas.push(t));
    setTimeout(() => s.abort(), 300);
    await expect(s.finalMessage()).rejects.toBeInstanceOf(Anthropic.APIUserAbortError);
    expect(deltas).toEqual(["first"]);
  });

  it("malformed JSON makes the SDK throw, plain and streamed", async () => {
    const quiet = client.withOptions({ logLevel: "off" });
    fake.enqueue({ kind: "malformed-json" }, { kind: "malformed-json" });
    await expect(quiet.messages.create(params())).rejects.toThrow(SyntaxError);
    const s = await quiet.messages.create({ ...params(), stream: true });
    await expect(drain(s)).rejects.toThrow(SyntaxError);
  });

  it("reset gives APIConnectionError; hang plus timeout gives APIConnectionTimeoutError", async () => {
    fake.enqueue({ kind: "reset" }, { kind: "hang" });
    const reset = await caught(create());
    expect(reset).toBeInstanceOf(Anthropic.APIConnectionError);
    expect(reset).not.toBeInstanceOf(Anthropic.APIConnectionTimeoutError);
    const impatient = new Anthropic({ apiKey: "test", baseURL: fake.baseURL, maxRetries: 0, timeout: 200 });
    const hung = await caught(impatient.messages.create(params()));
    expect(hung).toBeInstanceOf(Anthropic.APIConnectionTimeoutError);
  });
});

describe("fake server lifecycle", () => {
  it("close() tears down hanging and stalled requests promptly", async () => {
    const fake = await startFakeOpenAI();
    const client = new OpenAI({ apiKey: "sk-test", baseURL: fake.baseURL, maxRetries: 0 });
    fake.enqueue(
      { kind: "hang" },
      { kind: "stall", afterDeltas: 1 },
      { kind: "slow-first-byte", delayMs: 60_000 },
    );
    const params = { model: "m", messages: user("x") };
    const hung = caught(client.chat.completions.create(params));
    const stalled = caught(client.chat.completions.create({ ...params, stream: true }).then((s) => drain(s)));
    const slow = caught(client.chat.completions.create(params));
    await waitFor(() => fake.requests.length === 3);
    const started = Date.now();
    await fake.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await hung).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(String(await stalled)).toMatch(/terminated/);
    expect(await slow).toBeInstanceOf(OpenAI.APIConnectionError);
  });

  it("uses defaultText and answers unknown routes with the provider's 404 shape", async () => {
    const fake = await startFakeAnthropic({ defaultText: (body) => `echo ${body.messages.length}` });
    const client = new Anthropic({ apiKey: "test", baseURL: fake.baseURL, maxRetries: 0 });
    const res = await client.messages.create({ model: "m", max_tokens: 5, messages: user("q") });
    expect(res.content).toEqual([{ type: "text", text: "echo 1" }]);
    const missing = await caught(client.models.list());
    expect(missing).toBeInstanceOf(Anthropic.NotFoundError);
    await fake.close();
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("waitFor timed out");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
