import { describe, expect, it, vi } from "vitest";
import { useFakes } from "../../../test/fakes/index.js";
import type { Usage } from "../../core/completion.js";
import {
  AbortedError,
  ConfigError,
  OverloadedError,
  ProviderError,
  StreamInterruptedError,
} from "../../core/errors.js";
import { priceBook } from "../../pricing/price-book.js";
import { retry } from "../retry/index.js";
import {
  ask,
  failure,
  manualClock,
  readStream,
  recordingSleep,
  testClient,
  times,
} from "../retry/test-client.js";
import { AllModelsFailedError, fallback } from "./index.js";

const fakes = useFakes();
const prices = priceBook();
const HAIKU = "anthropic:claude-haiku-4-5";
/** fallback outside retry, both inside the cost tracker: the documented order. */
const resilient = (chain: string[], retries = 1) => {
  const { sleep } = recordingSleep();
  return [fallback({ chain, breaker: false }), retry({ maxAttempts: retries, sleep })];
};

describe("fallback: an ordered chain across providers", () => {
  it("answers from the next model when the requested one fails with a 500, and says so", async () => {
    const { llm, records, of } = testClient(fakes(), resilient([HAIKU]));
    fakes().openai.enqueue({ kind: "error", status: 500 });
    fakes().anthropic.enqueue({ kind: "text", text: "from claude" });

    const completion = await llm.chat(ask());

    expect(completion.text).toBe("from claude");
    expect(completion.provider).toBe("anthropic");
    expect(completion.meta.attempts.map((a) => [a.purpose, a.provider, a.status])).toEqual([
      ["primary", "openai", "error"],
      ["fallback", "anthropic", "ok"],
    ]);
    expect(of("fallback")).toHaveLength(1);
    expect(of("fallback")[0]).toMatchObject({ from: "openai:gpt-4o-mini", to: HAIKU });
    expect(of("fallback")[0]!.error).toBeInstanceOf(ProviderError);
    expect(records[0]).toMatchObject({ status: "ok", provider: "anthropic", model: "claude-haiku-4-5" });
  });

  it("prices every attempt at its own model, across providers (A7)", async () => {
    const { llm, records } = testClient(fakes(), resilient([HAIKU]));
    // Cut before any output: billed for its input, charged as an estimate at gpt-4o-mini.
    fakes().openai.enqueue({ kind: "truncated-stream", afterDeltas: 0 });
    fakes().anthropic.enqueue({
      kind: "text",
      text: "one clean answer",
      usage: { input: 2_000, output: 300 },
    });

    const { events, completion } = await readStream(llm.stream(ask()));

    expect(completion!.text).toBe("one clean answer");
    expect(events.filter((e) => e.type === "start")).toEqual([
      expect.objectContaining({ provider: "anthropic" }),
    ]);
    const record = records[0]!;
    const [cut, answered] = record.attempts;
    expect(cut).toMatchObject({ provider: "openai", model: "gpt-4o-mini", status: "error" });
    expect(cut!.cost).toEqual(prices.cost("openai", "gpt-4o-mini", cut!.usage as Usage));
    expect(cut!.cost!.usd).toBeGreaterThan(0);
    expect(answered).toMatchObject({ provider: "anthropic", model: "claude-haiku-4-5", status: "ok" });
    expect(answered!.cost).toEqual(prices.cost("anthropic", "claude-haiku-4-5", answered!.usage as Usage));
    const sum = (cut!.cost as { usd: number }).usd + (answered!.cost as { usd: number }).usd;
    expect(record.cost.usd).toBeCloseTo(sum, 12);
    expect(record.retryCostUsd).toBe((cut!.cost as { usd: number }).usd);
  });

  it("retries each model before moving on; AllModelsFailedError carries every model's error and every attempt", async () => {
    const { llm, records } = testClient(fakes(), resilient([HAIKU], 2));
    fakes().openai.enqueue(...times(2, { kind: "error", status: 500 }));
    fakes().anthropic.enqueue(...times(2, { kind: "error", status: 529 }));

    const error = await failure(llm.chat(ask()));

    expect(error).toBeInstanceOf(AllModelsFailedError);
    expect(error.failures.map((f: { model: string }) => f.model)).toEqual(["openai:gpt-4o-mini", HAIKU]);
    expect(error.failures[0].error.status).toBe(500);
    expect(error.failures[1].error).toBeInstanceOf(OverloadedError);
    expect(error.attempts.map((a: { purpose: string; provider: string }) => [a.purpose, a.provider])).toEqual(
      [
        ["primary", "openai"],
        ["retry", "openai"],
        ["fallback", "anthropic"],
        ["retry", "anthropic"],
      ],
    );
    expect(error.message).toMatch(
      /openai:gpt-4o-mini \(ProviderError 500\).*claude-haiku-4-5 \(OverloadedError 529\)/,
    );
    expect(records[0]).toMatchObject({ status: "error", error: { name: "AllModelsFailedError" } });
    expect(records[0]!.attempts).toHaveLength(4);
  });

  it("does not fail over a 400: the request itself is wrong, and the provider's error is shown unchanged", async () => {
    const { llm, of } = testClient(fakes(), resilient([HAIKU]));
    fakes().openai.enqueue({ kind: "error", status: 400, message: "bad request" });

    const error = await failure(llm.chat(ask()));

    expect(error).toBeInstanceOf(ProviderError);
    expect(error).not.toBeInstanceOf(AllModelsFailedError);
    expect(error.status).toBe(400);
    expect(fakes().anthropic.requests).toHaveLength(0);
    expect(of("fallback")).toEqual([]);
  });

  it("shows a 400 unchanged from the first model called, when the requested one was skipped (open circuit)", async () => {
    const fb = fallback({ chain: [HAIKU], breaker: { minCalls: 1, openMs: 60_000 } });
    const { llm } = testClient(fakes(), [fb, retry({ maxAttempts: 1 })], { clock: manualClock() });
    fakes().openai.enqueue({ kind: "error", status: 500 });
    fakes().anthropic.enqueue({ kind: "text", text: "ok" });
    await llm.chat(ask()); // opens gpt-4o-mini's circuit
    fakes().anthropic.enqueue({ kind: "error", status: 400 });

    const error = await failure(llm.chat(ask()));

    expect(error).toBeInstanceOf(ProviderError);
    expect(error).not.toBeInstanceOf(AllModelsFailedError);
    expect(error.status).toBe(400);
    expect(fakes().openai.requests).toHaveLength(1); // skipped the second time
  });

  it("a half-open probe whose stream is never read gives its place up after openMs", async () => {
    const clock = manualClock();
    const fb = fallback({ chain: [HAIKU], breaker: { minCalls: 1, openMs: 1_000, halfOpenProbes: 1 } });
    const { llm } = testClient(fakes(), [fb, retry({ maxAttempts: 1 })], { clock });
    fakes().openai.enqueue({ kind: "error", status: 500 });
    await llm.chat(ask()); // opens gpt-4o-mini's circuit
    clock.advance(1_000);
    llm.stream(ask()); // the probe: a stream its caller never reads
    await vi.waitFor(() => expect(fakes().openai.requests).toHaveLength(2));
    clock.advance(1_000);
    await llm.chat(ask());
    expect(fakes().openai.requests).toHaveLength(3); // probed again, not skipped for good
  });

  it("a 400 from a fallback model ends the chain with AllModelsFailedError", async () => {
    const { llm } = testClient(fakes(), resilient([HAIKU, "openai:gpt-4o"]));
    fakes().openai.enqueue({ kind: "error", status: 503 });
    fakes().anthropic.enqueue({ kind: "error", status: 400 });

    const error = await failure(llm.chat(ask()));

    expect(error).toBeInstanceOf(AllModelsFailedError);
    expect(error.failures.map((f: { error: ProviderError }) => f.error.status)).toEqual([503, 400]);
    expect(fakes().openai.requests).toHaveLength(1);
  });

  it("fallbackOn widens what fails over (a 404: a model this key cannot use)", async () => {
    const { sleep } = recordingSleep();
    const { llm } = testClient(fakes(), [
      fallback({
        chain: [HAIKU],
        breaker: false,
        fallbackOn: (e) => e instanceof ProviderError && (e.retryable || e.status === 404),
      }),
      retry({ sleep }),
    ]);
    fakes().openai.enqueue({ kind: "error", status: 404 });
    expect((await llm.chat(ask())).provider).toBe("anthropic");
  });

  it("never fails over a caller's abort", async () => {
    const { llm } = testClient(fakes(), resilient([HAIKU]));
    fakes().openai.enqueue({ kind: "hang" });
    const controller = new AbortController();
    const call = failure(llm.chat(ask(), { signal: controller.signal }));
    await vi.waitFor(() => expect(fakes().openai.requests).toHaveLength(1), { timeout: 10_000 });
    controller.abort();
    expect(await call).toBeInstanceOf(AbortedError);
    expect(fakes().anthropic.requests).toHaveLength(0);
  });

  it("does not fail over a stream once output reached the caller", async () => {
    const { llm } = testClient(fakes(), resilient([HAIKU]));
    fakes().openai.enqueue({ kind: "truncated-stream", afterDeltas: 2, text: "one two three" });

    const { events, error } = await readStream(llm.stream(ask()));

    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect(error.partial.text).toBe("one two");
    expect(events.some((e) => e.type === "text-delta")).toBe(true);
    expect(fakes().anthropic.requests).toHaveLength(0);
  });

  it("takes the chain from a function of the request, and never tries the requested model twice", async () => {
    const { sleep } = recordingSleep();
    const chain = vi.fn(() => ["openai:gpt-4o-mini", HAIKU]);
    const { llm } = testClient(fakes(), [
      fallback({ chain, breaker: false }),
      retry({ maxAttempts: 1, sleep }),
    ]);
    fakes().openai.enqueue({ kind: "error", status: 502 }, { kind: "text", text: "unreached" });
    fakes().anthropic.enqueue({ kind: "text", text: "claude" });

    expect((await llm.chat(ask())).text).toBe("claude");
    expect(fakes().openai.requests).toHaveLength(1);
    expect(chain).toHaveBeenCalledTimes(1);
  });

  it("fails with a ConfigError naming the chain entry that no provider serves", async () => {
    const { llm } = testClient(fakes(), [fallback({ chain: ["azure:gpt-4o"], breaker: false })]);
    const error = await failure(llm.chat(ask()));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/options\.chain\[0\] "azure:gpt-4o"/);
  });

  it("validates its options with an error that names the option", () => {
    expect(() => fallback({} as never)).toThrow(/options\.chain/);
    expect(() => fallback({ chain: [], breaker: { failureRate: 0 } })).toThrow(
      /options\.breaker\.failureRate/,
    );
    expect(() => fallback({ chain: [], guard: { maxShare: 1.5 } })).toThrow(/options\.guard\.maxShare/);
    expect(() => fallback({ chain: [], guard: { maxShare: 0.2, degrade: "stale" as never } })).toThrow(
      ConfigError,
    );
  });
});
