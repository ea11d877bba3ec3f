import { describe, expect, it, vi } from "vitest";
import { useFakes } from "../../../test/fakes/index.js";
import {
  AbortedError,
  ConfigError,
  ConnectionError,
  OverloadedError,
  ProviderError,
  RateLimitError,
} from "../../core/errors.js";
import { retry } from "./index.js";
import { ask, failure, manualClock, recordingSleep, testClient, times } from "./test-client.js";

const fakes = useFakes();

describe("retry: retry amplification (R1)", () => {
  it("makes exactly maxAttempts provider calls against an always-500 provider, SDK retries off", async () => {
    const { sleep } = recordingSleep();
    // The SDK instances keep their default maxRetries (2): only `ownsRetries` turns them off.
    const { llm, records, of } = testClient(fakes(), [retry({ maxAttempts: 4, sleep })]);
    fakes().openai.enqueue(...times(20, { kind: "error", status: 500 }));

    const error = await failure(llm.chat(ask()));

    expect(error).toBeInstanceOf(ProviderError);
    expect(error.status).toBe(500);
    expect(fakes().openai.requests).toHaveLength(4);
    expect(error.attempts.map((a: { purpose: string }) => a.purpose)).toEqual([
      "primary",
      "retry",
      "retry",
      "retry",
    ]);
    expect(of("retry").map((e) => e.attempt)).toEqual([2, 3, 4]);
    expect(records).toHaveLength(1);
    expect(records[0]!.attempts).toHaveLength(4);
    expect(records[0]!.status).toBe("error");
  });

  it("(control) without retry, the same SDK instance retries on its own, which is what retry turns off", async () => {
    const { llm } = testClient(fakes(), []);
    // A tiny retry-after keeps the SDK's own backoff short.
    fakes().openai.enqueue(...times(20, { kind: "error", status: 500, retryAfter: 0.001 }));
    await failure(llm.chat(ask()));
    expect(fakes().openai.requests).toHaveLength(3);
  });

  it("with maxAttempts 1 makes one call and still turns the SDK's retries off", async () => {
    const { llm } = testClient(fakes(), [retry({ maxAttempts: 1 })]);
    fakes().anthropic.enqueue(...times(5, { kind: "error", status: 529, retryAfter: 0.001 }));
    const error = await failure(llm.chat(ask("hi", { model: "anthropic:claude-haiku-4-5" })));
    expect(error).toBeInstanceOf(OverloadedError);
    expect(fakes().anthropic.requests).toHaveLength(1);
  });

  it("honours a 429's retry-after: waits what the provider asked, not the backoff", async () => {
    const { waits, sleep } = recordingSleep();
    const { llm, of } = testClient(fakes(), [retry({ sleep, baseDelayMs: 10, maxRetryAfterMs: 5_000 })]);
    fakes().openai.enqueue({ kind: "error", status: 429, retryAfter: 2 }, { kind: "text", text: "ok" });

    const completion = await llm.chat(ask());

    expect(completion.text).toBe("ok");
    expect(waits).toEqual([2_000]);
    expect(waits[0]).toBeGreaterThanOrEqual(2_000);
    expect(waits[0]).toBeLessThanOrEqual(5_000);
    expect(of("retry")[0]).toMatchObject({ attempt: 2, delayMs: 2_000 });
    expect(of("retry")[0]!.error).toBeInstanceOf(RateLimitError);
    expect(fakes().openai.requests).toHaveLength(2);
  });

  it("honours Anthropic's 529 overloaded with retry-after", async () => {
    const { waits, sleep } = recordingSleep();
    const { llm } = testClient(fakes(), [retry({ sleep })]);
    fakes().anthropic.enqueue({ kind: "error", status: 529, retryAfter: 1 }, { kind: "text", text: "ok" });
    const completion = await llm.chat(ask("hi", { model: "anthropic:claude-haiku-4-5" }));
    expect(completion.text).toBe("ok");
    expect(waits).toEqual([1_000]);
  });

  it("gives up at once, with the provider's error, when retry-after is beyond maxRetryAfterMs", async () => {
    const { waits, sleep } = recordingSleep();
    const { llm, of } = testClient(fakes(), [retry({ sleep, maxRetryAfterMs: 60_000 })]);
    fakes().openai.enqueue(
      { kind: "error", status: 429, retryAfter: 120 },
      { kind: "text", text: "too early" },
    );

    const error = await failure(llm.chat(ask()));

    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.retryAfterMs).toBe(120_000);
    expect(fakes().openai.requests).toHaveLength(1);
    expect(waits).toEqual([]);
    expect(of("retry")).toEqual([]);
  });

  it.each([400, 401, 403, 404, 422])("never retries a %i, even when retryOn says yes", async (status) => {
    const { sleep } = recordingSleep();
    const { llm, of } = testClient(fakes(), [retry({ sleep, retryOn: () => true })]);
    fakes().openai.enqueue({ kind: "error", status }, { kind: "text", text: "should not be reached" });
    const error = await failure(llm.chat(ask()));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.status).toBe(status);
    expect(fakes().openai.requests).toHaveLength(1);
    expect(of("retry")).toEqual([]);
  });

  it.each([
    [408, ProviderError],
    [409, ProviderError],
    [500, ProviderError],
    [502, ProviderError],
    [503, OverloadedError],
  ])("retries a %i", async (status) => {
    const { sleep } = recordingSleep();
    const { llm } = testClient(fakes(), [retry({ sleep })]);
    fakes().openai.enqueue({ kind: "error", status }, { kind: "text", text: "second time lucky" });
    expect((await llm.chat(ask())).text).toBe("second time lucky");
    expect(fakes().openai.requests).toHaveLength(2);
  });

  it("retries a connection reset and a timeout", async () => {
    const { sleep } = recordingSleep();
    const { llm, of } = testClient(fakes(), [retry({ sleep, maxAttempts: 3 })]);
    fakes().anthropic.enqueue(
      { kind: "reset" },
      { kind: "error", status: 504 },
      { kind: "text", text: "third" },
    );
    const completion = await llm.chat(ask("hi", { model: "anthropic:claude-haiku-4-5" }));
    expect(completion.text).toBe("third");
    expect(of("retry")[0]!.error).toBeInstanceOf(ConnectionError);
    expect(fakes().anthropic.requests).toHaveLength(3);
  });

  it("respects retryOn to narrow what is retried", async () => {
    const { sleep } = recordingSleep();
    const { llm } = testClient(fakes(), [retry({ sleep, retryOn: (e) => e instanceof RateLimitError })]);
    fakes().openai.enqueue({ kind: "error", status: 500 }, { kind: "text", text: "unreached" });
    await failure(llm.chat(ask()));
    expect(fakes().openai.requests).toHaveLength(1);
  });

  it("never retries a caller's abort during the call", async () => {
    const { sleep } = recordingSleep();
    const { llm, of } = testClient(fakes(), [retry({ sleep })]);
    fakes().openai.enqueue({ kind: "hang" }, { kind: "text", text: "unreached" });
    const controller = new AbortController();
    const call = failure(llm.chat(ask(), { signal: controller.signal }));
    await vi.waitFor(() => expect(fakes().openai.requests).toHaveLength(1), { timeout: 10_000 });
    controller.abort();

    expect(await call).toBeInstanceOf(AbortedError);
    expect(fakes().openai.requests).toHaveLength(1);
    expect(of("retry")).toEqual([]);
  });

  it("stops waiting and retrying as soon as the caller aborts during the backoff", async () => {
    // The default, real sleep with a long backoff: the abort must cut it short.
    const { llm } = testClient(fakes(), [retry({ baseDelayMs: 600_000, random: () => 0.9 })]);
    const controller = new AbortController();
    llm.on("retry", () => controller.abort());
    fakes().openai.enqueue({ kind: "error", status: 500 }, { kind: "text", text: "unreached" });

    const error = await failure(llm.chat(ask(), { signal: controller.signal }));

    expect(error).toBeInstanceOf(AbortedError);
    expect(error.attempts).toHaveLength(1);
    expect(fakes().openai.requests).toHaveLength(1);
  });

  it("stops at the deadline: no wait that would end past it is started", async () => {
    const clock = manualClock();
    const { waits, sleep } = recordingSleep(clock);
    const { llm } = testClient(
      fakes(),
      [
        retry({
          sleep,
          random: () => 0.999,
          baseDelayMs: 400,
          maxDelayMs: 10_000,
          deadlineMs: 1_000,
          maxAttempts: 10,
        }),
      ],
      { clock },
    );
    fakes().openai.enqueue(...times(20, { kind: "error", status: 500 }));

    const error = await failure(llm.chat(ask()));

    // 399 ms fits in the deadline; 399 + 799 does not.
    expect(waits).toEqual([399]);
    expect(fakes().openai.requests).toHaveLength(2);
    expect(error.status).toBe(500);
  });

  it("draws each backoff with full jitter within [0, min(maxDelay, base * 2^n))", async () => {
    const { waits, sleep } = recordingSleep();
    const draws = [0, 0.5, 0.999, 0.25, 0.999];
    let i = 0;
    const { llm } = testClient(fakes(), [
      retry({ sleep, random: () => draws[i++]!, baseDelayMs: 100, maxDelayMs: 500, maxAttempts: 6 }),
    ]);
    fakes().openai.enqueue(...times(20, { kind: "error", status: 503 }));

    await failure(llm.chat(ask()));

    // Ceilings: 100, 200, 400, 500 (capped), 500.
    expect(waits).toEqual([0, 100, 399, 125, 499]);
    const ceilings = [100, 200, 400, 500, 500];
    waits.forEach((w, n) => {
      expect(w).toBeGreaterThanOrEqual(0);
      expect(w).toBeLessThan(ceilings[n]!);
    });
  });

  it("records each call as an attempt, the retries with purpose retry, in the cost record", async () => {
    const { sleep } = recordingSleep();
    const { llm, records } = testClient(fakes(), [retry({ sleep })]);
    fakes().openai.enqueue(
      { kind: "error", status: 502 },
      { kind: "text", text: "done", usage: { input: 100, output: 10 } },
    );

    const completion = await llm.chat(ask());

    expect(completion.meta.attempts.map((a) => [a.purpose, a.status])).toEqual([
      ["primary", "error"],
      ["retry", "ok"],
    ]);
    const record = records[0]!;
    expect(record.status).toBe("ok");
    expect(record.attempts.map((a) => a.purpose)).toEqual(["primary", "retry"]);
    // An HTTP error is not billed; the answer is.
    expect(record.cost).toEqual(completion.cost);
  });

  it("validates its options with an error that names the option", () => {
    expect(() => retry({ maxAttempts: 0 })).toThrow(ConfigError);
    expect(() => retry({ maxAttempts: 0 })).toThrow(/options\.maxAttempts/);
    expect(() => retry({ baseDelayMs: -1 })).toThrow(/options\.baseDelayMs/);
    expect(() => retry({ deadlineMs: 0 })).toThrow(/options\.deadlineMs/);
    expect(() => retry({ maxRetryAfterMs: Number.POSITIVE_INFINITY })).not.toThrow();
    expect(() => retry({ bogus: 1 } as never)).toThrow(ConfigError);
  });
});
