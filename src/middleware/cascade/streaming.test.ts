import { describe, expect, it } from "vitest";
import { useFakes } from "../../../test/fakes/index.js";
import type { StreamEvent } from "../../core/completion.js";
import { AbortedError } from "../../core/errors.js";
import type { ChatRequestInput } from "../../core/request.js";
import { readStream, testClient } from "../exact-cache/test-client.js";
import { type CascadeEscalation, type CascadeOptions, CascadeRejectedError, cascade } from "./index.js";

const fakes = useFakes();

const MODELS = ["openai:gpt-4o-mini", "anthropic:claude-haiku-4-5", "anthropic:claude-sonnet-4-6"];
const REFUSAL = "I'm sorry, but I can't help with that.";

function setup(options: Partial<CascadeOptions> = {}) {
  const escalations: CascadeEscalation[] = [];
  const client = testClient({ openai: fakes().openai, anthropic: fakes().anthropic }, [
    cascade({ models: MODELS, ...options }),
  ]);
  client.llm.on("escalation", (e) => escalations.push(e));
  return { ...client, escalations };
}
const ask = (extra: Partial<ChatRequestInput> = {}): ChatRequestInput => ({
  model: "auto",
  messages: [{ role: "user", content: "What is the capital of France?" }],
  ...extra,
});
const types = (events: StreamEvent[]) => events.map((e) => e.type);
const text = (events: StreamEvent[]) =>
  events.flatMap((e) => (e.type === "text-delta" ? [e.text] : [])).join("");

describe("cascade, buffered streams (the default)", () => {
  it("the caller sees only the accepted answer's own events", async () => {
    const { llm, records, escalations } = setup();
    fakes().openai.enqueue({ kind: "text", text: REFUSAL });
    fakes().anthropic.enqueue({ kind: "text", text: "The capital is Paris." });
    const { events, completion } = await readStream(llm.stream(ask()));
    expect(events[0]).toMatchObject({ type: "start", provider: "anthropic", model: "claude-haiku-4-5" });
    expect(types(events).filter((t) => t === "start" || t === "finish")).toEqual(["start", "finish"]);
    expect(types(events)).toContain("usage"); // Anthropic's early usage: the step's own events, not a replay
    expect(text(events)).toBe("The capital is Paris.");
    expect(completion.text).toBe("The capital is Paris.");
    expect(escalations[0]?.retracted).toBe(false);
    expect(fakes().openai.requests[0]!.body.stream).toBe(true); // each step streams, as the caller asked
    const r = records[0]!;
    expect(r.streamed).toBe(true);
    expect(r.attempts.map((a) => [a.purpose, a.status])).toEqual([
      ["primary", "ok"],
      ["escalation", "ok"],
    ]);
    expect(r.timeToFirstTokenMs).not.toBeNull();
    expect(r.retryCostUsd).toBeCloseTo(r.attempts[0]!.cost!.usd!, 12);
  });

  it("a cheap stream cut midway escalates: its partial usage is charged, and nothing of it reached the caller (R3)", async () => {
    const { llm, records } = setup();
    fakes().openai.enqueue({ kind: "truncated-stream", afterDeltas: 2, text: "Paris is the capital" });
    fakes().anthropic.enqueue({ kind: "text", text: "Paris." });
    const { events, completion } = await readStream(llm.stream(ask()));
    expect(text(events)).toBe("Paris.");
    expect(completion.provider).toBe("anthropic");
    const cut = records[0]!.attempts[0]!;
    expect(cut).toMatchObject({ status: "error", error: { name: "StreamInterruptedError" } });
    expect(cut.usage?.estimated).toBe(true);
    expect(cut.cost?.usd).toBeGreaterThan(0);
  });

  it("the last model streams live: its first deltas arrive while it is still answering", async () => {
    const { llm } = setup({ models: MODELS.slice(0, 2) });
    fakes().openai.enqueue({ kind: "refusal", text: "No." });
    fakes().anthropic.enqueue({ kind: "stall", afterDeltas: 2, text: "Paris is the capital of France." });
    const stream = llm.stream(ask());
    const seen: StreamEvent[] = [];
    for await (const event of stream) {
      seen.push(event);
      if (seen.filter((e) => e.type === "text-delta").length === 2) break; // the stream then stalls
    }
    expect(text(seen)).toBe("Paris is");
    await expect(stream.completion).rejects.toBeInstanceOf(AbortedError);
  });

  it("a reader that stops early settles the completion as aborted", async () => {
    const { llm } = setup();
    fakes().openai.enqueue({ kind: "text", text: "Paris is the capital." });
    const stream = llm.stream(ask());
    for await (const event of stream) if (event.type === "text-delta") break;
    await expect(stream.completion).rejects.toBeInstanceOf(AbortedError);
  });

  it("with requireValid, the last model is buffered and checked too", async () => {
    const { llm } = setup({ models: MODELS.slice(0, 2), requireValid: true });
    fakes().openai.enqueue({ kind: "refusal", text: "No." });
    fakes().anthropic.enqueue({ kind: "text", text: REFUSAL });
    const stream = llm.stream(ask());
    const seen: StreamEvent[] = [];
    await expect(
      (async () => {
        for await (const event of stream) seen.push(event);
      })(),
    ).rejects.toBeInstanceOf(CascadeRejectedError);
    expect(seen).toEqual([]);
  });
});

describe("cascade, optimistic streams", () => {
  it("an accepted first answer streams exactly as without the cascade", async () => {
    const { llm } = setup({ streaming: "optimistic" });
    fakes().openai.enqueue({ kind: "text", text: "Paris." });
    const { events, completion } = await readStream(llm.stream(ask()));
    expect(types(events)).toEqual(["start", "text-delta", "finish"]);
    expect(completion.text).toBe("Paris.");
    expect(fakes().anthropic.requests).toHaveLength(0);
  });

  it("a rejected answer is retracted by the next answer's start; only the served answer finishes", async () => {
    const { llm, records, escalations } = setup({ streaming: "optimistic" });
    fakes().openai.enqueue({ kind: "text", text: REFUSAL });
    fakes().anthropic.enqueue({ kind: "text", text: "Paris." });
    const { events, completion } = await readStream(llm.stream(ask()));
    const starts = events.flatMap((e, i) => (e.type === "start" ? [i] : []));
    expect(starts).toHaveLength(2);
    expect(events[starts[1]!]).toMatchObject({ provider: "anthropic", model: "claude-haiku-4-5" });
    expect(text(events.slice(0, starts[1]))).toBe(REFUSAL); // what the caller saw, then must discard
    expect(text(events.slice(starts[1]))).toBe("Paris.");
    expect(types(events).filter((t) => t === "finish")).toHaveLength(1);
    expect(events.at(-1)?.type).toBe("finish");
    expect(completion.text).toBe("Paris.");
    expect(escalations).toMatchObject([{ from: MODELS[0], to: MODELS[1], retracted: true }]);
    expect(records[0]!.attempts.map((a) => a.purpose)).toEqual(["primary", "escalation"]);
  });

  it("a stream cut midway is retracted the same way", async () => {
    const { llm } = setup({ streaming: "optimistic" });
    fakes().openai.enqueue({ kind: "truncated-stream", afterDeltas: 2, text: "Paris is the capital" });
    fakes().anthropic.enqueue({ kind: "text", text: "Paris." });
    const { events, completion } = await readStream(llm.stream(ask()));
    expect(types(events).filter((t) => t === "start")).toHaveLength(2);
    expect(completion.text).toBe("Paris.");
  });

  it("a reader that stops early settles the completion as aborted and asks no further model", async () => {
    const { llm, records } = setup({ streaming: "optimistic" });
    fakes().openai.enqueue({ kind: "text", text: REFUSAL });
    const stream = llm.stream(ask());
    for await (const event of stream) if (event.type === "text-delta") break;
    const error = await stream.completion.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
    expect((error as AbortedError).attempts).toHaveLength(1);
    expect(fakes().anthropic.requests).toHaveLength(0);
    expect(records[0]).toMatchObject({ status: "error", error: { name: "AbortedError" } });
    expect(records[0]!.attempts).toHaveLength(1);
  });

  it("with requireValid, a rejection of every answer fails the stream after what was shown", async () => {
    const { llm } = setup({ models: MODELS.slice(0, 2), streaming: "optimistic", requireValid: true });
    fakes().openai.enqueue({ kind: "text", text: REFUSAL });
    fakes().anthropic.enqueue({ kind: "text", text: REFUSAL });
    const stream = llm.stream(ask());
    const seen: StreamEvent[] = [];
    await expect(
      (async () => {
        for await (const event of stream) seen.push(event);
      })(),
    ).rejects.toBeInstanceOf(CascadeRejectedError);
    expect(types(seen).filter((t) => t === "start")).toHaveLength(2);
    expect(types(seen)).not.toContain("finish");
    await expect(stream.completion).rejects.toBeInstanceOf(CascadeRejectedError);
  });

  it("a non-streamed request is buffered as usual", async () => {
    const { llm } = setup({ streaming: "optimistic" });
    fakes().openai.enqueue({ kind: "text", text: REFUSAL });
    fakes().anthropic.enqueue({ kind: "text", text: "Paris." });
    expect((await llm.chat(ask())).text).toBe("Paris.");
  });
});
