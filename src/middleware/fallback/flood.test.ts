import { describe, expect, it } from "vitest";
import { useFakes } from "../../../test/fakes/index.js";
import type { Completion, Usage } from "../../core/completion.js";
import type { Middleware } from "../../core/middleware.js";
import { completedReply } from "../../core/reply.js";
import { priceBook } from "../../pricing/price-book.js";
import { retry } from "../retry/index.js";
import { ask, manualClock, readStream, testClient, times } from "../retry/test-client.js";
import {
  AllModelsFailedError,
  CircuitOpenError,
  CostGuardError,
  type FallbackOptions,
  fallback,
} from "./index.js";

const fakes = useFakes();
const prices = priceBook();
const HAIKU = "anthropic:claude-haiku-4-5";
const SONNET = "anthropic:claude-sonnet-4-6";
const sentTo = (model: string) => fakes().anthropic.requests.filter((r) => r.body?.model === model).length;

/** fallback outside retry (one call per model, SDK retries off), both inside the cost tracker. */
function stack(options: FallbackOptions): Middleware[] {
  return [fallback(options), retry({ maxAttempts: 1 })];
}

/** `waves` bursts of `size` concurrent requests, one burst after the other. */
async function load(
  call: () => Promise<Completion>,
  waves: number,
  size: number,
): Promise<PromiseSettledResult<Completion>[]> {
  const results: PromiseSettledResult<Completion>[] = [];
  for (let w = 0; w < waves; w++) {
    results.push(...(await Promise.allSettled(Array.from({ length: size }, call))));
  }
  return results;
}
const fulfilled = (results: PromiseSettledResult<Completion>[]) =>
  results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
const rejected = (results: PromiseSettledResult<Completion>[]) =>
  results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));

describe("fallback under a flood: breaker and cost guard (R2)", () => {
  it("opens the cheap model's circuit under a 429 flood, skips it, and recovers by half-open probing", async () => {
    const clock = manualClock();
    const breaker = { minCalls: 5, failureRate: 0.5, windowMs: 60_000, openMs: 30_000, halfOpenProbes: 2 };
    const fb = fallback({ chain: [HAIKU], breaker });
    const { llm, of } = testClient(fakes(), [fb, retry({ maxAttempts: 1 })], { clock });
    fakes().openai.enqueue(...times(1_000, { kind: "error", status: 429 }));

    // Under load: ten at once, all let through while the circuit is still closed.
    const first = await load(() => llm.chat(ask()), 1, 10);
    expect(fulfilled(first).every((c) => c.provider === "anthropic")).toBe(true);
    expect(fakes().openai.requests).toHaveLength(10);
    expect(of("circuit-open")).toHaveLength(1);
    expect(of("circuit-open")[0]).toMatchObject({ model: "openai:gpt-4o-mini", failureRate: 1 });
    expect(of("circuit-open")[0]!.calls).toBeGreaterThanOrEqual(5);
    expect(fb.circuits()).toContainEqual({ model: "openai:gpt-4o-mini", state: "open" });

    // Open: the cheap model is skipped, not called.
    const second = await load(() => llm.chat(ask()), 2, 10);
    expect(fulfilled(second)).toHaveLength(20);
    expect(fakes().openai.requests).toHaveLength(10);
    expect(of("fallback").at(-1)!.error).toBeInstanceOf(CircuitOpenError);

    // openMs later the provider answers again: two probes succeed and the circuit closes.
    clock.advance(30_000);
    fakes().openai.reset();
    const probe1 = await llm.chat(ask());
    expect(of("circuit-half-open")).toHaveLength(1);
    const probe2 = await llm.chat(ask());
    expect([probe1.provider, probe2.provider]).toEqual(["openai", "openai"]);
    expect(of("circuit-close")).toEqual([{ requestId: probe2.meta.requestId, model: "openai:gpt-4o-mini" }]);
    expect(fb.circuits()).toContainEqual({ model: "openai:gpt-4o-mini", state: "closed" });
    const after = await load(() => llm.chat(ask()), 1, 5);
    expect(fulfilled(after).every((c) => c.provider === "openai")).toBe(true);
  });

  it("a failed probe opens the circuit again", async () => {
    const clock = manualClock();
    const { llm, of } = testClient(
      fakes(),
      stack({ chain: [HAIKU], breaker: { minCalls: 3, openMs: 10_000, halfOpenProbes: 1 } }),
      { clock },
    );
    fakes().openai.enqueue(...times(100, { kind: "error", status: 429 }));
    await load(() => llm.chat(ask()), 3, 1);
    expect(of("circuit-open")).toHaveLength(1);
    clock.advance(10_000);
    const answer = await llm.chat(ask());
    expect(answer.provider).toBe("anthropic");
    expect(of("circuit-open")).toHaveLength(2);
    expect(fakes().openai.requests).toHaveLength(4);
  });

  it("opens a circuit on the slow-call rate, timed by the middleware's clock", async () => {
    // A clock that moves a second each time it is read: every call takes "1,000 ms".
    let now = 0;
    const ticking = { now: () => (now += 1_000) };
    const { llm, of } = testClient(
      fakes(),
      stack({
        chain: [HAIKU],
        clock: ticking,
        breaker: { slowCallMs: 500, slowCallRate: 0.5, minCalls: 3, windowMs: 3_600_000 },
      }),
    );
    await load(() => llm.chat(ask()), 3, 1);
    expect(of("circuit-open")).toHaveLength(1);
    expect(of("circuit-open")[0]).toMatchObject({
      model: "openai:gpt-4o-mini",
      failureRate: 0,
      slowCallRate: 1,
    });
    // Slow, not failing: the next request goes straight to the next model.
    expect((await llm.chat(ask())).provider).toBe("anthropic");
    expect(fakes().openai.requests).toHaveLength(3);
  });

  it("with the cheap model failing 100%, a 20% guard sends at most 20 (±1) of 100 requests to the expensive one", async () => {
    const clock = manualClock();
    const { llm, records, of } = testClient(
      fakes(),
      stack({
        chain: [SONNET],
        breaker: false,
        guard: { maxShare: 0.2, windowMs: 600_000, degrade: "error" },
      }),
      { clock },
    );
    fakes().openai.enqueue(...times(100, { kind: "error", status: 429 }));

    const results = await load(() => llm.chat(ask()), 5, 20);

    const escalated = sentTo("claude-sonnet-4-6");
    expect(escalated).toBeGreaterThanOrEqual(19);
    expect(escalated).toBeLessThanOrEqual(21);
    expect(fulfilled(results)).toHaveLength(escalated);
    const refused = rejected(results);
    expect(refused).toHaveLength(100 - escalated);
    for (const error of refused) {
      expect(error).toBeInstanceOf(CostGuardError);
      expect(error).toBeInstanceOf(AllModelsFailedError);
      expect(error).toMatchObject({ model: SONNET, scope: "overall", maxShare: 0.2 });
      expect(error.failures.map((f: { model: string }) => f.model)).toEqual(["openai:gpt-4o-mini"]);
    }
    expect(of("guard-engaged")).toHaveLength(refused.length);
    expect(of("guard-engaged")[0]).toMatchObject({ model: SONNET, degrade: "error", maxShare: 0.2 });
    // The ledger agrees: one record per request, the escalations priced at the expensive model.
    expect(records).toHaveLength(100);
    const ok = records.filter((r) => r.status === "ok");
    expect(ok).toHaveLength(escalated);
    for (const r of ok) expect(r.model).toBe("claude-sonnet-4-6");
    expect(records.filter((r) => r.error?.name === "CostGuardError")).toHaveLength(refused.length);
  });

  it("breaker and guard together: the rest degrade to the cheapest healthy model, each priced at its own (R2, A7)", async () => {
    const clock = manualClock();
    const { llm, records, of } = testClient(
      fakes(),
      stack({
        chain: [SONNET, HAIKU],
        breaker: { minCalls: 5 },
        guard: { maxShare: 0.2, degrade: "cheapest" },
      }),
      { clock },
    );
    fakes().openai.enqueue(...times(1_000, { kind: "error", status: 429 }));

    const results = await load(() => llm.chat(ask("hi", { model: "openai:gpt-4o" })), 5, 20);

    expect(fulfilled(results)).toHaveLength(100);
    expect(fakes().openai.requests).toHaveLength(20); // the first burst, before the circuit opened
    expect(of("circuit-open")).toHaveLength(1);
    const escalated = sentTo("claude-sonnet-4-6");
    expect(escalated).toBeLessThanOrEqual(21);
    expect(escalated).toBeGreaterThanOrEqual(19);
    expect(sentTo("claude-haiku-4-5")).toBe(100 - escalated);
    expect(of("guard-engaged")).toHaveLength(100 - escalated);
    for (const r of records) {
      const answer = r.attempts.at(-1)!;
      expect(answer.cost).toEqual(prices.cost(answer.provider, answer.model, answer.usage as Usage));
    }
  });

  it("critical requests still escalate once the share is used up", async () => {
    const { llm } = testClient(
      fakes(),
      stack({
        chain: [SONNET],
        breaker: false,
        guard: {
          maxShare: 0.1,
          degrade: "error",
          critical: (ctx) => ctx.request.metadata?.task === "checkout",
        },
      }),
    );
    fakes().openai.enqueue(...times(20, { kind: "error", status: 503 }));
    const routine = await load(() => llm.chat(ask()), 1, 10);
    expect(fulfilled(routine)).toHaveLength(1);
    const critical = await llm.chat(ask("pay", { metadata: { task: "checkout" } }));
    expect(critical.model).toContain("claude-sonnet-4-6");
  });

  it("per tenant: a tenant's flood uses up its own allowance, not everyone's", async () => {
    const { llm, of } = testClient(
      fakes(),
      stack({ chain: [SONNET], breaker: false, guard: { maxShare: 0.2, perTenant: true, degrade: "error" } }),
    );
    // Tenant b's ten requests answer from the cheap model; then tenant a's ten all fail over.
    for (let i = 0; i < 10; i++) await llm.chat(ask("hi", { metadata: { tenant: "b" } }));
    fakes().openai.enqueue(...times(10, { kind: "error", status: 429 }));
    await load(() => llm.chat(ask("hi", { metadata: { tenant: "a" } })), 10, 1);

    expect(sentTo("claude-sonnet-4-6")).toBe(2); // 20% of a's 10; overall alone would have allowed 4
    expect(of("guard-engaged").every((e) => e.scope === "tenant" && e.tenant === "a")).toBe(true);
  });

  it("a degrade function serves the host's answer (a stale entry) instead of the expensive call, streamed too", async () => {
    const stale = { text: "yesterday's answer" };
    let served: Completion | undefined;
    const { llm } = testClient(
      fakes(),
      stack({
        chain: [SONNET],
        breaker: false,
        guard: {
          maxShare: 0,
          degrade: (ctx, refusal) => {
            expect(refusal.model).toBe(SONNET);
            return completedReply(
              { ...served!, text: stale.text, content: [{ type: "text", text: stale.text }] },
              ctx.request.stream === true,
            );
          },
        },
      }),
    );
    served = await llm.chat(ask());
    fakes().openai.enqueue({ kind: "error", status: 500 }, { kind: "error", status: 500 });

    expect((await llm.chat(ask())).text).toBe(stale.text);
    const { completion, events } = await readStream(llm.stream(ask()));
    expect(completion!.text).toBe(stale.text);
    expect(events.map((e) => e.type)).toEqual(["start", "text-delta", "finish"]);
    expect(sentTo("claude-sonnet-4-6")).toBe(0);
  });

  it("a cheaper model is never counted against the guard", async () => {
    const { llm, of } = testClient(
      fakes(),
      stack({ chain: ["openai:gpt-4.1-nano"], breaker: false, guard: { maxShare: 0, degrade: "error" } }),
    );
    fakes().openai.enqueue(
      ...times(5, { kind: "error", status: 500 }).flatMap((s) => [
        s,
        { kind: "text" as const, text: "nano" },
      ]),
    );
    const results = await load(() => llm.chat(ask()), 5, 1);
    expect(fulfilled(results).map((c) => c.text)).toEqual(
      times(5, { kind: "text", text: "nano" }).map(() => "nano"),
    );
    expect(of("guard-engaged")).toEqual([]);
  });
});
