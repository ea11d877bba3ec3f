import { describe, expect, it } from "vitest";
import { useFakes } from "../../../test/fakes/index.js";
import type { StreamEvent } from "../../core/completion.js";
import { AbortedError, ProviderError, StreamInterruptedError } from "../../core/errors.js";
import { retry } from "./index.js";
import { ask, readStream, recordingSleep, testClient, times } from "./test-client.js";

const fakes = useFakes();
const types = (events: StreamEvent[]) => events.map((e) => e.type);
const textOf = (events: StreamEvent[]) => events.map((e) => (e.type === "text-delta" ? e.text : "")).join("");

describe("retry: streams are retried only while nothing reached the caller (R3)", () => {
  it.each([
    ["openai", "openai:gpt-4o-mini"],
    ["anthropic", "anthropic:claude-haiku-4-5"],
  ] as const)(
    "a %s stream cut before any output is retried; the caller reads one clean stream",
    async (provider, model) => {
      const fake = provider === "openai" ? fakes().openai : fakes().anthropic;
      const { sleep } = recordingSleep();
      const { llm, records, of } = testClient(fakes(), [retry({ sleep })]);
      fake.enqueue({ kind: "truncated-stream", afterDeltas: 0 }, { kind: "text", text: "one two three" });

      const { events, completion, error } = await readStream(llm.stream(ask("hi", { model })));

      expect(error).toBeUndefined();
      expect(types(events).filter((t) => t === "start")).toHaveLength(1);
      expect(events[0]!.type).toBe("start");
      expect(events.at(-1)!.type).toBe("finish");
      expect(textOf(events)).toBe("one two three");
      // The start the caller saw is the answering call's.
      expect(events[0]).toMatchObject({ id: completion!.id });
      expect(completion!.text).toBe("one two three");
      expect(fake.requests).toHaveLength(2);
      expect(of("retry")[0]!.error).toBeInstanceOf(StreamInterruptedError);
      // The cut call was billed for its input: it is charged, as an estimate, beside the answer.
      const record = records[0]!;
      expect(record.attempts.map((a) => [a.purpose, a.status])).toEqual([
        ["primary", "error"],
        ["retry", "ok"],
      ]);
      expect(record.attempts[0]!.cost).toMatchObject({ priced: true, estimated: true });
      expect(record.attempts[0]!.cost!.usd).toBeGreaterThan(0);
    },
  );

  it("a stream that could not start (500) is retried; the caller reads one clean stream", async () => {
    const { sleep } = recordingSleep();
    const { llm } = testClient(fakes(), [retry({ sleep })]);
    fakes().openai.enqueue({ kind: "error", status: 500 }, { kind: "text", text: "fine now" });
    const { events, completion } = await readStream(llm.stream(ask()));
    expect(types(events)).toEqual(["start", "text-delta", "text-delta", "finish"]);
    expect(completion!.text).toBe("fine now");
    expect(fakes().openai.requests).toHaveLength(2);
  });

  it("a stream cut after output reached the caller is not retried: the error holds the partial, charged", async () => {
    const { sleep } = recordingSleep();
    const { llm, records, of } = testClient(fakes(), [retry({ sleep })]);
    fakes().openai.enqueue(
      { kind: "truncated-stream", afterDeltas: 2, text: "one two three four" },
      { kind: "text", text: "x" },
    );

    const { events, error } = await readStream(llm.stream(ask()));

    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect(textOf(events)).toBe("one two");
    expect(error.partial.text).toBe("one two");
    expect(fakes().openai.requests).toHaveLength(1);
    expect(of("retry")).toEqual([]);
    const record = records[0]!;
    expect(record.status).toBe("error");
    expect(record.attempts).toHaveLength(1);
    expect(record.cost).toMatchObject({ priced: true, estimated: true });
    expect(record.cost.usd).toBeGreaterThan(0);
  });

  it("a stream that stalls after two deltas is cut by the idle timeout, not retried, and charged", async () => {
    const { sleep } = recordingSleep();
    // Generous: the stall never ends, so any timeout cuts it; deltas arrive back to back.
    const { llm, records, of } = testClient(fakes(), [retry({ sleep, idleTimeoutMs: 250 })]);
    fakes().anthropic.enqueue(
      { kind: "stall", afterDeltas: 2, text: "one two three four" },
      { kind: "text", text: "x" },
    );

    const { events, error } = await readStream(
      llm.stream(ask("hi", { model: "anthropic:claude-haiku-4-5" })),
    );

    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect(error.message).toMatch(/sent nothing for 250 ms/);
    expect(textOf(events)).toBe("one two");
    expect(error.partial.text).toBe("one two");
    expect(error.partial.cost.usd).toBeGreaterThan(0);
    expect(fakes().anthropic.requests).toHaveLength(1);
    expect(of("retry")).toEqual([]);
    const record = records[0]!;
    expect(record.attempts[0]!.error).toMatchObject({ name: "StreamInterruptedError" });
    expect(record.cost.usd).toBeGreaterThan(0);
  });

  it("a stream that stalls before any output is cut by the idle timeout and retried transparently", async () => {
    const { sleep } = recordingSleep();
    const { llm, records } = testClient(fakes(), [retry({ sleep, idleTimeoutMs: 250 })]);
    fakes().openai.enqueue({ kind: "stall", afterDeltas: 0 }, { kind: "text", text: "after the stall" });

    const { events, completion } = await readStream(llm.stream(ask()));

    expect(completion!.text).toBe("after the stall");
    expect(types(events).filter((t) => t === "start")).toHaveLength(1);
    expect(fakes().openai.requests).toHaveLength(2);
    expect(records[0]!.attempts.map((a) => a.status)).toEqual(["error", "ok"]);
  });

  it("gives up with the last error, before any event, when every try is cut before output", async () => {
    const { sleep } = recordingSleep();
    const { llm, of } = testClient(fakes(), [retry({ sleep, maxAttempts: 3 })]);
    fakes().openai.enqueue(...times(3, { kind: "truncated-stream", afterDeltas: 0 }), {
      kind: "text",
      text: "x",
    });

    const { events, error } = await readStream(llm.stream(ask()));

    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect(events).toEqual([]);
    expect(error.attempts).toHaveLength(3);
    expect(fakes().openai.requests).toHaveLength(3);
    expect(of("retry")).toHaveLength(2);
  });

  it("a reader that stops early is not retried: the completion rejects with AbortedError", async () => {
    const { sleep } = recordingSleep();
    const { llm, of } = testClient(fakes(), [retry({ sleep })]);
    fakes().openai.enqueue({ kind: "text", text: "one two three four five" }, { kind: "text", text: "x" });
    const stream = llm.stream(ask());
    for await (const event of stream) if (event.type === "text-delta") break;
    await expect(stream.completion).rejects.toBeInstanceOf(AbortedError);
    expect(fakes().openai.requests).toHaveLength(1);
    expect(of("retry")).toEqual([]);
  });

  it("a burst of streams without a signal, retried with idle timeouts, adds no listener that piles up", async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    try {
      const { llm } = testClient(fakes(), [retry({ baseDelayMs: 1, idleTimeoutMs: 60_000 })]);
      fakes().openai.enqueue(...times(30, { kind: "truncated-stream", afterDeltas: 0 }));
      const results = await Promise.all(Array.from({ length: 30 }, () => readStream(llm.stream(ask()))));
      expect(results.every((r) => r.completion !== undefined)).toBe(true);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("a 400 on a stream is not retried", async () => {
    const { sleep } = recordingSleep();
    const { llm } = testClient(fakes(), [retry({ sleep })]);
    fakes().openai.enqueue({ kind: "error", status: 400 }, { kind: "text", text: "x" });
    const { error } = await readStream(llm.stream(ask()));
    expect(error).toBeInstanceOf(ProviderError);
    expect(fakes().openai.requests).toHaveLength(1);
  });
});
