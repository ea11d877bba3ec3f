import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeServer, startFakeOpenAI } from "../../../test/fakes/index.js";
import type { Middleware } from "../../core/middleware.js";
import type { ChatRequest, ChatRequestInput, Message } from "../../core/request.js";
import { memoryCounters } from "../../storage/memory/counters.js";
import { InputTooLargeError, tokenEstimator } from "../../tokens/index.js";
import { SUMMARY_HEADER, splitTurns } from "../compaction/turns.js";
import { BudgetExceededError, type BudgetOptions, budget } from "./index.js";
import { budgetClient, rejection } from "./test-client.js";

let fake: FakeServer;
beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const tokens = tokenEstimator();
const REF = { provider: "openai", model: "priced" };
const SYSTEM = "You are a travel agent. Be brief.";
const long = (topic: string) =>
  `${topic}. ${"Tell me everything about it, in detail, with prices. ".repeat(30)}`;

/** Four turns, two of them with tool calls (one with two calls answered in one tool message). */
const TRIP: Message[] = [
  { role: "user", content: long("Plan a week in Rome") },
  { role: "assistant", content: long("Here is a plan") },
  { role: "user", content: "What is the weather in Rome?" },
  {
    role: "assistant",
    content: [{ type: "tool-call", id: "c1", name: "weather", arguments: '{"city":"Rome"}' }],
  },
  { role: "tool", content: [{ type: "tool-result", toolCallId: "c1", content: "Sunny, 24C" }] },
  { role: "assistant", content: "Sunny and 24C." },
  { role: "user", content: "Book the hotel and the museum." },
  {
    role: "assistant",
    content: [
      { type: "text", text: "Booking both." },
      { type: "tool-call", id: "c2", name: "book", arguments: '{"what":"hotel"}' },
      { type: "tool-call", id: "c3", name: "book", arguments: '{"what":"museum"}' },
    ],
  },
  {
    role: "tool",
    content: [
      { type: "tool-result", toolCallId: "c2", content: "hotel booked" },
      { type: "tool-result", toolCallId: "c3", content: "museum booked" },
    ],
  },
  { role: "assistant", content: "Both are booked." },
  { role: "user", content: "And a restaurant for tonight?" },
];
const trip = (task: string, extra: Partial<ChatRequestInput> = {}): ChatRequestInput => ({
  model: "openai:priced",
  system: SYSTEM,
  messages: TRIP,
  metadata: { task },
  ...extra,
});
const estimate = async (messages: Message[]) =>
  (await tokens.estimateRequest({ model: "openai:priced", system: SYSTEM, messages }, REF)).inputTokens;

/** Records each request as the next layer receives it. */
function capture(): Middleware & { seen: ChatRequest[] } {
  const seen: ChatRequest[] = [];
  return {
    name: "capture",
    seen,
    handle: (ctx, next) => {
      seen.push(ctx.request);
      return next(ctx);
    },
  };
}

function setup(options: BudgetOptions) {
  const seen = capture();
  const spend = budget({ tokens, ...options });
  return { ...budgetClient(fake, [spend, seen]), seen: seen.seen, spend };
}

describe("budget: per-request task policies", () => {
  it("truncate keeps the system prompt, the last user turn and tool-call pairs, dropping the oldest turns", async () => {
    const inputMax = (await estimate(TRIP.slice(6))) + 2; // room for the last two turns, not the third
    const { llm, seen, of } = setup({ tasks: { chat: { inputMax, overflow: "truncate" } } });
    const res = await llm.chat(trip("chat"));
    expect(seen[0]!.system).toBe(SYSTEM);
    expect(seen[0]!.messages).toEqual(TRIP.slice(6));
    const wire = fake.requests[0]!.body.messages as {
      role: string;
      tool_call_id?: string;
      tool_calls?: { id: string }[];
    }[];
    expect(wire[0]).toMatchObject({ role: "system", content: SYSTEM });
    expect(wire.map((m) => m.tool_call_id ?? m.tool_calls?.map((c) => c.id).join(",") ?? m.role)).toEqual([
      "system",
      "user",
      "c2,c3",
      "c2",
      "c3",
      "assistant",
      "user",
    ]);
    expect(res.meta.state.budgetPolicy).toMatchObject({
      task: "chat",
      action: "truncated",
      inputMax,
      droppedTurns: 2,
      inputTokens: await estimate(TRIP),
      inputTokensAfter: await estimate(TRIP.slice(6)),
    });
    expect(of("budget-overflow")).toMatchObject([{ task: "chat", action: "truncated", inputMax }]);
  });

  it("truncation never separates a tool call from its result, nor drops the last user turn (random histories)", async () => {
    const outcomes = { truncated: 0, whole: 0, rejected: 0 };
    let random = 7;
    const next = (n: number) => {
      random = (random * 1103515245 + 12345) % 2 ** 31;
      return random % n;
    };
    for (let round = 0; round < 40; round++) {
      const messages = randomHistory(next);
      const inputMax = (await estimate(messages.slice(-1))) + next(400);
      const spend = budget({ tokens, tasks: { t: { inputMax, overflow: "truncate" } } });
      const probe = capture();
      const client = budgetClient(fake, [spend, probe]);
      const result = await client.llm
        .chat({ model: "openai:priced", system: SYSTEM, messages, metadata: { task: "t" } })
        .catch((e: unknown) => e);
      if (result instanceof BudgetExceededError) {
        expect(await estimate(splitTurns(messages).at(-1)!)).toBeGreaterThan(inputMax);
        outcomes.rejected++;
        continue;
      }
      const sent = probe.seen[0]!.messages;
      outcomes[sent.length < messages.length ? "truncated" : "whole"]++;
      expect(messages.slice(messages.length - sent.length)).toEqual(sent); // a suffix: whole turns dropped
      expect(sent[0]!.role).toBe("user");
      expect(splitTurns(sent).at(-1)).toEqual(splitTurns(messages).at(-1));
      expect(await estimate(sent)).toBeLessThanOrEqual(inputMax);
      const calls = sent.flatMap((m) =>
        m.role === "assistant" && typeof m.content !== "string"
          ? m.content.flatMap((p) => (p.type === "tool-call" ? [p.id] : []))
          : [],
      );
      const results = sent.flatMap((m) => (m.role === "tool" ? m.content.map((r) => r.toolCallId) : []));
      expect(results.sort()).toEqual(calls.sort());
    }
    expect(outcomes.truncated).toBeGreaterThanOrEqual(10);
    expect(outcomes.rejected + outcomes.whole).toBeGreaterThan(0);
  });

  it("reject refuses before any provider call, naming the task, the limit and the estimate", async () => {
    const { llm, spend, of } = setup({ tasks: { chat: { inputMax: 100 } } });
    const error = await rejection(llm.chat(trip("chat")));
    expect(error).toBeInstanceOf(BudgetExceededError);
    const full = await estimate(TRIP);
    expect(error).toMatchObject({ kind: "input", task: "chat", limit: 100, estimate: full, unit: "tokens" });
    expect(error.message).toBe(
      `budget: the request (task "chat") is estimated at ${full} input tokens, over its inputMax of 100; ` +
        "refused before any provider call",
    );
    expect(fake.requests).toHaveLength(0);
    expect(of("budget-exceeded")).toMatchObject([
      { kind: "input", task: "chat", limit: 100, estimate: full },
    ]);
    expect(spend.violations()).toMatchObject({ chat: { inputRejected: 1 } });
  });

  it("truncate refuses when the system prompt and the last user turn alone are over the limit", async () => {
    const { llm } = setup({ tasks: { chat: { inputMax: 20, overflow: "truncate" } } });
    const error = await rejection(llm.chat(trip("chat")));
    expect(error).toBeInstanceOf(BudgetExceededError);
    expect(error.message).toMatch(/the system prompt, tools and last user turn alone are over it/);
    expect(fake.requests).toHaveLength(0);
  });

  it("summarize replaces older turns with a cheap model's summary, recorded as a side call and cached per prefix", async () => {
    // Room for the last two turns and a summary of up to 200 tokens, not for the second turn too.
    const inputMax = (await estimate(TRIP.slice(6))) + 250;
    const { llm, seen, records, spend } = setup({
      tasks: { chat: { inputMax, overflow: "summarize" } },
      summarizer: { model: "openai:cheap", maxOutputTokens: 200 },
    });
    fake.enqueue({
      kind: "text",
      text: "Rome trip planned; weather sunny.",
      usage: { input: 900, output: 8 },
    });
    const first = await llm.chat(trip("chat"));
    expect(fake.requests.map((r) => r.body.model)).toEqual(["cheap", "priced"]);
    const summaryPrompt = fake.requests[0]!.body.messages.at(-1).content as string;
    expect(summaryPrompt).toContain("Plan a week in Rome");
    expect(summaryPrompt).toContain("Tool result for call c1: Sunny, 24C");
    expect(seen[0]!.messages[0]).toEqual({
      role: "user",
      content: [{ type: "text", text: `${SUMMARY_HEADER}\nRome trip planned; weather sunny.` }],
    });
    expect(seen[0]!.messages.slice(1)).toEqual(TRIP.slice(6));
    expect(first.meta.state.budgetPolicy).toMatchObject({ action: "summarized", droppedTurns: 2 });
    expect(records[0]!.attempts).toMatchObject([
      { purpose: "side-call", label: "budget-summary", model: "cheap", cost: { priced: true } },
      { purpose: "primary", model: "priced" },
    ]);

    await llm.chat(trip("chat"));
    expect(fake.requests.map((r) => r.body.model)).toEqual(["cheap", "priced", "priced"]);
    expect(seen[1]!.messages[0]).toEqual(seen[0]!.messages[0]);
    expect(spend.violations()).toMatchObject({ chat: { summarized: 2 } });
  });

  it("summarize under a spend limit reserves the summary with the request: an exhausted tenant gets no summary call", async () => {
    const inputMax = (await estimate(TRIP.slice(6))) + 250;
    const counters = memoryCounters();
    const { llm, records } = setup({
      tasks: { chat: { inputMax, overflow: "summarize" } },
      summarizer: { model: "openai:cheap", maxOutputTokens: 200 },
      limits: [{ scope: "tenant", window: "day", limitUsd: 1 }],
      counters,
    });
    const acme = { metadata: { task: "chat", tenant: "acme" }, maxOutputTokens: 50 };
    fake.enqueue({ kind: "text", text: "Rome trip.", usage: { input: 900, output: 8 } });
    fake.enqueue({ kind: "text", text: "Booked.", usage: { input: 300, output: 2 } });
    const res = await llm.chat(trip("chat", acme));
    const [summary, main] = res.meta.attempts;
    expect(summary).toMatchObject({ label: "budget-summary" });
    // Reserved: the request as sent (input bound + 50 output) and the summary's worst case, before either call.
    expect(res.meta.state.spend!.reservedUsd).toBeGreaterThan(main!.cost!.usd! + summary!.cost!.usd!);
    expect(res.meta.state.spend!.settledUsd).toBeCloseTo(records[0]!.cost.usd!, 12);
    const day = { id: `day:${new Date().toISOString().slice(0, 10)}`, limitMicros: 0, ttlMs: 1 };
    const settled = (await counters.status("tenant:acme", [day], Date.now())).settledMicros[0]!;
    expect(settled).toBe(Math.round(records[0]!.cost.usd! * 1e6));

    await counters.settle("tenant:acme", [day], "the rest", 1_000_000 - settled, Date.now());
    fake.reset();
    const error = await rejection(llm.chat(trip("chat", acme)));
    expect(error).toMatchObject({ kind: "spend", scope: "tenant:acme:day" });
    expect(fake.requests).toHaveLength(0);
  });

  it("summarize falls back to truncation, with a warning, when the summary call fails", async () => {
    const inputMax = (await estimate(TRIP.slice(6))) + 600;
    const { llm, seen, of } = setup({
      tasks: { chat: { inputMax, overflow: "summarize" } },
      summarizer: { model: "openai:cheap" },
    });
    fake.enqueue({ kind: "error", status: 400, message: "bad summary request" });
    const res = await llm.chat(trip("chat"));
    expect(res.meta.state.budgetPolicy?.action).toBe("truncated");
    expect(seen[0]!.messages[0]!.role).toBe("user");
    expect(JSON.stringify(seen[0]!.messages)).not.toContain(SUMMARY_HEADER);
    expect(of("warning")).toMatchObject([{ code: "budget-summary-failed" }]);
  });

  it("defer hands the request on marked deferrable, for a batch middleware listed after", async () => {
    const { llm, seen } = setup({ tasks: { report: { inputMax: 100, overflow: "defer" } } });
    const res = await llm.chat(trip("report"));
    expect(seen[0]!.metadata).toEqual({ task: "report", priority: "deferrable" });
    expect(seen[0]!.messages).toEqual(TRIP);
    expect(res.meta.state.budgetPolicy?.action).toBe("deferred");
  });

  it("outputMax lowers or sets maxOutputTokens, and refuses a reasoning budget it cannot hold", async () => {
    const { llm, seen } = setup({ tasks: { short: { outputMax: 300 } } });
    const ask = (extra: Partial<ChatRequestInput>) =>
      llm.chat({
        model: "openai:priced",
        messages: [{ role: "user", content: "Hi" }],
        metadata: { task: "short" },
        ...extra,
      });
    await ask({ maxOutputTokens: 5_000 });
    await ask({});
    const low = await ask({ maxOutputTokens: 100 });
    expect(seen.map((r) => r.maxOutputTokens)).toEqual([300, 300, 100]);
    expect(fake.requests.map((r) => r.body.max_completion_tokens)).toEqual([300, 300, 100]);
    expect(low.meta.state.budgetPolicy).toEqual({ task: "short", action: "none" });
    const error = await rejection(ask({ reasoning: { budgetTokens: 1_024 } }));
    expect(error).toMatchObject({ kind: "output", task: "short", limit: 300, estimate: 1_024 });
  });

  it("leaves a request under its limits alone, and applies defaultTask to tasks without a policy", async () => {
    const { llm, seen } = setup({ tasks: { chat: { inputMax: 100_000 } }, defaultTask: { inputMax: 50 } });
    const res = await llm.chat(trip("chat"));
    expect(seen[0]!.messages).toBe(TRIP);
    expect(res.meta.state.budgetPolicy).toEqual({ task: "chat", action: "none", inputMax: 100_000 });
    await expect(llm.chat(trip("other"))).rejects.toThrow(BudgetExceededError);
    await expect(llm.chat({ ...trip("x"), metadata: {} })).rejects.toThrow(/inputMax of 50/);
  });

  it("S4: 1 MB of unbroken text is refused with a typed error by the byte cap, before any tokenizer or provider call", async () => {
    const capped = tokenEstimator({ maxInputBytes: 256 * 1024 });
    const { llm } = budgetClient(fake, [
      budget({
        tokens: capped,
        tasks: { chat: { inputMax: 1_000 } },
        limits: [{ scope: "tenant", window: "day", limitUsd: 1 }],
      }),
    ]);
    const started = performance.now();
    const error = await rejection(
      llm.chat({
        model: "openai:priced",
        messages: [{ role: "user", content: "x".repeat(1_000_000) }],
        metadata: { task: "chat" },
      }),
    );
    expect(error).toBeInstanceOf(InputTooLargeError);
    expect(performance.now() - started).toBeLessThan(500);
    expect(fake.requests).toHaveLength(0);
  });
});

/** A history of 1-6 turns: text exchanges and tool-call rounds, ending on a user message or a tool loop. */
function randomHistory(next: (n: number) => number): Message[] {
  const messages: Message[] = [];
  const turns = 1 + next(6);
  let call = 0;
  for (let t = 0; t < turns; t++) {
    messages.push({ role: "user", content: `question ${t} ${"word ".repeat(next(60))}` });
    if (t === turns - 1 && next(2) === 0) break;
    const rounds = next(3);
    for (let r = 0; r < rounds; r++) {
      const ids = Array.from({ length: 1 + next(2) }, () => `call_${call++}`);
      messages.push({
        role: "assistant",
        content: ids.map((id) => ({
          type: "tool-call" as const,
          id,
          name: "lookup",
          arguments: `{"q":${next(99)}}`,
        })),
      });
      messages.push({
        role: "tool",
        content: ids.map((id) => ({
          type: "tool-result" as const,
          toolCallId: id,
          content: "result ".repeat(next(40)),
        })),
      });
    }
    if (t < turns - 1)
      messages.push({ role: "assistant", content: `answer ${t} ${"text ".repeat(next(80))}` });
  }
  return messages;
}
