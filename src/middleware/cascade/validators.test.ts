import { describe, expect, it } from "vitest";
import { z } from "zod";
import { type Completion, emptyUsage } from "../../core/completion.js";
import type { RequestContext } from "../../core/context.js";
import type { ChatRequest } from "../../core/request.js";
import { refusalOpening } from "./refusal-text.js";
import { hostCheck, jsonMatches, nonEmpty, notRefusal, type Verdict } from "./validators.js";

function answer(text: string, extra: Partial<Completion> = {}): Completion {
  return {
    id: "c1",
    provider: "openai",
    model: "gpt-4o-mini",
    content: text === "" ? [] : [{ type: "text", text }],
    text,
    toolCalls: [],
    finishReason: "stop",
    usage: emptyUsage(),
    cost: { priced: false, usd: null, reason: "test", estimated: false },
    meta: { requestId: "r1", attempts: [], state: {} },
    ...extra,
  };
}
const ctxFor = (request: Partial<ChatRequest> = {}) =>
  ({
    request: { model: "openai:gpt-4o-mini", messages: [{ role: "user", content: "q" }], ...request },
  }) as unknown as RequestContext;
const ctx = ctxFor();
const json = ctxFor({ responseFormat: { type: "json" } });
const call = (args: string) => ({ type: "tool-call" as const, id: "t1", name: "lookup", arguments: args });

describe("nonEmpty", () => {
  it("fails an answer with nothing in it, passes text, a tool call or a refusal", () => {
    const v = nonEmpty();
    expect(v.validate(answer(" \n"), ctx)).toEqual({ ok: false, reason: "the answer is empty" });
    expect(v.validate(answer("Paris"), ctx)).toEqual({ ok: true });
    expect(v.validate(answer("", { toolCalls: [call("{}")] }), ctx)).toEqual({ ok: true });
    expect(v.validate(answer("", { refusal: "No." }), ctx)).toEqual({ ok: true });
  });
});

describe("notRefusal", () => {
  const v = notRefusal();
  const fails = (c: Completion) => (v.validate(c, ctx) as Verdict).ok === false;

  it("fails the provider's own refusal signals", () => {
    expect(fails(answer("", { refusal: "I can't help with that." }))).toBe(true);
    expect(fails(answer("partial", { finishReason: "refusal" }))).toBe(true);
    expect(fails(answer("partial", { finishReason: "content-filter" }))).toBe(true);
  });

  it.each([
    "I'm sorry, but I can't help with that.",
    "I cannot assist with that request.",
    "I’m unable to provide that information.",
    "Unfortunately, I am not able to do this.",
    "Sorry — I won't be able to share that.",
    "I apologize, but I must decline.",
    "  i   CAN NOT   comply with this request.",
    "I'm afraid I can't do that.",
    "As an AI language model, I cannot browse the internet.",
  ])("fails a refusal in plain text: %s", (text) => {
    expect(fails(answer(text))).toBe(true);
  });

  it.each([
    "Paris is the capital of France.",
    "I can't believe how simple this is: use a map.",
    "Sure! I can't wait to help. Here is the plan.",
    "The tool said: I can't help with that.",
  ])("passes an answer: %s", (text) => {
    expect(fails(answer(text))).toBe(false);
  });

  it("passes a long answer that opens with a caveat, and a tool call", () => {
    expect(fails(answer(`I can't help with the legal side, but here is the code. ${"x".repeat(700)}`))).toBe(
      false,
    );
    expect(fails(answer("I can't help", { toolCalls: [call("{}")] }))).toBe(false);
  });

  it("takes the host's phrases, case-insensitively, or none", () => {
    const custom = notRefusal({ phrases: ["Je ne peux pas"] });
    expect((custom.validate(answer("Désolé, je ne peux pas."), ctx) as Verdict).ok).toBe(true);
    expect((custom.validate(answer("je ne peux pas répondre"), ctx) as Verdict).ok).toBe(false);
    const off = notRefusal({ phrases: false });
    expect((off.validate(answer("I cannot assist with that."), ctx) as Verdict).ok).toBe(true);
    expect((off.validate(answer("", { refusal: "No." }), ctx) as Verdict).ok).toBe(false);
  });

  it("reads only the opening of the answer, so its cost does not grow with the answer", () => {
    const huge = `${"I'm sorry, ".repeat(500_000)}I can't help.`;
    expect(refusalOpening(huge)).toBeUndefined();
    expect(refusalOpening(`${"a".repeat(5_000_000)}`)).toBeUndefined();
    expect(refusalOpening(`I'm sorry, ${"I can't help. ".repeat(100_000)}`)).toBe("i can't help");
  });
});

describe("jsonMatches", () => {
  it("checks the text only when the request asks for JSON", () => {
    const v = jsonMatches();
    expect(v.validate(answer("{not json"), ctx)).toEqual({ ok: true });
    expect(v.validate(answer('{"a":1}'), json)).toEqual({ ok: true });
    expect(v.validate(answer("{not json"), json)).toMatchObject({ ok: false, reason: /not JSON/ });
    expect(v.validate(answer("```json\n{}\n```"), json)).toMatchObject({ ok: false });
  });

  it("matches the zod schema, naming each bad field", () => {
    const v = jsonMatches(z.object({ city: z.string(), population: z.number() }));
    const schemaCtx = ctxFor({ responseFormat: { type: "json-schema", name: "p", schema: {} } });
    expect(v.validate(answer('{"city":"Paris","population":2100000}'), schemaCtx)).toEqual({ ok: true });
    const verdict = v.validate(answer('{"city":1}'), schemaCtx) as Verdict;
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.reason).toMatch(/answer\.city: .*; answer\.population: /);
  });

  it("fails tool-call arguments that are not JSON, whatever the format; empty ones are {}", () => {
    const v = jsonMatches();
    expect(v.validate(answer("", { toolCalls: [call("{oops")] }), ctx)).toEqual({
      ok: false,
      reason: 'the arguments of tool call "lookup" are not JSON',
    });
    expect(v.validate(answer("", { toolCalls: [call("")] }), ctx)).toEqual({ ok: true });
    expect(v.validate(answer("", { toolCalls: [call('{"q":1}')] }), json)).toEqual({ ok: true });
  });
});

describe("hostCheck", () => {
  it("true passes, false fails with its name, a string fails with that reason; async too", async () => {
    expect(hostCheck(() => true).validate(answer("x"), ctx)).toEqual({ ok: true });
    expect(hostCheck(() => false, { name: "mine" }).validate(answer("x"), ctx)).toEqual({
      ok: false,
      reason: "rejected by mine",
    });
    expect(await hostCheck(async () => "too short").validate(answer("x"), ctx)).toEqual({
      ok: false,
      reason: "too short",
    });
  });

  it("insists on a function", () => {
    expect(() => hostCheck("x" as never)).toThrow(TypeError);
  });
});
