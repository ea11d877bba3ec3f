// The middleware of examples/custom-middleware.ts (shown whole in docs/middleware.md), run
// unchanged through the real SDKs against the wire-level fakes, streamed and not.
// The `expectTypeOf` assertions are checked by `npm run typecheck` (tsc covers test/).
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, expectTypeOf, it } from "vitest";
import { type CallLog, latencyAndUsageLog } from "../examples/custom-middleware.js";
import {
  anthropic,
  type Completion,
  type ContextState,
  createClient,
  type FrugalClient,
  type Logger,
  openai,
  ProviderError,
  type Usage,
  wrapOpenAI,
} from "../src/index.js";
import { type FakeServer, type FakeUsage, startFakeAnthropic, startFakeOpenAI } from "./fakes/index.js";

let fakeOpenAI: FakeServer;
let fakeAnthropic: FakeServer;
let openaiSdk: OpenAI;
let logs: CallLog[];
let llm: FrugalClient;

beforeAll(async () => {
  [fakeOpenAI, fakeAnthropic] = await Promise.all([startFakeOpenAI(), startFakeAnthropic()]);
  openaiSdk = new OpenAI({ apiKey: "sk-test", baseURL: fakeOpenAI.baseURL, maxRetries: 0 });
});
afterAll(() => Promise.all([fakeOpenAI.close(), fakeAnthropic.close()]));
beforeEach(() => {
  fakeOpenAI.reset();
  fakeAnthropic.reset();
  logs = [];
  llm = createClient({
    providers: {
      openai: openai(openaiSdk),
      anthropic: anthropic(new Anthropic({ apiKey: "test", baseURL: fakeAnthropic.baseURL, maxRetries: 0 })),
    },
    middleware: [latencyAndUsageLog({ onLog: (log) => logs.push(log) })],
  });
});

const cases: {
  provider: string;
  model: string;
  fake: () => FakeServer;
  given: FakeUsage;
  usage: Usage;
}[] = [
  {
    provider: "openai",
    model: "gpt-4o-mini",
    fake: () => fakeOpenAI,
    // OpenAI's prompt_tokens (100) includes the 90 cached tokens.
    given: { input: 10, cacheRead: 90, output: 3 },
    usage: {
      inputTokens: 10,
      cacheReadTokens: 90,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
      outputTokens: 3,
      reasoningTokens: 0,
    },
  },
  {
    provider: "anthropic",
    model: "claude-haiku-4-5",
    fake: () => fakeAnthropic,
    given: { input: 10, cacheRead: 90, cacheWrite5m: 20, output: 3 },
    usage: {
      inputTokens: 10,
      cacheReadTokens: 90,
      cacheWrite5mTokens: 20,
      cacheWrite1hTokens: 0,
      outputTokens: 3,
      reasoningTokens: 0,
    },
  },
];

describe.each(cases)("latencyAndUsageLog with $provider", ({ provider, model, fake, given, usage }) => {
  const request = {
    model: `${provider}:${model}`,
    messages: [{ role: "user" as const, content: "Three words, please." }],
    metadata: { tenant: "acme", task: "faq" },
  };

  it("records usage, attempts and latency of a non-streamed call on the completion's state", async () => {
    fake().enqueue({ kind: "text", text: "One two three.", usage: given });
    const completion = await llm.chat(request);

    expect(completion.text).toBe("One two three.");
    expect(logs).toHaveLength(1);
    const log = logs[0]!;
    expect(log).toMatchObject({
      requestId: completion.meta.requestId,
      tenant: "acme",
      task: "faq",
      streamed: false,
      firstEventMs: undefined,
      model: `${provider}:${model}`,
      usage,
      attempts: 1,
      error: undefined,
    });
    expect(log.latencyMs).toBeGreaterThanOrEqual(0);
    // The state a host reads is the very record the callback received.
    expect(completion.meta.state.callLog).toBe(log);
    expect(completion.usage).toEqual(usage);
  });

  it("records the same for a streamed call, with the time to the first event", async () => {
    const delayMs = 80;
    fake().enqueue({
      kind: "slow-first-byte",
      delayMs,
      next: { kind: "text", text: "One two three.", usage: given },
    });
    const stream = llm.stream(request);
    let text = "";
    for await (const event of stream) if (event.type === "text-delta") text += event.text;
    const completion = await stream.completion;

    expect(text).toBe("One two three.");
    expect(logs).toHaveLength(1);
    const log = logs[0]!;
    expect(log).toMatchObject({ streamed: true, model: `${provider}:${model}`, usage, attempts: 1 });
    // Timers may fire a millisecond early; the delay is a lower bound, not an exact figure.
    expect(log.firstEventMs).toBeGreaterThanOrEqual(delayMs - 5);
    expect(log.latencyMs).toBeGreaterThanOrEqual(log.firstEventMs!);
    expect(completion.meta.state.callLog).toBe(log);
  });

  it("logs a failed call with its error and rethrows it unchanged", async () => {
    fake().enqueue({ kind: "error", status: 500 });
    const error = await llm.chat(request).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ProviderError);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      error: "ProviderError",
      model: undefined,
      usage: undefined,
      attempts: 1,
    });
  });

  it("logs a stream that fails before its first event", async () => {
    fake().enqueue({ kind: "error", status: 429 });
    const stream = llm.stream(request);
    const error = await (async () => {
      for await (const _ of stream);
    })().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ProviderError);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ streamed: true, error: "RateLimitError", firstEventMs: undefined });
  });
});

describe("latencyAndUsageLog", () => {
  it("works unchanged under the drop-in wrapper, streamed", async () => {
    fakeOpenAI.enqueue({ kind: "text", text: "Hello there.", usage: { input: 7, output: 2 } });
    const client = wrapOpenAI(openaiSdk, llm, { metadata: () => ({ tenant: "acme" }) });
    const chunks = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
    });
    let text = "";
    for await (const chunk of chunks) text += chunk.choices[0]?.delta.content ?? "";

    expect(text).toBe("Hello there.");
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      tenant: "acme",
      streamed: true,
      model: "openai:gpt-4o-mini",
      usage: { inputTokens: 7, outputTokens: 2 },
    });
    expect(logs[0]!.firstEventMs).toBeGreaterThanOrEqual(0);
  });

  it("never fails a call because the host's callback threw", async () => {
    const errors: string[] = [];
    const logger: Logger = { debug() {}, info() {}, warn() {}, error: (message) => errors.push(message) };
    const throwing = createClient({
      providers: { openai: openai(openaiSdk) },
      middleware: [
        latencyAndUsageLog({
          onLog: () => {
            throw new Error("metrics backend down");
          },
        }),
      ],
      logger,
    });
    const completion = await throwing.chat({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Hi" }],
    });

    expect(completion.text).toBe("Fake reply to: Hi");
    expect(completion.meta.state.callLog?.attempts).toBe(1);
    expect(errors).toEqual(["latencyAndUsageLog: onLog threw"]);
  });

  it("rejects options without an onLog function at construction", () => {
    expect(() => latencyAndUsageLog({} as never)).toThrow("options.onLog must be a function");
  });

  it("gives the state field its declared type, not any", () => {
    expectTypeOf<ContextState["callLog"]>().not.toBeAny();
    expectTypeOf<ContextState["callLog"]>().toEqualTypeOf<CallLog | undefined>();
    expectTypeOf<Completion["meta"]["state"]["callLog"]>().toEqualTypeOf<CallLog | undefined>();
    expectTypeOf<CallLog["usage"]>().toEqualTypeOf<Usage | undefined>();
  });
});
