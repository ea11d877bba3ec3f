import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeServer, startFakeOpenAI } from "../../../test/fakes/index.js";
import { ConfigError } from "../../core/errors.js";
import type { Middleware } from "../../core/middleware.js";
import type { ChatRequest, ChatRequestInput, Message } from "../../core/request.js";
import { budgetClient } from "../budget/test-client.js";
import { type HistoryCompactionOptions, historyCompaction, SUMMARY_HEADER } from "./index.js";

let fake: FakeServer;
beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const SYSTEM = "You are a cooking assistant.";
/** Turn i of a session: a question and an answer (the last turn has only the question). */
const turn = (i: number, answered = true): Message[] => [
  {
    role: "user",
    content: `Question ${i}: how do I cook dish number ${i}? ${"Please be detailed. ".repeat(10)}`,
  },
  ...(answered
    ? [{ role: "assistant" as const, content: `Answer ${i}: ${"Stir and wait. ".repeat(15)}` }]
    : []),
];
const session = (turns: number): ChatRequestInput => ({
  model: "openai:priced",
  system: SYSTEM,
  messages: [...Array.from({ length: turns - 1 }, (_, i) => turn(i + 1)).flat(), ...turn(turns, false)],
  metadata: { tenant: "acme" },
});
const summaryText = (text: string) => ({ kind: "text", text, usage: { input: 300, output: 20 } }) as const;

function setup(options: Partial<HistoryCompactionOptions> = {}) {
  const seen: ChatRequest[] = [];
  const capture: Middleware = {
    name: "capture",
    handle: (ctx, next) => {
      seen.push(ctx.request);
      return next(ctx);
    },
  };
  const compaction = historyCompaction({
    keepTurns: 2,
    triggerTokens: 300,
    summarizer: { model: "openai:cheap", maxOutputTokens: 100 },
    ...options,
  });
  return { ...budgetClient(fake, [compaction, capture]), seen };
}

describe("historyCompaction", () => {
  it("leaves a session below triggerTokens, or with no more than keepTurns turns, untouched", async () => {
    const { llm, seen } = setup({ triggerTokens: 100_000 });
    const request = session(6);
    await llm.chat(request);
    expect(seen[0]!.messages).toBe(request.messages);
    const short = setup({ keepTurns: 6, triggerTokens: 1 });
    await short.llm.chat(request);
    expect(short.seen[0]!.messages).toBe(request.messages);
    expect(fake.requests.map((r) => r.body.model)).toEqual(["priced", "priced"]);
  });

  it("keeps the system prompt and the last N turns, and puts a summary of the rest before them, as a side call", async () => {
    const { llm, seen, records } = setup();
    fake.enqueue(summaryText("Dishes 1-3 covered: stir and wait."));
    const res = await llm.chat(session(5));
    expect(fake.requests.map((r) => r.body.model)).toEqual(["cheap", "priced"]);
    expect(seen[0]!.system).toBe(SYSTEM);
    expect(seen[0]!.messages).toEqual([
      {
        role: "user",
        content: [{ type: "text", text: `${SUMMARY_HEADER}\nDishes 1-3 covered: stir and wait.` }],
      },
      ...turn(4),
      ...turn(5, false),
    ]);
    expect(res.meta.state.compaction).toMatchObject({ summarizedTurns: 3, keptTurns: 2, summary: "fresh" });
    expect(records[0]!.attempts).toMatchObject([
      { purpose: "side-call", label: "compaction-summary", model: "cheap" },
      { purpose: "primary", model: "priced" },
    ]);
  });

  it("rolls the summary forward: turn N+1 extends turn N's summary with one turn, and a repeat is served from cache", async () => {
    const { llm, seen } = setup();
    fake.enqueue(summaryText("S3: dishes 1 to 3."));
    await llm.chat(session(5));
    fake.enqueue(summaryText("S4: dishes 1 to 4."));
    const next = await llm.chat(session(6));
    const prompt = fake.requests[2]!.body.messages.at(-1).content as string;
    expect(prompt).toContain("S3: dishes 1 to 3.");
    expect(prompt).toContain("Question 4:");
    expect(prompt).not.toContain("Question 3:");
    expect(next.meta.state.compaction).toMatchObject({ summarizedTurns: 4, summary: "extended" });
    expect(seen[1]!.messages[0]).toMatchObject({
      content: [{ text: `${SUMMARY_HEADER}\nS4: dishes 1 to 4.` }],
    });

    const again = await llm.chat(session(6));
    expect(again.meta.state.compaction?.summary).toBe("cache");
    expect(fake.requests.map((r) => r.body.model)).toEqual(["cheap", "priced", "cheap", "priced", "priced"]);
  });

  it("never serves one tenant's summary to another (FAILURES.md C1)", async () => {
    const { llm } = setup();
    fake.enqueue(summaryText("acme's summary"));
    await llm.chat(session(5));
    fake.enqueue(summaryText("globex's summary"));
    const other = await llm.chat({ ...session(5), metadata: { tenant: "globex" } });
    expect(other.meta.state.compaction?.summary).toBe("fresh");
    expect(fake.requests.map((r) => r.body.model)).toEqual(["cheap", "priced", "cheap", "priced"]);
  });

  it("keeps a tool call with its result: turns are kept or summarized whole", async () => {
    const { llm, seen } = setup({ keepTurns: 1 });
    const messages: Message[] = [
      ...turn(1),
      { role: "user", content: `Find a recipe. ${"Any will do. ".repeat(20)}` },
      {
        role: "assistant",
        content: [{ type: "tool-call", id: "t1", name: "search", arguments: '{"q":"soup"}' }],
      },
      {
        role: "tool",
        content: [{ type: "tool-result", toolCallId: "t1", content: "Tomato soup: ...".repeat(10) }],
      },
      { role: "assistant", content: [{ type: "tool-call", id: "t2", name: "open", arguments: '{"id":1}' }] },
      {
        role: "tool",
        content: [{ type: "tool-result", toolCallId: "t2", content: "Step 1: ...".repeat(10) }],
      },
    ];
    fake.enqueue(summaryText("Dish 1 covered."));
    await llm.chat({ model: "openai:priced", system: SYSTEM, messages });
    expect(seen[0]!.messages.slice(1)).toEqual(messages.slice(2));
  });

  it("sends the history unchanged, with a warning, when the summary cannot be written", async () => {
    const { llm, seen, of, logs } = setup();
    fake.enqueue({ kind: "error", status: 500, message: "summarizer down" });
    const request = session(5);
    const res = await llm.chat(request);
    expect(seen[0]!.messages).toBe(request.messages);
    expect(res.meta.state.compaction).toBeUndefined();
    expect(of("warning")).toMatchObject([{ code: "compaction-failed" }]);
    expect(logs.some((l) => l.level === "warn" && l.message.startsWith("historyCompaction:"))).toBe(true);
  });

  it("refuses bad options, naming the option", () => {
    const ok = { keepTurns: 2, triggerTokens: 100, summarizer: { model: "openai:cheap" } };
    expect(() => historyCompaction({ ...ok, keepTurns: 0 })).toThrow(ConfigError);
    expect(() => historyCompaction({ ...ok, keepTurns: 0 })).toThrow(/options\.keepTurns/);
    expect(() => historyCompaction({ ...ok, triggerTokens: -5 })).toThrow(/options\.triggerTokens/);
    expect(() => historyCompaction({ ...ok, summarizer: { model: "" } })).toThrow(
      /options\.summarizer\.model/,
    );
    expect(() => historyCompaction({ ...ok, summarizer: { model: "m", ttlMs: 0 } })).toThrow(
      /summarizer\.ttlMs/,
    );
    expect(() => historyCompaction({ ...ok, keep: 1 } as never)).toThrow(/keep/);
  });
});
