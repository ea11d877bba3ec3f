import { getEventListeners } from "node:events";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeServer, startFakeOpenAI } from "../test/fakes/index.js";
import { createClient } from "./client.js";
import { type Completion, emptyUsage, type StreamEvent } from "./core/completion.js";
import { NEVER_ABORTED } from "./core/context.js";
import { ConfigError, InvalidRequestError } from "./core/errors.js";
import type { Middleware } from "./core/middleware.js";
import type { Provider } from "./core/provider.js";
import { completedReply } from "./core/reply.js";
import { openai } from "./providers/openai/index.js";

let fake: FakeServer;
const sdk = (maxRetries = 0) => new OpenAI({ apiKey: "sk-test", baseURL: fake.baseURL, maxRetries });
const messages = [{ role: "user" as const, content: "hi" }];

beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

async function drain(events: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

describe("createClient: configuration", () => {
  it("names the field and the expected shape of a bad config", () => {
    expect(() => createClient({ providers: {} })).toThrow(
      /config\.providers: at least one provider is required/,
    );
    expect(() => createClient({ providers: { openai: {} as Provider } })).toThrow(
      /config\.providers\.openai: expected a provider adapter/,
    );
    expect(() =>
      createClient({ providers: { openai: openai(sdk()) }, middleware: [{} as Middleware] }),
    ).toThrow(/config\.middleware\[0\]: expected a middleware/);
    expect(() =>
      createClient({ providers: { openai: openai(sdk()) }, aliases: { fast: "gpt-4o-mini" } }),
    ).toThrow(/config\.aliases\.fast: an alias target is 'provider:model'/);
    expect(() =>
      createClient({ providers: { openai: openai(sdk()) }, aliases: { fast: "anthropic:claude" } }),
    ).toThrow(ConfigError);
  });

  it("rejects unknown config keys rather than ignoring a typo", () => {
    expect(() => createClient({ providers: { openai: openai(sdk()) }, middlewares: [] } as never)).toThrow(
      /Unrecognized key.*middlewares/,
    );
  });
});

describe("createClient: requests", () => {
  it("names the field of an invalid request and makes no provider call", async () => {
    const llm = createClient({ providers: { openai: openai(sdk()) } });
    const error = await llm
      .chat({
        model: "openai:gpt-4o-mini",
        messages: [{ role: "user", content: 42 as never }],
        temperature: 3,
      })
      .catch((e) => e);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error.issues.some((i: string) => i.startsWith("request.messages[0].content"))).toBe(true);
    expect(error.issues.some((i: string) => i.startsWith("request.temperature"))).toBe(true);
    expect(fake.requests).toHaveLength(0);
  });

  it("resolves aliases, provider refs and bare names of a known family", async () => {
    const llm = createClient({
      providers: { openai: openai(sdk()) },
      aliases: { fast: "openai:gpt-4o-mini" },
    });
    for (const model of ["fast", "openai:gpt-4o-mini", "gpt-4o-mini", "ft:gpt-4o-mini:acme"]) {
      await llm.chat({ model, messages });
    }
    expect(fake.requests.map((r) => r.body.model)).toEqual([
      "gpt-4o-mini",
      "gpt-4o-mini",
      "gpt-4o-mini",
      "ft:gpt-4o-mini:acme",
    ]);
  });

  it("refuses 'auto' and unknown providers with a typed error before any call", async () => {
    const llm = createClient({ providers: { openai: openai(sdk()) } });
    await expect(llm.chat({ model: "auto", messages })).rejects.toThrow(/needs a router/);
    await expect(llm.chat({ model: "mistral:large", messages })).rejects.toBeInstanceOf(InvalidRequestError);
    expect(fake.requests).toHaveLength(0);
  });

  it("records every provider call as an attempt and emits it", async () => {
    const llm = createClient({ providers: { openai: openai(sdk()) } });
    const seen: string[] = [];
    llm.on("attempt", ({ attempt }) => seen.push(`${attempt.purpose}:${attempt.status}`));
    const res = await llm.chat({ model: "openai:gpt-4o-mini", messages });
    expect(res.meta.attempts).toHaveLength(1);
    expect(res.meta.attempts[0]).toMatchObject({
      purpose: "primary",
      provider: "openai",
      model: "gpt-4o-mini",
    });
    expect(res.meta.attempts[0]?.endedAt).toBeGreaterThanOrEqual(res.meta.attempts[0]!.startedAt);
    expect(seen).toEqual(["primary:ok"]);
  });

  it("prices calls from the price library by default", async () => {
    fake.enqueue({ kind: "text", text: "ok", usage: { input: 1000, cacheRead: 1000, output: 100 } });
    const res = await createClient({ providers: { openai: openai(sdk()) } }).chat({
      model: "openai:gpt-4o-mini",
      messages,
    });
    expect(res.cost).toMatchObject({ priced: true, source: expect.stringMatching(/genai-prices/) });
    expect(res.cost.usd).toBeCloseTo((1000 * 0.15 + 1000 * 0.075 + 100 * 0.6) / 1e6, 12);
  });

  it("reports an unknown model as unpriced, never $0, and warns once per model", async () => {
    const llm = createClient({ providers: { openai: openai(sdk()) } });
    const warnings: string[] = [];
    llm.on("warning", (w) => warnings.push(w.code));
    const res = await llm.chat({ model: "openai:my-finetune", messages });
    await llm.chat({ model: "openai:my-finetune", messages });
    expect(res.cost).toMatchObject({
      priced: false,
      usd: null,
      reason: expect.stringMatching(/no price for openai:my-finetune/),
    });
    expect(warnings).toEqual(["unpriced-model"]);
  });

  it("estimates, and flags, the usage of an answer that came without any, rather than charging $0", async () => {
    const silent: Provider = {
      name: "silent",
      complete: async () => ({
        id: "x",
        model: "gpt-4o-mini",
        content: [{ type: "text", text: "an answer of forty characters, or so..." }],
        finishReason: "stop",
        usage: { ...emptyUsage(), estimated: true },
        raw: undefined,
      }),
      stream: async () => {
        throw new Error("not used");
      },
    };
    const res = await createClient({ providers: { openai: silent } }).chat({
      model: "openai:gpt-4o-mini",
      messages,
    });
    expect(res.usage).toMatchObject({ estimated: true, outputTokens: 10 });
    expect(res.usage.inputTokens).toBeGreaterThan(0);
    expect(res.cost).toMatchObject({ priced: true, estimated: true });
    expect(res.cost.usd).toBeGreaterThan(0);
  });

  it("keeps serving calls when an event listener throws", async () => {
    const lines: string[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (m: string) => lines.push(m) };
    const llm = createClient({ providers: { openai: openai(sdk()) }, logger });
    llm.on("attempt", () => {
      throw new Error("listener bug");
    });
    await expect(llm.chat({ model: "openai:gpt-4o-mini", messages })).resolves.toMatchObject({
      finishReason: "stop",
    });
    expect(lines).toEqual(['a listener of "attempt" threw']);
  });
});

describe("middleware pipeline", () => {
  const trace = (name: string, log: string[]): Middleware => ({
    name,
    async handle(ctx, next) {
      log.push(`${name}:in`);
      const reply = await next(ctx);
      log.push(`${name}:out`);
      return reply;
    },
  });

  it("runs the first listed middleware outermost, in on the way in and last on the way out", async () => {
    const log: string[] = [];
    const llm = createClient({
      providers: { openai: openai(sdk()) },
      middleware: [trace("a", log), trace("b", log)],
    });
    await llm.chat({ model: "openai:gpt-4o-mini", messages });
    expect(log).toEqual(["a:in", "b:in", "b:out", "a:out"]);
  });

  it("lets a middleware call next several times, each an independent recorded attempt", async () => {
    fake.enqueue({ kind: "error", status: 500 }, { kind: "text", text: "second time lucky" });
    const retryOnce: Middleware = {
      name: "retry-once",
      ownsRetries: true,
      async handle(ctx, next) {
        try {
          return await next(ctx);
        } catch {
          return next({ ...ctx, purpose: "retry", request: { ...ctx.request, temperature: 0 } });
        }
      },
    };
    const llm = createClient({ providers: { openai: openai(sdk()) }, middleware: [retryOnce] });
    const res = await llm.chat({ model: "openai:gpt-4o-mini", messages });
    expect(res.text).toBe("second time lucky");
    expect(res.meta.attempts.map((a) => [a.purpose, a.status])).toEqual([
      ["primary", "error"],
      ["retry", "ok"],
    ]);
    // The changed request reached only the second call; the first call saw the original.
    expect(fake.requests.map((r) => r.body.temperature)).toEqual([undefined, 0]);
  });

  it("turns SDK retries off while a middleware owns retries, so one failure is never retried twice over", async () => {
    const owner: Middleware = { name: "owner", ownsRetries: true, handle: (ctx, next) => next(ctx) };
    fake.enqueue(
      { kind: "error", status: 500 },
      { kind: "error", status: 500 },
      { kind: "error", status: 500 },
    );
    await createClient({ providers: { openai: openai(sdk(2)) } })
      .chat({ model: "openai:gpt-4o-mini", messages })
      .catch(() => {});
    const withSdkRetries = fake.requests.length;
    fake.reset();
    fake.enqueue(
      { kind: "error", status: 500 },
      { kind: "error", status: 500 },
      { kind: "error", status: 500 },
    );
    await createClient({ providers: { openai: openai(sdk(2)) }, middleware: [owner] })
      .chat({ model: "openai:gpt-4o-mini", messages })
      .catch(() => {});
    expect([withSdkRetries, fake.requests.length]).toEqual([3, 1]);
  });

  it("answers without calling next, with meta describing the current request", async () => {
    let stored: Completion | undefined;
    const cache: Middleware = {
      name: "toy-cache",
      async handle(ctx, next) {
        if (stored) return completedReply(stored, ctx.request.stream === true);
        const reply = await next(ctx);
        stored = await reply.completion;
        return reply;
      },
    };
    const llm = createClient({ providers: { openai: openai(sdk()) }, middleware: [cache] });
    const first = await llm.chat({ model: "openai:gpt-4o-mini", messages });
    const second = await llm.chat({ model: "openai:gpt-4o-mini", messages });
    expect(second.text).toBe(first.text);
    expect(second.meta.attempts).toEqual([]);
    expect(second.meta.requestId).not.toBe(first.meta.requestId);
    expect(fake.requests).toHaveLength(1);

    // The same stored completion replays as a stream that reassembles to the same answer.
    const stream = llm.stream({ model: "openai:gpt-4o-mini", messages });
    const events = await drain(stream);
    expect(events.map((e) => e.type)).toEqual(["start", "text-delta", "finish"]);
    expect((await stream.completion).text).toBe(first.text);
    expect(fake.requests).toHaveLength(1);
  });

  it("records a side call made through services.dispatch with its purpose and label", async () => {
    const withSideCall: Middleware = {
      name: "classifier",
      async handle(ctx, next) {
        const side = await ctx.services.dispatch({
          ...ctx,
          purpose: "side-call",
          label: "classifier",
          request: {
            model: "openai:gpt-4o-mini",
            messages: [{ role: "user", content: "simple or complex?" }],
          },
        });
        await side.completion;
        return next(ctx);
      },
    };
    const llm = createClient({ providers: { openai: openai(sdk()) }, middleware: [withSideCall] });
    const stream = llm.stream({ model: "openai:gpt-4o-mini", messages });
    await drain(stream);
    const res = await stream.completion;
    expect(res.meta.attempts.map((a) => [a.purpose, a.label])).toEqual([
      ["side-call", "classifier"],
      ["primary", undefined],
    ]);
  });

  it("settles chat() even when a middleware answers a non-streamed call with a stream", async () => {
    const forceStream: Middleware = {
      name: "force-stream",
      handle: (ctx, next) => next({ ...ctx, request: { ...ctx.request, stream: true } }),
    };
    const llm = createClient({ providers: { openai: openai(sdk()) }, middleware: [forceStream] });
    const res = await llm.chat({ model: "openai:gpt-4o-mini", messages });
    expect(res.text).toMatch(/^Fake reply to: hi/);
  });

  it("reads the stream for a caller that only wants the final answer", async () => {
    const stream = createClient({ providers: { openai: openai(sdk()) } }).stream({
      model: "openai:gpt-4o-mini",
      messages,
    });
    const res = await stream.finalCompletion();
    expect(res.text).toMatch(/^Fake reply to: hi/);
    await expect(stream.completion).resolves.toBe(res);
  });

  it("adds no listener to the signal shared by calls that pass none, however many streams are open", async () => {
    const llm = createClient({ providers: { openai: openai(sdk()) } });
    const streams = Array.from({ length: 12 }, () => llm.stream({ model: "openai:gpt-4o-mini", messages }));
    expect(getEventListeners(NEVER_ABORTED, "abort")).toHaveLength(0);
    await Promise.all(streams.map((s) => s.finalCompletion()));
  });

  it("refuses to read one stream twice instead of returning nothing", async () => {
    const stream = createClient({ providers: { openai: openai(sdk()) } }).stream({
      model: "openai:gpt-4o-mini",
      messages,
    });
    await drain(stream);
    await expect(drain(stream)).rejects.toThrow(/already been read/);
  });
});
