// A stream its caller closes before reading a single event, through every layer that wraps a reply's
// events in a generator of its own: each must pass the close down (a generator that never ran cannot),
// so the provider call ends, every completion settles and the budget's hold is released.
import { trace } from "@opentelemetry/api";
import { describe, expect, it, vi } from "vitest";
import { AbortedError } from "../src/core/errors.js";
import { budget } from "../src/middleware/budget/index.js";
import { cascade } from "../src/middleware/cascade/index.js";
import { openTelemetry } from "../src/middleware/opentelemetry/index.js";
import { retry } from "../src/middleware/retry/index.js";
import { memoryCounters } from "../src/storage/memory/counters.js";
import { fakeClient } from "./fakes/client.js";
import { useFakes } from "./fakes/index.js";

const fakes = useFakes();
const today = () => ({ id: `day:${new Date().toISOString().slice(0, 10)}`, limitMicros: 0, ttlMs: 1 });

describe("a stream closed before its first read", () => {
  it.each([
    ["cost tracker, OpenTelemetry, budget, retry with an idle timeout", false],
    ["the same with an optimistic cascade", true],
  ])("ends the call and settles everything: %s", async (_, withCascade) => {
    const counters = memoryCounters();
    const { llm, records } = fakeClient(fakes(), [
      openTelemetry({ tracer: trace.getTracer("unread") }),
      budget({ counters, limits: [{ scope: "tenant", window: "day", limitUsd: 1 }] }),
      ...(withCascade
        ? [
            cascade({
              models: ["openai:gpt-4o-mini", "anthropic:claude-sonnet-4-6"],
              streaming: "optimistic",
            }),
          ]
        : []),
      retry({ maxAttempts: 2, idleTimeoutMs: 60_000 }),
    ]);
    fakes().openai.enqueue({ kind: "stall", afterDeltas: 1, text: "a b c" }); // the server would wait forever
    const stream = llm.stream({
      model: "openai:gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
      metadata: { tenant: "acme" },
    });
    await vi.waitFor(() => expect(fakes().openai.requests).toHaveLength(1));
    await stream[Symbol.asyncIterator]().return?.();

    await expect(stream.completion).rejects.toBeInstanceOf(AbortedError);
    await vi.waitFor(() => expect(fakes().openai.abandoned()).toBe(1)); // the provider call ended
    await vi.waitFor(() => expect(records).toHaveLength(1));
    expect(records[0]!.status).toBe("error");
    const status = await counters.status("tenant:acme", [today()], Date.now());
    expect(status.heldMicros).toBe(0); // the hold was settled, not left to expire
    expect(fakes().anthropic.requests).toHaveLength(0); // nothing escalated
  });
});
