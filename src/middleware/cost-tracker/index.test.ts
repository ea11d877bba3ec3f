import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { type FakeUsage, useFakes } from "../../../test/fakes/index.js";
import { createClient } from "../../client.js";
import type { CostRecord } from "../../core/cost-record.js";
import type { Middleware } from "../../core/middleware.js";
import { completedReply } from "../../core/reply.js";
import { anthropic } from "../../providers/anthropic/index.js";
import { openai } from "../../providers/openai/index.js";
import { memoryLedger } from "../../storage/memory/ledger.js";
import { costTracker } from "./index.js";

const fakes = useFakes();

const KEY = "sk-proj-CANARYcosttracker0123456789";
function setup(middleware: Middleware[] = [], options: Parameters<typeof costTracker>[0] = {}) {
  const records: CostRecord[] = [];
  const tracker = costTracker({ onRecord: (r) => records.push(r), ...options });
  const llm = createClient({
    providers: {
      openai: openai(new OpenAI({ apiKey: KEY, baseURL: fakes().openai.baseURL, maxRetries: 0 })),
      anthropic: anthropic(new Anthropic({ apiKey: KEY, baseURL: fakes().anthropic.baseURL, maxRetries: 0 })),
    },
    middleware: [tracker, ...middleware],
  });
  return { llm, records, tracker };
}
const ask = (model: string, extra: object = {}) => ({
  model,
  messages: [{ role: "user" as const, content: "hello" }],
  metadata: { tenant: "acme", user: "u1", task: "faq", tags: ["t"] },
  ...extra,
});
async function streamed(llm: ReturnType<typeof setup>["llm"], request: ReturnType<typeof ask>) {
  return llm.stream(request).finalCompletion();
}

// Published per-million prices used to check costs by hand (see src/pricing/price-book.test.ts).
const MINI = { input: 0.15, cached: 0.075, output: 0.6 };
const HAIKU = { input: 1, read: 0.1, write5m: 1.25, write1h: 2, output: 5 };

describe("costTracker: one record per request, priced to the micro-dollar", () => {
  it.each([
    ["not streamed", false],
    ["streamed", true],
  ])("OpenAI with cached input and reasoning tokens, %s (A2, A4)", async (_label, stream) => {
    const { llm, records } = setup();
    const usage: FakeUsage = { input: 1000, cacheRead: 3000, output: 500, reasoning: 400 };
    fakes().openai.enqueue({ kind: "text", text: "answer", usage });
    const res = stream
      ? await streamed(llm, ask("openai:gpt-4o-mini"))
      : await llm.chat(ask("openai:gpt-4o-mini"));
    const r = records[0]!;
    expect(records).toHaveLength(1);
    expect(r.usage).toEqual({
      inputTokens: 1000,
      cacheReadTokens: 3000,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
      outputTokens: 500,
      reasoningTokens: 400,
    });
    const expected = (1000 * MINI.input + 3000 * MINI.cached + 500 * MINI.output) / 1e6;
    expect(r.cost.usd).toBeCloseTo(expected, 12);
    expect(r).toMatchObject({
      tenant: "acme",
      user: "u1",
      task: "faq",
      tags: ["t"],
      status: "ok",
      streamed: stream,
    });
    expect(r).toMatchObject({
      provider: "openai",
      model: "gpt-4o-mini",
      requestedModel: "openai:gpt-4o-mini",
    });
    expect(res.meta.state.costRecord).toBe(r);
    expect(r.timeToFirstTokenMs === null).toBe(!stream);
  });

  it.each([
    ["not streamed", false],
    ["streamed", true],
  ])("Anthropic cache reads and 5m / 1h writes at their own rates, %s (A2, A3)", async (_label, stream) => {
    const { llm, records } = setup();
    fakes().anthropic.enqueue({
      kind: "text",
      text: "ok",
      usage: { input: 100, cacheRead: 500, cacheWrite5m: 1000, cacheWrite1h: 2000, output: 50 },
    });
    if (stream) await streamed(llm, ask("anthropic:claude-haiku-4-5"));
    else await llm.chat(ask("anthropic:claude-haiku-4-5"));
    const r = records[0]!;
    expect(r.usage).toMatchObject({
      inputTokens: 100,
      cacheReadTokens: 500,
      cacheWrite5mTokens: 1000,
      cacheWrite1hTokens: 2000,
    });
    const expected =
      (100 * HAIKU.input +
        500 * HAIKU.read +
        1000 * HAIKU.write5m +
        2000 * HAIKU.write1h +
        50 * HAIKU.output) /
      1e6;
    expect(r.cost.usd).toBeCloseTo(expected, 12);
    expect(r.cost.priced && r.cost.breakdown.cacheWrite).toBeCloseTo((1000 * 1.25 + 2000 * 2) / 1e6, 12);
  });

  it("records a tool call's tokens like any answer", async () => {
    const { llm, records } = setup();
    fakes().openai.enqueue({
      kind: "tool-calls",
      calls: [{ name: "get_weather", arguments: { city: "Paris" } }],
      usage: { input: 80, output: 20 },
    });
    await llm.chat(ask("openai:gpt-4o-mini"));
    expect(records[0]!.cost.usd).toBeCloseTo((80 * MINI.input + 20 * MINI.output) / 1e6, 12);
  });

  it("charges a stream cut before its usage an estimate flagged as such, never $0 or NaN (A1)", async () => {
    const { llm, records } = setup();
    fakes().openai.enqueue({ kind: "truncated-stream", afterDeltas: 3, text: "one two three four five" });
    await expect(streamed(llm, ask("openai:gpt-4o-mini"))).rejects.toThrow(/cut short/);
    const r = records[0]!;
    expect(r.status).toBe("error");
    expect(r.usage.estimated).toBe(true);
    expect(r.usage.inputTokens).toBeGreaterThan(0);
    expect(r.usage.outputTokens).toBeGreaterThan(0);
    expect(r.cost.estimated).toBe(true);
    expect(r.cost.usd).toBeGreaterThan(0);
    expect(Number.isFinite(r.cost.usd)).toBe(true);
  });

  it("charges an Anthropic stream cut mid-answer the input it reported at the start (A1)", async () => {
    const { llm, records } = setup();
    const complete = await llm.chat(ask("anthropic:claude-haiku-4-5")); // what the provider counts for this prompt
    fakes().anthropic.enqueue({ kind: "truncated-stream", afterDeltas: 2, text: "one two three four" });
    await expect(streamed(llm, ask("anthropic:claude-haiku-4-5"))).rejects.toThrow();
    const cut = records[1]!;
    expect(cut.usage).toMatchObject({ inputTokens: complete.usage.inputTokens, estimated: true });
    expect(cut.usage.outputTokens).toBeGreaterThan(0);
    expect(cut.cost.usd).toBeGreaterThan(0);
  });

  it("reports an unknown model as unpriced, never $0 (A6)", async () => {
    const { llm, records } = setup();
    await llm.chat(ask("openai:gpt-in-house-7"));
    expect(records[0]!.cost).toMatchObject({ priced: false, usd: null });
    expect(records[0]!.savingsUsd).toBeNull();
  });
});

describe("costTracker: every attempt is in the record, priced at its own model (A7)", () => {
  it("a rejected cheap answer, a judge side call and the escalation", async () => {
    const cascade: Middleware = {
      name: "toy-cascade",
      async handle(ctx, next) {
        const cheap = await next({ ...ctx, request: { ...ctx.request, model: "openai:gpt-4o-mini" } });
        await cheap.completion;
        const judge = await ctx.services.dispatch({
          ...ctx,
          purpose: "side-call",
          label: "judge",
          request: { model: "openai:gpt-4o-mini", messages: [{ role: "user", content: "good enough?" }] },
        });
        await judge.completion;
        return next({
          ...ctx,
          purpose: "escalation",
          request: { ...ctx.request, model: "anthropic:claude-haiku-4-5" },
        });
      },
    };
    const { llm, records } = setup([cascade]);
    fakes().openai.enqueue(
      { kind: "text", text: "meh", usage: { input: 100, output: 10 } },
      { kind: "text", text: "no", usage: { input: 50, output: 1 } },
    );
    fakes().anthropic.enqueue({ kind: "text", text: "great", usage: { input: 100, output: 20 } });
    const res = await llm.chat(ask("auto"));
    const r = records[0]!;
    expect(res.text).toBe("great");
    expect(r.attempts.map((a) => [a.purpose, a.provider, a.label])).toEqual([
      ["primary", "openai", undefined],
      ["side-call", "openai", "judge"],
      ["escalation", "anthropic", undefined],
    ]);
    const cheapCost = (100 * MINI.input + 10 * MINI.output) / 1e6;
    const judgeCost = (50 * MINI.input + 1 * MINI.output) / 1e6;
    const strongCost = (100 * HAIKU.input + 20 * HAIKU.output) / 1e6;
    expect(r.attempts.map((a) => a.cost?.usd)).toEqual(
      [cheapCost, judgeCost, strongCost].map((x) => expect.closeTo(x, 12)),
    );
    expect(r.cost.usd).toBeCloseTo(cheapCost + judgeCost + strongCost, 12);
    expect(r.retryCostUsd).toBeCloseTo(cheapCost, 12);
    expect(r.usage.inputTokens).toBe(250);
    expect([r.provider, r.model]).toEqual(["anthropic", "claude-haiku-4-5"]);
    expect(r.baseline).toBeNull(); // "auto" names no model to compare with
  });

  it("a failed attempt and its retry", async () => {
    const retry: Middleware = {
      name: "toy-retry",
      ownsRetries: true,
      handle: (ctx, next) => next(ctx).catch(() => next({ ...ctx, purpose: "retry" })),
    };
    const { llm, records } = setup([retry]);
    fakes().openai.enqueue(
      { kind: "error", status: 500 },
      { kind: "text", text: "ok", usage: { input: 10, output: 10 } },
    );
    await llm.chat(ask("openai:gpt-4o-mini"));
    const r = records[0]!;
    expect(r.attempts.map((a) => [a.purpose, a.status, a.error?.status])).toEqual([
      ["primary", "error", 500],
      ["retry", "ok", undefined],
    ]);
    expect(r.retryCostUsd).toBe(0); // a 500 is not billed
  });

  it("an unpriced attempt that did not produce the answer makes the retry cost unknown, not $0", async () => {
    const escalate: Middleware = {
      name: "toy-escalate",
      async handle(ctx, next) {
        const first = await next({ ...ctx, request: { ...ctx.request, model: "openai:in-house-small" } });
        await first.completion;
        return next({
          ...ctx,
          purpose: "escalation",
          request: { ...ctx.request, model: "openai:gpt-4o-mini" },
        });
      },
    };
    const { llm, records } = setup([escalate]);
    await llm.chat(ask("auto"));
    expect(records[0]).toMatchObject({ retryCostUsd: null, cost: { priced: false } });
  });

  it("a request that fails outright is recorded with its error", async () => {
    const { llm, records } = setup();
    fakes().openai.enqueue({ kind: "error", status: 429, retryAfter: 1 });
    await expect(llm.chat(ask("openai:gpt-4o-mini"))).rejects.toThrow();
    expect(records[0]).toMatchObject({ status: "error", error: { name: "RateLimitError", status: 429 } });
  });
});

describe("costTracker: savings, privacy, ledger", () => {
  it("records a cache hit at $0 with the savings it made", async () => {
    let stored: import("../../core/completion.js").Completion | undefined;
    const cache: Middleware = {
      name: "toy-cache",
      async handle(ctx, next) {
        if (stored) {
          ctx.state.cache = { status: "hit", kind: "exact" };
          return completedReply(stored, ctx.request.stream === true);
        }
        const reply = await next(ctx);
        stored = await reply.completion;
        return reply;
      },
    };
    const { llm, records } = setup([cache]);
    fakes().openai.enqueue({ kind: "text", text: "cached", usage: { input: 1000, output: 100 } });
    await llm.chat(ask("openai:gpt-4o-mini"));
    await llm.chat(ask("openai:gpt-4o-mini"));
    const [miss, hit] = records;
    const full = (1000 * MINI.input + 100 * MINI.output) / 1e6;
    expect(miss!.savingsUsd).toBe(0);
    expect(hit).toMatchObject({ cache: { status: "hit", kind: "exact" }, attempts: [] });
    expect(hit!.cost).toMatchObject({ priced: true, usd: 0 });
    expect(hit!.savingsUsd).toBeCloseTo(full, 12);
    expect(hit!.baseline?.model).toBe("openai:gpt-4o-mini");
  });

  it("prices the counterfactual at a host-chosen baseline model", async () => {
    const { llm, records } = setup([], { baseline: "openai:gpt-4o" });
    fakes().openai.enqueue({ kind: "text", text: "x", usage: { input: 1000, output: 100 } });
    await llm.chat(ask("openai:gpt-4o-mini"));
    const r = records[0]!;
    expect(r.baseline?.cost.usd).toBeCloseTo((1000 * 2.5 + 100 * 10) / 1e6, 12);
    expect(r.savingsUsd).toBeCloseTo((1000 * 2.5 + 100 * 10 - (1000 * 0.15 + 100 * 0.6)) / 1e6, 12);
  });

  it("stores prompts only when the host opts in, and never a credential (S3)", async () => {
    const off = setup();
    await off.llm.chat(ask("openai:gpt-4o-mini"));
    expect(off.records[0]).not.toHaveProperty("prompt");
    const on = setup([], { storePrompts: true });
    await on.llm.chat(ask("openai:gpt-4o-mini"));
    expect(on.records[0]!.prompt).toEqual({
      system: undefined,
      messages: [{ role: "user", content: "hello" }],
    });
    fakes().openai.enqueue({ kind: "error", status: 401, message: `Incorrect API key provided: ${KEY}` });
    await on.llm.chat(ask("openai:gpt-4o-mini")).catch(() => {});
    expect(JSON.stringify(on.records)).not.toContain("CANARYcosttracker");
  });

  it("never fails the call when the host's hook throws", async () => {
    const errors: unknown[] = [];
    const { llm } = setup([], {
      onRecord: () => {
        throw new Error("hook bug");
      },
      onError: (e) => errors.push(e),
    });
    await expect(llm.chat(ask("openai:gpt-4o-mini"))).resolves.toMatchObject({ finishReason: "stop" });
    expect(errors).toHaveLength(1);
  });

  it("writes every record to the ledger", async () => {
    const ledger = memoryLedger();
    const { llm, tracker } = setup([], { ledger });
    await llm.chat(ask("openai:gpt-4o-mini"));
    await streamed(llm, ask("anthropic:claude-haiku-4-5"));
    await tracker.flush();
    const stored = await ledger.read();
    expect(stored.map((r) => r.provider)).toEqual(["openai", "anthropic"]);
    expect(tracker.stats()).toMatchObject({ written: 2, dropped: 0 });
    await tracker.close();
  });

  it("names a bad option", () => {
    expect(() => costTracker({ storePrompts: "yes" as never })).toThrow(/options\.storePrompts/);
    expect(() => costTracker({ ledger: {} as never })).toThrow(/options\.ledger: expected a LedgerSink/);
  });
});
