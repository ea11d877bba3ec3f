// The middleware against the real OpenTelemetry SDK (in-memory span exporter and metric reader),
// through createClient and the real OpenAI / Anthropic SDKs pointed at the wire-level fakes.
import Anthropic from "@anthropic-ai/sdk";
import { type Meter, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type FakeServer,
  type FakeUsage,
  startFakeAnthropic,
  startFakeOpenAI,
} from "../../../test/fakes/index.js";
import { type ClientConfig, createClient, type FrugalClient } from "../../client.js";
import type { Completion } from "../../core/completion.js";
import type { CacheOutcome } from "../../core/cost-record.js";
import { ConfigError, RateLimitError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import type { Middleware } from "../../core/middleware.js";
import { completedReply, type Reply } from "../../core/reply.js";
import { priceBook } from "../../pricing/price-book.js";
import { anthropic } from "../../providers/anthropic/index.js";
import { openai } from "../../providers/openai/index.js";
import { type OpenTelemetryOptions, openTelemetry } from "./index.js";

/** Collects on demand: `collect()` returns every instrument's points so far. */
class TestMetricReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

let fakeOpenAI: FakeServer;
let fakeAnthropic: FakeServer;
let exporter: InMemorySpanExporter;
let tracerProvider: BasicTracerProvider;
let reader: TestMetricReader;
let meter: Meter;

const prices = priceBook({
  library: false,
  overrides: {
    "openai:gpt-4o-mini": { input: 0.15, cacheRead: 0.075, output: 0.6 },
    "anthropic:claude-haiku-4-5": { input: 1, cacheRead: 0.1, cacheWrite5m: 1.25, output: 5 },
  },
});

beforeAll(async () => {
  [fakeOpenAI, fakeAnthropic] = await Promise.all([startFakeOpenAI(), startFakeAnthropic()]);
  exporter = new InMemorySpanExporter();
  tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
});
afterAll(() => Promise.all([fakeOpenAI.close(), fakeAnthropic.close(), tracerProvider.shutdown()]));
beforeEach(() => {
  fakeOpenAI.reset();
  fakeAnthropic.reset();
  exporter.reset();
  // A fresh meter per test: cumulative points never carry over from the previous one.
  reader = new TestMetricReader();
  meter = new MeterProvider({ readers: [reader] }).getMeter("frugal-llm-test");
});

function client(
  options: Partial<OpenTelemetryOptions> = {},
  config: Partial<ClientConfig> = {},
  after: Middleware[] = [],
): FrugalClient {
  return createClient({
    providers: {
      openai: openai(new OpenAI({ apiKey: "sk-test", baseURL: fakeOpenAI.baseURL, maxRetries: 0 })),
      anthropic: anthropic(new Anthropic({ apiKey: "test", baseURL: fakeAnthropic.baseURL, maxRetries: 0 })),
    },
    prices,
    middleware: [
      openTelemetry({ tracer: tracerProvider.getTracer("frugal-llm-test"), meter, ...options }),
      ...after,
    ],
    ...config,
  });
}

const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
/** The one span per request: the span with no parent. */
function requestSpan(): ReadableSpan {
  const roots = spans().filter((s) => s.parentSpanContext === undefined);
  expect(roots).toHaveLength(1);
  return roots[0]!;
}
const childrenOf = (parent: ReadableSpan): ReadableSpan[] =>
  spans().filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);

async function points(name: string): Promise<DataPoint<number | Histogram>[]> {
  const { resourceMetrics } = await reader.collect();
  return metricsOf(resourceMetrics).find((m) => m.descriptor.name === name)?.dataPoints ?? [];
}
async function unitOf(name: string): Promise<string | undefined> {
  const { resourceMetrics } = await reader.collect();
  return metricsOf(resourceMetrics).find((m) => m.descriptor.name === name)?.descriptor.unit;
}
function metricsOf(resourceMetrics: ResourceMetrics) {
  return resourceMetrics.scopeMetrics.flatMap((s) => s.metrics) as {
    descriptor: { name: string; unit: string };
    dataPoints: DataPoint<number | Histogram>[];
  }[];
}
const sumOf = (p: DataPoint<number | Histogram> | undefined) =>
  typeof p?.value === "number" ? p.value : p?.value.sum;

const prompt = "Three words about the sea, please.";
const answer = "Waves, salt, horizon.";

const cases: {
  provider: "openai" | "anthropic";
  model: string;
  fake: () => FakeServer;
  usage: FakeUsage;
  /** What the conventions' attributes should say for `usage`. */
  tokens: { input: number; cacheRead: number; cacheCreation: number; output: number };
}[] = [
  {
    provider: "openai",
    model: "gpt-4o-mini",
    fake: () => fakeOpenAI,
    usage: { input: 10, cacheRead: 90, output: 3 },
    tokens: { input: 100, cacheRead: 90, cacheCreation: 0, output: 3 },
  },
  {
    provider: "anthropic",
    model: "claude-haiku-4-5",
    fake: () => fakeAnthropic,
    usage: { input: 10, cacheRead: 90, cacheWrite5m: 20, output: 3 },
    tokens: { input: 120, cacheRead: 90, cacheCreation: 20, output: 3 },
  },
];

describe.each(cases)("openTelemetry with $provider", ({ provider, model, fake, usage, tokens }) => {
  const request = {
    model: `${provider}:${model}`,
    messages: [{ role: "user" as const, content: prompt }],
    maxOutputTokens: 50,
    temperature: 0.2,
    topP: 0.9,
    stop: ["END"],
    seed: 7,
    metadata: { tenant: "acme", task: "faq" },
  };
  const usageAttributes = {
    "gen_ai.usage.input_tokens": tokens.input,
    "gen_ai.usage.output_tokens": tokens.output,
    "gen_ai.usage.cache_read.input_tokens": tokens.cacheRead,
    "gen_ai.usage.cache_creation.input_tokens": tokens.cacheCreation,
  };

  it("records a non-streamed call as a chat span with the GenAI attributes and one attempt span", async () => {
    fake().enqueue({ kind: "text", text: answer, usage });
    const completion = await client().chat(request);

    const span = requestSpan();
    expect(span.name).toBe(`chat ${model}`);
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(span.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": provider,
      "gen_ai.request.model": model,
      "gen_ai.request.max_tokens": 50,
      "gen_ai.request.temperature": 0.2,
      "gen_ai.request.top_p": 0.9,
      "gen_ai.request.stop_sequences": ["END"],
      "gen_ai.request.seed": 7,
      "gen_ai.request.stream": false,
      "gen_ai.response.model": model,
      "gen_ai.response.id": completion.id,
      "gen_ai.response.finish_reasons": ["stop"],
      ...usageAttributes,
      "frugal.request.id": completion.meta.requestId,
      "frugal.request.model_ref": `${provider}:${model}`,
      "frugal.request.tenant": "acme",
      "frugal.request.task": "faq",
      "frugal.cost.priced": true,
      "frugal.cost.usd": completion.cost.usd,
      "frugal.attempts": 1,
    });
    expect(completion.cost.usd).toBeGreaterThan(0);
    expect(span.attributes).not.toHaveProperty("gen_ai.response.time_to_first_chunk");
    expect(span.attributes).not.toHaveProperty("error.type");

    const [attempt, ...others] = childrenOf(span);
    expect(others).toHaveLength(0);
    expect(attempt!.name).toBe(`chat ${model}`);
    expect(attempt!.kind).toBe(SpanKind.CLIENT);
    expect(attempt!.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": provider,
      "gen_ai.request.model": model,
      "frugal.attempt.purpose": "primary",
      ...usageAttributes,
      "frugal.cost.usd": completion.cost.usd,
    });
    expect(attempt!.attributes["frugal.provider.request_id"]).toMatch(/^req_fake/);
    // The attempt span sits inside the request span, on the attempt's own clock readings.
    const startMs = (s: ReadableSpan) => s.startTime[0] * 1e3 + s.startTime[1] / 1e6;
    const endMs = (s: ReadableSpan) => s.endTime[0] * 1e3 + s.endTime[1] / 1e6;
    expect(startMs(attempt!)).toBeCloseTo(completion.meta.attempts[0]!.startedAt, 0);
    expect(startMs(attempt!)).toBeGreaterThanOrEqual(startMs(span));
    expect(endMs(attempt!)).toBeLessThanOrEqual(endMs(span));
  });

  it("records a streamed call the same way, with the time to the first chunk", async () => {
    const delayMs = 60;
    fake().enqueue({ kind: "slow-first-byte", delayMs, next: { kind: "text", text: answer, usage } });
    const stream = client().stream(request);
    let text = "";
    for await (const event of stream) if (event.type === "text-delta") text += event.text;
    const completion = await stream.completion;

    expect(text).toBe(answer);
    const span = requestSpan();
    expect(span.name).toBe(`chat ${model}`);
    expect(span.attributes).toMatchObject({
      "gen_ai.request.stream": true,
      "gen_ai.response.id": completion.id,
      "gen_ai.response.finish_reasons": ["stop"],
      ...usageAttributes,
      "frugal.cost.usd": completion.cost.usd,
    });
    // Timers may fire a millisecond early: the delay is a lower bound, not an exact figure.
    const ttfc = span.attributes["gen_ai.response.time_to_first_chunk"] as number;
    expect(ttfc).toBeGreaterThanOrEqual((delayMs - 5) / 1000);
    expect(childrenOf(span)).toHaveLength(1);

    const [firstChunk] = await points("gen_ai.client.operation.time_to_first_chunk");
    expect(firstChunk!.attributes).toMatchObject({ "gen_ai.provider.name": provider });
    expect(sumOf(firstChunk)).toBeCloseTo(ttfc, 6);
  });
});

describe("openTelemetry", () => {
  const request = { model: "openai:gpt-4o-mini", messages: [{ role: "user" as const, content: prompt }] };

  it("marks a failed call with error.type and an ERROR status, and rethrows the error unchanged", async () => {
    fakeOpenAI.enqueue({ kind: "error", status: 429 });
    const error = await client()
      .chat(request)
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RateLimitError);
    const span = requestSpan();
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    expect(span.attributes).toMatchObject({
      "error.type": "RateLimitError",
      "gen_ai.provider.name": "openai",
      "frugal.attempts": 1,
    });
    expect(span.attributes).not.toHaveProperty("gen_ai.response.id");
    const [attempt] = childrenOf(span);
    expect(attempt!.status.code).toBe(SpanStatusCode.ERROR);
    expect(attempt!.attributes).toMatchObject({
      "error.type": "RateLimitError",
      "http.response.status_code": 429,
      "frugal.error.retryable": true,
    });
    const [duration] = await points("gen_ai.client.operation.duration");
    expect(duration?.attributes).toMatchObject({ "error.type": "RateLimitError" });
    // No usage came back, so no tokens and no cost are reported for the call.
    expect(await points("gen_ai.client.token.usage")).toEqual([]);
    expect(await points("frugal.client.cost")).toEqual([]);
  });

  it("marks a stream that fails before its first event", async () => {
    fakeOpenAI.enqueue({ kind: "error", status: 500 });
    const stream = client().stream(request);
    const error = await (async () => {
      for await (const _ of stream);
    })().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Error);
    const span = requestSpan();
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes["error.type"]).toBe((error as Error).name);
  });

  it("gives each call of next its own attempt span and adds their usage and cost up", async () => {
    const retryOnce: Middleware = {
      name: "retry-once",
      async handle(ctx, next) {
        const first = await next(ctx);
        await first.completion;
        return next({ ...ctx, purpose: "retry" });
      },
    };
    fakeOpenAI.enqueue(
      { kind: "text", text: "first", usage: { input: 10, output: 2 } },
      { kind: "text", text: "second", usage: { input: 10, cacheRead: 5, output: 4 } },
    );
    const completion = await client({}, {}, [retryOnce]).chat(request);

    expect(completion.text).toBe("second");
    const span = requestSpan();
    const attempts = childrenOf(span);
    expect(attempts.map((a) => a.attributes["frugal.attempt.purpose"])).toEqual(["primary", "retry"]);
    expect(attempts.map((a) => a.attributes["gen_ai.usage.input_tokens"])).toEqual([10, 15]);
    const [first, second] = completion.meta.attempts;
    expect(span.attributes).toMatchObject({
      "frugal.attempts": 2,
      "gen_ai.usage.input_tokens": 25,
      "gen_ai.usage.output_tokens": 6,
      "gen_ai.usage.cache_read.input_tokens": 5,
      "frugal.cost.usd": expect.closeTo(usd(first!.cost) + usd(second!.cost), 12),
    });
    const tokenPoints = await points("gen_ai.client.token.usage");
    const input = tokenPoints.filter((p) => p.attributes["gen_ai.token.type"] === "input");
    expect(input.map((p) => [p.attributes["frugal.attempt.purpose"], sumOf(p)])).toEqual([
      ["primary", 10],
      ["retry", 15],
    ]);
  });

  it("records token usage, duration and cost metrics with the conventions' names, units and attributes", async () => {
    fakeOpenAI.enqueue({ kind: "text", text: answer, usage: { input: 10, cacheRead: 90, output: 3 } });
    const completion = await client().chat(request);

    const base = {
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "openai",
      "gen_ai.request.model": "gpt-4o-mini",
    };
    const tokens = await points("gen_ai.client.token.usage");
    expect(await unitOf("gen_ai.client.token.usage")).toBe("{token}");
    expect(tokens.map((p) => [p.attributes, sumOf(p)])).toEqual([
      [{ ...base, "frugal.attempt.purpose": "primary", "gen_ai.token.type": "input" }, 100],
      [{ ...base, "frugal.attempt.purpose": "primary", "gen_ai.token.type": "output" }, 3],
    ]);

    const [duration, ...more] = await points("gen_ai.client.operation.duration");
    expect(more).toHaveLength(0);
    expect(await unitOf("gen_ai.client.operation.duration")).toBe("s");
    expect(duration!.attributes).toEqual({ ...base, "gen_ai.response.model": "gpt-4o-mini" });
    expect((duration!.value as Histogram).count).toBe(1);
    // The advised buckets, not the SDK's default ones (which start at 0 and stop at 10000).
    expect((duration!.value as Histogram).buckets.boundaries[0]).toBe(0.01);

    const [cost] = await points("frugal.client.cost");
    expect(await unitOf("frugal.client.cost")).toBe("USD");
    expect(cost!.attributes).toEqual({ ...base, "frugal.attempt.purpose": "primary" });
    expect(cost!.value).toBeCloseTo(usd(completion.cost), 12);
    // A non-streamed call has no time to first chunk.
    expect(await points("gen_ai.client.operation.time_to_first_chunk")).toEqual([]);
  });

  it("reports an unpriced model as unpriced: no cost attribute and no cost metric, never $0", async () => {
    fakeOpenAI.enqueue({ kind: "text", text: answer, usage: { input: 10, output: 3 } });
    const completion = await client().chat({ ...request, model: "openai:gpt-unpriced" });

    expect(completion.cost.priced).toBe(false);
    const span = requestSpan();
    expect(span.attributes["frugal.cost.priced"]).toBe(false);
    expect(span.attributes["frugal.cost.unpriced_reason"]).toMatch(/no price for openai:gpt-unpriced/);
    expect(span.attributes).not.toHaveProperty("frugal.cost.usd");
    const [attempt] = childrenOf(span);
    expect(attempt!.attributes["frugal.cost.priced"]).toBe(false);
    expect(attempt!.attributes).not.toHaveProperty("frugal.cost.usd");
    expect(await points("frugal.client.cost")).toEqual([]);
    // Tokens are still counted.
    expect((await points("gen_ai.client.token.usage")).length).toBe(2);
  });

  it("never records prompt or answer text by default", async () => {
    fakeOpenAI.enqueue({ kind: "text", text: answer });
    await client().chat({ ...request, system: "You are terse." });

    expect(spans().length).toBeGreaterThan(0);
    const recorded = JSON.stringify(spans().map((s) => [s.name, s.attributes, s.events]));
    expect(recorded).not.toContain(prompt);
    expect(recorded).not.toContain(answer);
    expect(recorded).not.toContain("You are terse.");
    expect(requestSpan().attributes).not.toHaveProperty("gen_ai.input.messages");
    expect(requestSpan().attributes).not.toHaveProperty("gen_ai.output.messages");
  });

  it("records prompt and answer in the conventions' message shape when the host opts in", async () => {
    fakeOpenAI.enqueue({ kind: "text", text: answer });
    await client({ recordPrompts: true }).chat({ ...request, system: "You are terse." });

    const attributes = requestSpan().attributes;
    expect(JSON.parse(attributes["gen_ai.system_instructions"] as string)).toEqual([
      { type: "text", content: "You are terse." },
    ]);
    expect(JSON.parse(attributes["gen_ai.input.messages"] as string)).toEqual([
      { role: "user", parts: [{ type: "text", content: prompt }] },
    ]);
    expect(JSON.parse(attributes["gen_ai.output.messages"] as string)).toEqual([
      { role: "assistant", parts: [{ type: "text", content: answer }], finish_reason: "stop" },
    ]);
    // Only on the request span.
    expect(childrenOf(requestSpan())[0]!.attributes).not.toHaveProperty("gen_ai.input.messages");
  });

  it("gives a cache hit a request span with the cache outcome and no attempt span", async () => {
    const cached: Completion = {
      id: "chatcmpl-cached",
      provider: "openai",
      model: "gpt-4o-mini",
      content: [{ type: "text", text: answer }],
      text: answer,
      toolCalls: [],
      finishReason: "stop",
      usage: { ...zeroUsage, inputTokens: 10, outputTokens: 3 },
      cost: {
        priced: true,
        usd: 0.001,
        breakdown: { input: 0, cacheRead: 0, cacheWrite: 0, output: 0 },
        source: "x",
        estimated: false,
      },
      meta: { requestId: "old", attempts: [], state: {} },
    };
    const cacheHit: Middleware = {
      name: "cache-hit",
      async handle(ctx) {
        (ctx.state as { cache?: CacheOutcome }).cache = { status: "hit", kind: "exact" };
        return completedReply(cached, ctx.request.stream === true);
      },
    };
    const completion = await client({}, {}, [cacheHit]).chat(request);

    expect(completion.text).toBe(answer);
    expect(fakeOpenAI.requests).toHaveLength(0);
    const span = requestSpan();
    expect(childrenOf(span)).toHaveLength(0);
    expect(span.attributes).toMatchObject({
      "frugal.cache.status": "hit",
      "frugal.cache.kind": "exact",
      "frugal.attempts": 0,
      "gen_ai.response.id": "chatcmpl-cached",
      // Nothing was billed for this request.
      "gen_ai.usage.input_tokens": 0,
      "gen_ai.usage.output_tokens": 0,
      "frugal.cost.usd": 0,
    });
    const [duration] = await points("gen_ai.client.operation.duration");
    expect(duration!.attributes["frugal.cache.status"]).toBe("hit");
    expect(await points("gen_ai.client.token.usage")).toEqual([]);
  });

  it("passes the reply through untouched when the tracer records nothing and there is no meter", async () => {
    const seen: { above?: Reply; below?: Reply } = {};
    const above: Middleware = {
      name: "above",
      async handle(ctx, next) {
        seen.above = await next(ctx);
        return seen.above;
      },
    };
    const below: Middleware = {
      name: "below",
      async handle(ctx, next) {
        seen.below = await next(ctx);
        return seen.below;
      },
    };
    // No global provider is registered: this is the API's no-op tracer.
    const noop = openTelemetry({ tracer: trace.getTracer("noop") });
    const llm = createClient({
      providers: {
        openai: openai(new OpenAI({ apiKey: "sk-test", baseURL: fakeOpenAI.baseURL, maxRetries: 0 })),
      },
      middleware: [above, noop, below],
    });
    fakeOpenAI.enqueue({ kind: "text", text: answer });
    const stream = llm.stream(request);
    expect((await stream.finalCompletion()).text).toBe(answer);

    expect(seen.above).toBeDefined();
    expect(seen.above).toBe(seen.below);
    expect(spans()).toHaveLength(0);
  });

  it("still records metrics for a request the host's sampler drops, and no span", async () => {
    const sampledOut = new BasicTracerProvider({
      sampler: new AlwaysOffSampler(),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    fakeOpenAI.enqueue({ kind: "text", text: answer, usage: { input: 10, output: 3 } });
    await client({ tracer: sampledOut.getTracer("frugal-llm-test") }).chat(request);

    expect(spans()).toHaveLength(0);
    expect((await points("gen_ai.client.operation.duration")).length).toBe(1);
    expect((await points("gen_ai.client.token.usage")).map(sumOf)).toEqual([10, 3]);
  });

  it("never fails a call because recording telemetry failed", async () => {
    const warnings: string[] = [];
    const logger: Logger = { debug() {}, info() {}, error() {}, warn: (message) => warnings.push(message) };
    const broken = {
      createHistogram: () => ({
        record() {
          throw new Error("metrics backend down");
        },
      }),
      createCounter: () => ({ add() {} }),
    } as unknown as Meter;
    const llm = client({ tracer: undefined, meter: broken }, { logger });
    fakeOpenAI.enqueue({ kind: "text", text: answer });

    expect((await llm.chat(request)).text).toBe(answer);
    expect(warnings).toEqual(["openTelemetry: could not record a request's telemetry"]);
  });

  it("names the option that is wrong", () => {
    expect(() => openTelemetry({} as never)).toThrow(ConfigError);
    expect(() => openTelemetry({} as never)).toThrow(/options: give a tracer, a meter, or both/);
    expect(() => openTelemetry({ tracer: {} as never })).toThrow(/options\.tracer: expected a Tracer/);
    expect(() => openTelemetry({ meter: 42 as never })).toThrow(/options\.meter: expected a Meter/);
    expect(() => openTelemetry({ meter, recordPrompts: "yes" as never })).toThrow(/options\.recordPrompts/);
    expect(() => openTelemetry({ meter, exporter: {} } as never)).toThrow(/exporter/);
  });
});

const zeroUsage = {
  inputTokens: 0,
  cacheReadTokens: 0,
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
  outputTokens: 0,
  reasoningTokens: 0,
};

function usd(cost: Completion["cost"] | undefined): number {
  if (!cost?.priced) throw new Error("expected a priced cost");
  return cost.usd;
}
