import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { type FakeServer, startFakeOpenAI } from "../../../test/fakes/index.js";
import { createClient } from "../../client.js";
import type { StreamEvent } from "../../core/completion.js";
import {
  AbortedError,
  ConnectionError,
  FrugalError,
  InvalidRequestError,
  ProviderError,
  RateLimitError,
  StreamInterruptedError,
  TimeoutError,
} from "../../core/errors.js";
import { openai } from "./index.js";

let fake: FakeServer;
const sdk = (options: { timeout?: number } = {}) =>
  new OpenAI({ apiKey: "sk-test", baseURL: fake.baseURL, maxRetries: 0, ...options });
const client = (options: { timeout?: number } = {}) =>
  createClient({ providers: { openai: openai(sdk(options)) } });
const user = (content: string) => [{ role: "user" as const, content }];
const lastBody = () => fake.requests.at(-1)!.body;

beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

async function collect(events: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

describe("openai provider: request translation", () => {
  it("sends every canonical field in Chat Completions form", async () => {
    await client().chat({
      model: "openai:gpt-4o-mini",
      system: "Be brief.",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is in this image?" },
            { type: "image", url: "https://example.com/cat.png", detail: "low" },
          ],
        },
      ],
      maxOutputTokens: 64,
      temperature: 0.2,
      topP: 0.9,
      stop: ["END"],
      seed: 7,
      reasoning: { effort: "low" },
      responseFormat: { type: "json-schema", name: "answer", schema: { type: "object" }, strict: true },
      providerOptions: { openai: { logprobs: true, user: "u-1" } },
    });
    expect(lastBody()).toEqual({
      model: "gpt-4o-mini",
      messages: [
        { role: "system", content: "Be brief." },
        {
          role: "user",
          content: [
            { type: "text", text: "What is in this image?" },
            { type: "image_url", image_url: { url: "https://example.com/cat.png", detail: "low" } },
          ],
        },
      ],
      max_completion_tokens: 64,
      temperature: 0.2,
      top_p: 0.9,
      stop: ["END"],
      seed: 7,
      reasoning_effort: "low",
      response_format: {
        type: "json_schema",
        json_schema: { name: "answer", schema: { type: "object" }, strict: true },
      },
      logprobs: true,
      user: "u-1",
      stream: false,
    });
  });

  it("omits sampling parameters the caller did not set, so the provider's defaults apply", async () => {
    await client().chat({ model: "openai:gpt-4o-mini", messages: user("hi") });
    expect(Object.keys(lastBody()).sort()).toEqual(["messages", "model", "stream"]);
  });

  it("maps JSON mode, tools and tool choice", async () => {
    await client().chat({
      model: "openai:gpt-4o-mini",
      messages: user("weather?"),
      responseFormat: { type: "json" },
      tools: [{ name: "get_weather", description: "Weather", parameters: { type: "object" }, strict: true }],
      toolChoice: { type: "tool", name: "get_weather" },
    });
    expect(lastBody().response_format).toEqual({ type: "json_object" });
    expect(lastBody().tools).toEqual([
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Weather",
          parameters: { type: "object" },
          strict: true,
        },
      },
    ]);
    expect(lastBody().tool_choice).toEqual({ type: "function", function: { name: "get_weather" } });
  });

  it("sends a tool round trip as assistant tool_calls followed by tool messages", async () => {
    await client().chat({
      model: "openai:gpt-4o-mini",
      messages: [
        { role: "user", content: "weather in Paris and Rome?" },
        {
          role: "assistant",
          content: [
            { type: "tool-call", id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
            { type: "tool-call", id: "call_2", name: "get_weather", arguments: '{"city":"Rome"}' },
          ],
        },
        {
          role: "tool",
          content: [
            { type: "tool-result", toolCallId: "call_1", content: "18C" },
            { type: "tool-result", toolCallId: "call_2", content: [{ type: "text", text: "24C" }] },
          ],
        },
      ],
    });
    expect(lastBody().messages.slice(1)).toEqual([
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "call_1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris"}' },
          },
          { id: "call_2", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: "18C" },
      { role: "tool", tool_call_id: "call_2", content: [{ type: "text", text: "24C" }] },
    ]);
  });

  it("refuses an image inside a tool result, which OpenAI cannot carry, before any call", async () => {
    const call = client().chat({
      model: "openai:gpt-4o-mini",
      messages: [
        { role: "assistant", content: [{ type: "tool-call", id: "c", name: "shot", arguments: "{}" }] },
        {
          role: "tool",
          content: [
            { type: "tool-result", toolCallId: "c", content: [{ type: "image", url: "https://x/y.png" }] },
          ],
        },
      ],
    });
    const error = await call.catch((e) => e);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error.attempts).toEqual([]); // nothing was sent, so no attempt is recorded
    expect(fake.requests).toHaveLength(0);
  });

  it("refuses more than 4 stop sequences before sending (OpenAI would answer 400)", async () => {
    const stop = ["a", "b", "c", "d", "e"];
    const error = await client()
      .chat({ model: "openai:gpt-4o-mini", messages: user("hi"), stop })
      .catch((e) => e);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error.message).toContain("at most 4 stop sequences");
    expect(fake.requests).toHaveLength(0);
    fake.enqueue({ kind: "text", text: "ok" });
    await client().chat({ model: "openai:gpt-4o-mini", messages: user("hi"), stop: stop.slice(0, 4) });
    expect(lastBody().stop).toEqual(["a", "b", "c", "d"]);
  });

  it("always asks for usage on a stream", async () => {
    const stream = client().stream({ model: "openai:gpt-4o-mini", messages: user("hi") });
    await collect(stream);
    expect(lastBody()).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });
});

describe("openai provider: responses", () => {
  it("returns text, finish reason, ids and the raw response", async () => {
    fake.enqueue({ kind: "text", text: "Hello there", usage: { input: 12, output: 2 } });
    const res = await client().chat({ model: "openai:gpt-4o-mini", messages: user("hi") });
    expect(res).toMatchObject({
      text: "Hello there",
      provider: "openai",
      model: "gpt-4o-mini",
      finishReason: "stop",
    });
    expect(res.id).toMatch(/^chatcmpl-/);
    expect((res.raw as { object: string }).object).toBe("chat.completion");
    expect(res.meta.attempts[0]?.providerRequestId).toMatch(/^req_/);
  });

  it("moves cached tokens out of prompt_tokens so no token is counted twice", async () => {
    fake.enqueue({
      kind: "text",
      text: "ok",
      usage: { input: 100, cacheRead: 900, output: 50, reasoning: 20 },
    });
    const res = await client().chat({ model: "openai:gpt-4o-mini", messages: user("hi") });
    expect(res.usage).toEqual({
      inputTokens: 100,
      cacheReadTokens: 900,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
      outputTokens: 50,
      reasoningTokens: 20,
    });
  });

  it("gives identical usage streamed and not streamed", async () => {
    const step = {
      kind: "text" as const,
      text: "one two three",
      usage: { input: 40, cacheRead: 60, output: 3, reasoning: 1 },
    };
    fake.enqueue(step, step);
    const plain = await client().chat({ model: "openai:gpt-4o-mini", messages: user("hi") });
    const stream = client().stream({ model: "openai:gpt-4o-mini", messages: user("hi") });
    await collect(stream);
    const streamed = await stream.completion;
    expect(streamed.usage).toEqual(plain.usage);
    expect(streamed.text).toBe(plain.text);
    expect(streamed.finishReason).toBe(plain.finishReason);
  });

  it("returns tool calls with their JSON arguments, streamed and not", async () => {
    const step = {
      kind: "tool-calls" as const,
      calls: [
        { name: "get_weather", arguments: { city: "Paris" } },
        { name: "get_time", arguments: { tz: "CET" } },
      ],
    };
    fake.enqueue(step, step);
    const plain = await client().chat({ model: "openai:gpt-4o-mini", messages: user("hi") });
    const stream = client().stream({ model: "openai:gpt-4o-mini", messages: user("hi") });
    const events = await collect(stream);
    const streamed = await stream.completion;
    for (const res of [plain, streamed]) {
      expect(res.finishReason).toBe("tool-calls");
      expect(res.toolCalls.map((c) => [c.name, JSON.parse(c.arguments)])).toEqual([
        ["get_weather", { city: "Paris" }],
        ["get_time", { tz: "CET" }],
      ]);
      expect(res.toolCalls[0]?.id).toMatch(/^call_/);
    }
    expect(events.filter((e) => e.type === "tool-call-delta").length).toBeGreaterThan(2);
  });

  it("reports a refusal as its own finish reason", async () => {
    fake.enqueue(
      { kind: "refusal", text: "I can't help with that." },
      { kind: "refusal", text: "I can't help with that." },
    );
    const plain = await client().chat({ model: "openai:gpt-4o-mini", messages: user("hi") });
    expect(plain).toMatchObject({ finishReason: "refusal", refusal: "I can't help with that.", text: "" });
    const stream = client().stream({ model: "openai:gpt-4o-mini", messages: user("hi") });
    await collect(stream);
    expect(await stream.completion).toMatchObject({
      finishReason: "refusal",
      refusal: "I can't help with that.",
    });
  });

  it("maps length and content_filter finish reasons", async () => {
    fake.enqueue(
      { kind: "text", text: "cut", finishReason: "length" },
      { kind: "text", text: "x", finishReason: "content_filter" },
    );
    expect((await client().chat({ model: "openai:gpt-4o-mini", messages: user("a") })).finishReason).toBe(
      "length",
    );
    expect((await client().chat({ model: "openai:gpt-4o-mini", messages: user("b") })).finishReason).toBe(
      "content-filter",
    );
  });

  it("streams start, deltas and one finish with usage, in order", async () => {
    fake.enqueue({ kind: "text", text: "alpha beta gamma", usage: { input: 5, output: 3 } });
    const events = await collect(client().stream({ model: "openai:gpt-4o-mini", messages: user("hi") }));
    expect(events[0]).toMatchObject({ type: "start", provider: "openai", model: "gpt-4o-mini" });
    expect(events.at(-1)).toMatchObject({
      type: "finish",
      finishReason: "stop",
      usage: { inputTokens: 5, outputTokens: 3 },
    });
    const text = events.flatMap((e) => (e.type === "text-delta" ? [e.text] : [])).join("");
    expect(text).toBe("alpha beta gamma");
    expect(events.filter((e) => e.type === "finish")).toHaveLength(1);
  });
});

describe("openai provider: failures", () => {
  const chat = (c = client()) => c.chat({ model: "openai:gpt-4o-mini", messages: user("hi") });

  it("turns 429 into a RateLimitError carrying retry-after", async () => {
    fake.enqueue({ kind: "error", status: 429, retryAfter: 3 });
    const error = await chat().catch((e) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ status: 429, retryable: true, retryAfterMs: 3000, provider: "openai" });
    expect(error.attempts).toHaveLength(1);
    expect(error.attempts[0]).toMatchObject({ status: "error", error: { status: 429, retryable: true } });
  });

  it("marks 500 retryable and 400 not", async () => {
    fake.enqueue({ kind: "error", status: 500 }, { kind: "error", status: 400 });
    const server = await chat().catch((e) => e);
    const bad = await chat().catch((e) => e);
    expect(server).toBeInstanceOf(ProviderError);
    expect(server).toMatchObject({ status: 500, retryable: true });
    expect(bad).toMatchObject({ status: 400, retryable: false });
  });

  it("turns a connection reset into a retryable ConnectionError", async () => {
    fake.enqueue({ kind: "reset" });
    const error = await chat().catch((e) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.retryable).toBe(true);
  });

  it("turns an SDK timeout into a TimeoutError", async () => {
    fake.enqueue({ kind: "hang" });
    await expect(chat(client({ timeout: 200 }))).rejects.toBeInstanceOf(TimeoutError);
  });

  it("turns malformed JSON into a FrugalError", async () => {
    fake.enqueue({ kind: "malformed-json" });
    await expect(chat()).rejects.toBeInstanceOf(FrugalError);
  });

  it("waits through a slow first byte", async () => {
    fake.enqueue({ kind: "slow-first-byte", delayMs: 150, next: { kind: "text", text: "late" } });
    expect((await chat()).text).toBe("late");
  });

  it("reports a stream cut mid-delta with the partial answer and an estimated usage", async () => {
    fake.enqueue({ kind: "truncated-stream", afterDeltas: 2, text: "one two three four" });
    const stream = client().stream({ model: "openai:gpt-4o-mini", messages: user("hi") });
    const seen: StreamEvent[] = [];
    const error = await (async () => {
      for await (const e of stream) seen.push(e);
    })().catch((e) => e);
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect(error.partial.text).toBe(seen.flatMap((e) => (e.type === "text-delta" ? [e.text] : [])).join(""));
    expect(error.partial.usage.estimated).toBe(true);
    await expect(stream.completion).rejects.toBe(error);
    expect(error.attempts[0]).toMatchObject({ status: "error", usage: { estimated: true } });
  });

  it("estimates a cut stream's input with an inline image by the image formula, not its data URL's length", async () => {
    // A 1024x1024 PNG header followed by ~1 MB of payload: gpt-4o counts it as 765 tokens (high detail).
    const header = Buffer.alloc(24);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(header, 0);
    header.writeUInt32BE(13, 8);
    header.write("IHDR", 12, "ascii");
    header.writeUInt32BE(1024, 16);
    header.writeUInt32BE(1024, 20);
    const url = `data:image/png;base64,${Buffer.concat([header, Buffer.alloc(750_000)]).toString("base64")}`;
    fake.enqueue({ kind: "truncated-stream", afterDeltas: 1, text: "one two" });
    const stream = client().stream({
      model: "openai:gpt-4o",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "what is this?" },
            { type: "image", url },
          ],
        },
      ],
    });
    const error = await (async () => {
      for await (const _ of stream);
    })().catch((e) => e);
    expect(error).toBeInstanceOf(StreamInterruptedError);
    const input = error.attempts[0].usage.inputTokens;
    expect(input).toBeGreaterThanOrEqual(765);
    expect(input).toBeLessThan(1_000); // not ~250,000 from a million characters
  });

  it("aborts a stalled stream when the caller's signal fires, without hanging", async () => {
    fake.enqueue({ kind: "stall", afterDeltas: 2, text: "one two three" });
    const controller = new AbortController();
    const stream = client().stream(
      { model: "openai:gpt-4o-mini", messages: user("hi") },
      { signal: controller.signal },
    );
    let deltas = 0;
    const error = await (async () => {
      for await (const e of stream) {
        if (e.type === "text-delta" && ++deltas === 2) controller.abort();
      }
    })().catch((e) => e);
    expect(error).toBeInstanceOf(AbortedError);
    await expect(stream.completion).rejects.toBeInstanceOf(AbortedError);
  });

  it("rejects with AbortedError when the signal is already aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    const call = client().chat(
      { model: "openai:gpt-4o-mini", messages: user("hi") },
      { signal: controller.signal },
    );
    await expect(call).rejects.toBeInstanceOf(AbortedError);
  });

  it("cancels the provider call when the reader stops early", async () => {
    fake.enqueue({ kind: "text", text: "a b c d e f g h" });
    const stream = client().stream({ model: "openai:gpt-4o-mini", messages: user("hi") });
    for await (const e of stream) if (e.type === "text-delta") break;
    await expect(stream.completion).rejects.toBeInstanceOf(AbortedError);
  });

  it("closes the provider's connection when the reader stops early, with no signal of the caller's", async () => {
    fake.enqueue({ kind: "text", text: "a b c" });
    for await (const _ of client().stream({ model: "openai:gpt-4o-mini", messages: user("hi") }));
    expect(fake.abandoned()).toBe(0); // a stream read to its end closes nothing early
    fake.enqueue({ kind: "stall", afterDeltas: 1, text: "a b c" }); // the server would wait forever
    const stream = client().stream({ model: "openai:gpt-4o-mini", messages: user("hi") });
    for await (const e of stream) if (e.type === "text-delta") break;
    await expect(stream.completion).rejects.toBeInstanceOf(AbortedError);
    await vi.waitFor(() => expect(fake.abandoned()).toBe(1));
  });

  it("a reader that stops at the finish event has the whole answer: the completion resolves", async () => {
    fake.enqueue({ kind: "text", text: "hello world", usage: { input: 10, output: 2 } });
    const stream = client().stream({ model: "openai:gpt-4o-mini", messages: user("hi") });
    for await (const e of stream) if (e.type === "finish") break;
    const completion = await stream.completion;
    expect(completion.text).toBe("hello world");
    expect(completion.usage.outputTokens).toBe(2);
  });

  it.each([
    ["with a caller's signal", { signal: new AbortController().signal }],
    ["without one", {}],
  ])(
    "a stream closed before its first read settles as aborted and closes the connection, %s",
    async (_, options) => {
      fake.enqueue({ kind: "stall", afterDeltas: 1, text: "a b c" });
      const stream = client().stream({ model: "openai:gpt-4o-mini", messages: user("hi") }, options);
      await vi.waitFor(() => expect(fake.requests).toHaveLength(1));
      await stream[Symbol.asyncIterator]().return?.();
      await expect(stream.completion).rejects.toBeInstanceOf(AbortedError);
      await vi.waitFor(() => expect(fake.abandoned()).toBe(1));
    },
  );
});
