import OpenAI from "openai";
import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions";
import { Stream } from "openai/streaming";
import { afterAll, beforeAll, beforeEach, describe, expect, expectTypeOf, it } from "vitest";
import { type FakeServer, startFakeOpenAI } from "../../../test/fakes/index.js";
import { createClient } from "../../client.js";
import { InvalidRequestError } from "../../core/errors.js";
import type { Middleware } from "../../core/middleware.js";
import { openai } from "../../providers/openai/index.js";
import { wrapOpenAI } from "./index.js";

let fake: FakeServer;
const direct = () => new OpenAI({ apiKey: "sk-test", baseURL: fake.baseURL, maxRetries: 0 });
// A client whose own base URL goes nowhere: a call that bypassed frugal-llm would fail to connect.
const unreachable = () =>
  new OpenAI({ apiKey: "sk-unused", baseURL: "http://127.0.0.1:9/v1", maxRetries: 0 });
const llmWith = (middleware: Middleware[] = []) =>
  createClient({ providers: { openai: openai(direct()) }, middleware });
const messages = [{ role: "user" as const, content: "Hello" }];

beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

async function chunksOf(stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const out: ChatCompletionChunk[] = [];
  for await (const c of stream) out.push(c);
  return out;
}

describe("wrapOpenAI", () => {
  it("returns the same ChatCompletion a direct SDK call returns", async () => {
    const step = {
      kind: "text" as const,
      text: "Bonjour",
      usage: { input: 20, cacheRead: 10, output: 1, reasoning: 0 },
    };
    fake.enqueue(step, step);
    const expected = await direct().chat.completions.create({ model: "gpt-4o-mini", messages });
    const wrapped = await wrapOpenAI(unreachable(), llmWith()).chat.completions.create({
      model: "gpt-4o-mini",
      messages,
    });
    const strip = (c: ChatCompletion) => ({ ...c, id: "", created: 0 });
    expect(strip(wrapped)).toEqual(strip({ ...expected, choices: expected.choices, usage: expected.usage }));
    expect(wrapped.usage).toMatchObject({ prompt_tokens: 30, prompt_tokens_details: { cached_tokens: 10 } });
    expect(wrapped._request_id).toMatch(/^req_/);
  });

  it("sends the caller's params to OpenAI unchanged, unknown ones included", async () => {
    const params = {
      model: "gpt-4o-mini",
      messages: [
        { role: "system" as const, content: "Be brief." },
        { role: "user" as const, content: "Hi" },
      ],
      max_tokens: 20,
      temperature: 0.5,
      frequency_penalty: 0.3,
      logprobs: true,
      user: "end-user-1",
    };
    await direct().chat.completions.create(params);
    const sent = fake.requests.at(-1)!.body;
    await wrapOpenAI(unreachable(), llmWith()).chat.completions.create(params);
    const wrappedSent = fake.requests.at(-1)!.body;
    // max_tokens travels as its successor, max_completion_tokens; everything else is identical.
    const { max_tokens, ...rest } = sent;
    expect(wrappedSent).toEqual({ ...rest, max_completion_tokens: max_tokens, stream: false });
  });

  it("streams chunks of the SDK's own Stream type, with usage only when the caller asked", async () => {
    const client = wrapOpenAI(unreachable(), llmWith());
    fake.enqueue({ kind: "text", text: "one two" }, { kind: "text", text: "one two" });
    const withUsage = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(withUsage).toBeInstanceOf(Stream);
    const chunks = await chunksOf(withUsage);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("one two");
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 2 } });

    const withoutUsage = await chunksOf(
      await client.chat.completions.create({ model: "gpt-4o-mini", messages, stream: true }),
    );
    expect(withoutUsage.every((c) => !("usage" in c) || c.usage == null)).toBe(true);
    expect(withoutUsage.at(-1)?.choices[0]?.finish_reason).toBe("stop");
    // The library still asked the provider for usage on both calls.
    expect(fake.requests.map((r) => r.body.stream_options)).toEqual([
      { include_usage: true },
      { include_usage: true },
    ]);
  });

  it("streams tool calls that reassemble to the same arguments", async () => {
    fake.enqueue({ kind: "tool-calls", calls: [{ name: "get_weather", arguments: { city: "Paris" } }] });
    const stream = await wrapOpenAI(unreachable(), llmWith()).chat.completions.create({
      model: "gpt-4o-mini",
      messages,
      tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }],
      stream: true,
    });
    let args = "";
    let name = "";
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
        name ||= call.function?.name ?? "";
        args += call.function?.arguments ?? "";
      }
    }
    expect([name, JSON.parse(args)]).toEqual(["get_weather", { city: "Paris" }]);
  });

  it("sends a tool round trip in OpenAI shape through the canonical request and back", async () => {
    await wrapOpenAI(unreachable(), llmWith()).chat.completions.create({
      model: "gpt-4o-mini",
      messages: [
        { role: "user", content: "weather?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "call_1", type: "function", function: { name: "w", arguments: "{}" } }],
        },
        { role: "tool", tool_call_id: "call_1", content: "sunny" },
      ],
    });
    expect(fake.requests.at(-1)!.body.messages).toEqual([
      { role: "user", content: "weather?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "call_1", type: "function", function: { name: "w", arguments: "{}" } }],
      },
      { role: "tool", tool_call_id: "call_1", content: "sunny" },
    ]);
  });

  it("passes every call through the host's middleware with the tenant from the host's context", async () => {
    const tenants: (string | undefined)[] = [];
    const spy: Middleware = {
      name: "spy",
      handle: (ctx, next) => {
        tenants.push(ctx.request.metadata?.tenant);
        return next(ctx);
      },
    };
    let current = "acme";
    const client = wrapOpenAI(unreachable(), llmWith([spy]), { metadata: () => ({ tenant: current }) });
    await client.chat.completions.create({ model: "gpt-4o-mini", messages });
    current = "globex";
    await client.chat.completions.create({ model: "gpt-4o-mini", messages });
    expect(tenants).toEqual(["acme", "globex"]);
  });

  it("refuses SDK helpers that would reach OpenAI without going through the middleware", () => {
    const client = wrapOpenAI(unreachable(), llmWith());
    expect(() => client.chat.completions.stream({ model: "gpt-4o-mini", messages })).toThrow(
      /would bypass frugal-llm/,
    );
    expect(() => client.chat.completions.parse({ model: "gpt-4o-mini", messages })).toThrow(
      /would bypass frugal-llm/,
    );
  });

  it("leaves every other SDK method and property as the SDK's own", () => {
    const sdk = unreachable();
    const client = wrapOpenAI(sdk, llmWith());
    expect(client.baseURL).toBe(sdk.baseURL);
    expect(typeof client.embeddings.create).toBe("function");
    expect(typeof client.chat.completions.list).toBe("function");
  });

  it("rejects what it cannot carry with a typed error, and says so for raw-response helpers", async () => {
    const client = wrapOpenAI(unreachable(), llmWith());
    await expect(
      client.chat.completions.create({ model: "gpt-4o-mini", messages, n: 2 }),
    ).rejects.toBeInstanceOf(InvalidRequestError);
    expect(fake.requests).toHaveLength(0);
    const call = client.chat.completions.create({ model: "gpt-4o-mini", messages });
    await expect(call.withResponse()).rejects.toThrow(/not available on wrapped calls/);
    await expect(call).resolves.toMatchObject({ object: "chat.completion" });
  });

  it("keeps the SDK's types", () => {
    const client = wrapOpenAI(unreachable(), llmWith());
    expectTypeOf(client).toEqualTypeOf<OpenAI>();
    const create = () => client.chat.completions.create({ model: "m", messages });
    expectTypeOf(create).returns.resolves.toExtend<ChatCompletion>();
  });
});
