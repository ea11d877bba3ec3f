import { afterAll, beforeAll, beforeEach, describe, expect, expectTypeOf, it } from "vitest";
import { type FakeServer, startFakeOpenAI } from "../../../test/fakes/index.js";
import type { BudgetStatus } from "../../core/cost-record.js";
import { ConfigError } from "../../core/errors.js";
import type { Middleware } from "../../core/middleware.js";
import { memoryCounters } from "../../storage/memory/counters.js";
import { BudgetExceededError, BudgetUnpricedError, budget, type SpendLimit } from "./index.js";
import { ask, budgetClient, rejection } from "./test-client.js";

let fake: FakeServer;
beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const tenantDay = (limitUsd: SpendLimit["limitUsd"], extra: Partial<SpendLimit> = {}): SpendLimit => ({
  scope: "tenant",
  window: "day",
  limitUsd,
  ...extra,
});
const acme = { metadata: { tenant: "acme" } };
/** A reply with a known usage: (input + output) x 100 micro-dollars at the "priced" model. */
const answer = (input: number, output: number, delayMs = 0) =>
  delayMs
    ? ({
        kind: "slow-first-byte",
        delayMs,
        next: { kind: "text", text: "ok", usage: { input, output } },
      } as const)
    : ({ kind: "text", text: "ok", usage: { input, output } } as const);

describe("budget: spend limits, reserve then settle", () => {
  it("B1: 50 parallel $0.10 worst-case requests against $1: 10 reach the provider, 40 are refused, spend stays under", async () => {
    const counters = memoryCounters();
    const { llm } = budgetClient(fake, [budget({ counters, limits: [tenantDay(1)] })]);
    for (let i = 0; i < 50; i++) fake.enqueue(answer(0, 900, 30));
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () =>
        llm.chat(ask("Hi", { ...acme, model: "openai:output-only", maxOutputTokens: 1_000 })),
      ),
    );
    const ok = results.filter((r) => r.status === "fulfilled");
    const refused = results
      .filter((r) => r.status === "rejected")
      .map((r) => (r as PromiseRejectedResult).reason);
    expect(ok).toHaveLength(10);
    expect(fake.requests).toHaveLength(10);
    expect(refused).toHaveLength(40);
    for (const error of refused) {
      expect(error).toBeInstanceOf(BudgetExceededError);
      expect(error).toMatchObject({ kind: "spend", scope: "tenant:acme:day", limit: 1, estimate: 0.1 });
    }
    const status = await counters.status("tenant:acme", [dayWindow()], Date.now());
    expect(status).toEqual({ settledMicros: [900_000], heldMicros: 0 });
  });

  it("settle releases what a call did not use: the tenant can spend its whole limit, never more", async () => {
    const counters = memoryCounters();
    const { llm } = budgetClient(fake, [budget({ counters, limits: [tenantDay(0.05)] })]);
    let admitted = 0;
    for (;;) {
      fake.enqueue(answer(10, 5));
      const result = await llm.chat(ask("Hi", { ...acme, maxOutputTokens: 10 })).catch((e: unknown) => e);
      if (result instanceof BudgetExceededError) break;
      admitted++;
    }
    const spent = (await counters.status("tenant:acme", [dayWindow()], Date.now())).settledMicros[0]!;
    // Each call reserves (9 + 10) tokens x 100 = 1,900 micro-dollars and settles 1,500: what is left
    // unused is less than one call's worst case.
    expect(admitted).toBe(33);
    expect(spent).toBe(33 * 1_500);
    expect(spent).toBeLessThanOrEqual(50_000);
    expect(50_000 - spent).toBeLessThan(1_900);
  });

  it("B2: the ledger equals the settled spend", async () => {
    const counters = memoryCounters();
    const { llm, records } = budgetClient(fake, [budget({ counters, limits: [tenantDay(10)] })]);
    for (const [input, output] of [
      [13, 7],
      [101, 3],
      [5, 55],
    ] as const) {
      fake.enqueue(answer(input, output));
      await llm.chat(ask("Hi", acme));
    }
    const ledger = records.reduce((sum, r) => sum + r.cost.usd!, 0);
    const settled = (await counters.status("tenant:acme", [dayWindow()], Date.now())).settledMicros[0]!;
    expect(settled).toBe(Math.round(ledger * 1e6));
    expect(records.map((r) => r.error)).toEqual([null, null, null]);
  });

  it("B2: two limits on one scope and window share its counter: each spend is counted once, the lower limit holds", async () => {
    const counters = memoryCounters();
    const limits = [tenantDay(10), tenantDay(0.05, { softLimitUsd: 0.04 })];
    const { llm, records } = budgetClient(fake, [budget({ counters, limits })]);
    fake.enqueue(answer(13, 7));
    await llm.chat(ask("Hi", { ...acme, maxOutputTokens: 10 }));
    const settled = (await counters.status("tenant:acme", [dayWindow()], Date.now())).settledMicros[0]!;
    expect(settled).toBe(Math.round(records[0]!.cost.usd! * 1e6)); // not twice
    // A worst case over the lower limit is refused by it, naming it.
    const refused = await rejection(llm.chat(ask("Hi", { ...acme, maxOutputTokens: 1_000 })));
    expect(refused).toBeInstanceOf(BudgetExceededError);
    expect((refused as BudgetExceededError).limit).toBe(0.05);
  });

  it("B4: sets maxOutputTokens when the caller gives none, and reserves input bound + output at the dearest input rate", async () => {
    const { llm } = budgetClient(fake, [budget({ limits: [tenantDay(10)], defaultMaxOutputTokens: 1_000 })]);
    const res = await llm.chat(ask("Hello there", { ...acme, model: "openai:cache-dear" }));
    expect(fake.requests[0]!.body.max_completion_tokens).toBe(1_000);
    // The byte bound of "Hello there": 11 bytes + 4 framing + 3 priming = 18 tokens, at the 1-hour write rate ($2/M).
    expect(res.meta.state.spend).toMatchObject({ reservedUsd: (18 * 2 + 1_000 * 2) / 1e6 });
    expect(res.meta.state.spend?.settledUsd).toBe(res.cost.usd);
  });

  it("B4: with too little left, refuses with a typed error naming scope, limit and estimate, before any provider call", async () => {
    const counters = memoryCounters();
    const { llm, of } = budgetClient(fake, [budget({ counters, limits: [tenantDay(0.01)] })]);
    await counters.settle("tenant:acme", [dayWindow(10_000)], "earlier", 9_000, Date.now());
    const error = await rejection(llm.chat(ask("Hi", { ...acme, maxOutputTokens: 100 })));
    expect(error).toBeInstanceOf(BudgetExceededError);
    expect(error).toMatchObject({
      kind: "spend",
      scope: "tenant:acme:day",
      limit: 0.01,
      spentUsd: 0.009,
      unit: "usd",
    });
    expect(error.message).toMatch(
      /tenant:acme:day limit of \$0\.0100 would be crossed: \$0\.0090 spent or held/,
    );
    expect(fake.requests).toHaveLength(0);
    expect(of("budget-exceeded")).toMatchObject([{ kind: "spend", scope: "tenant:acme:day", limit: 0.01 }]);
  });

  it("B4: shrinkOutput lowers maxOutputTokens to what remains, reported in state and an event", async () => {
    const counters = memoryCounters();
    const { llm, of } = budgetClient(fake, [
      budget({ counters, limits: [tenantDay(0.01)], shrinkOutput: { minTokens: 10 } }),
    ]);
    await counters.settle("tenant:acme", [dayWindow(10_000)], "earlier", 5_000, Date.now());
    const res = await llm.chat(ask("Hi", { ...acme, maxOutputTokens: 1_000 }));
    // $0.005 left at 100 micro-dollars a token: 50 tokens, less the input bound (2 + 4 + 3).
    expect(fake.requests[0]!.body.max_completion_tokens).toBe(41);
    expect(res.meta.state.spend?.shrunkMaxOutputTokens).toEqual({ from: 1_000, to: 41 });
    expect(of("budget-output-shrunk")).toMatchObject([{ scope: "tenant:acme:day", from: 1_000, to: 41 }]);
  });

  it("A6: an unpriced model is refused under a limit, and bounded by the host's ceiling price when set", async () => {
    const strict = budgetClient(fake, [budget({ limits: [tenantDay(1)] })]);
    const error = await rejection(strict.llm.chat(ask("Hi", { ...acme, model: "openai:mystery-model" })));
    expect(error).toBeInstanceOf(BudgetUnpricedError);
    expect(error.message).toMatch(/ceilingPriceUsdPerMTok/);
    expect(fake.requests).toHaveLength(0);

    const counters = memoryCounters();
    const ceiling = budgetClient(fake, [
      budget({ counters, limits: [tenantDay(1)], ceilingPriceUsdPerMTok: { input: 1_000, output: 1_000 } }),
    ]);
    fake.enqueue(answer(10, 10));
    const res = await ceiling.llm.chat(
      ask("Hi", { ...acme, model: "openai:mystery-model", maxOutputTokens: 50 }),
    );
    expect(res.cost.priced).toBe(false);
    expect(res.meta.state.spend?.reservedUsd).toBeCloseTo((9 + 50) * 1e-3, 12);
    expect(res.meta.state.spend?.settledUsd).toBeCloseTo(0.02, 12);
    expect((await counters.status("tenant:acme", [dayWindow()], Date.now())).settledMicros).toEqual([20_000]);
  });

  it("tells a router the tenant's position, typed, and degrades to the cheaper model past the soft limit", async () => {
    const seen: (BudgetStatus | undefined)[] = [];
    const router: Middleware = {
      name: "router",
      handle(ctx, next) {
        expectTypeOf(ctx.state.budget).toEqualTypeOf<BudgetStatus | undefined>();
        seen.push(ctx.state.budget && { ...ctx.state.budget });
        return next(ctx);
      },
    };
    const { llm, of } = budgetClient(fake, [
      budget({ limits: [tenantDay(0.01, { softLimitUsd: 0.004 })], degrade: { model: "openai:cheap" } }),
      router,
    ]);
    fake.enqueue(answer(10, 10), answer(10, 10), answer(10, 10));
    const first = await llm.chat(ask("Hi", { ...acme, maxOutputTokens: 10 }));
    const second = await llm.chat(ask("Hi", { ...acme, maxOutputTokens: 10 }));
    await llm.chat(ask("Hi", { ...acme, maxOutputTokens: 10 }));
    expect(seen[0]).toEqual({
      scope: "tenant:acme:day",
      limitUsd: 0.01,
      spentUsd: 0.0019,
      overSoftLimit: false,
    });
    expect(seen[1]).toMatchObject({ spentUsd: 0.002 + 0.0019, overSoftLimit: false });
    expect(seen[2]).toMatchObject({ overSoftLimit: true });
    expect(fake.requests.map((r) => r.body.model)).toEqual(["priced", "priced", "cheap"]);
    expect(first.meta.state.spend?.degraded).toBeUndefined();
    expect(second.meta.state.spend?.windows).toEqual([
      expect.objectContaining({ scope: "tenant:acme:day", limitUsd: 0.01, softLimitUsd: 0.004 }),
    ]);
    expect(of("budget-soft-limit")).toHaveLength(1);
    expect(of("budget-degraded")).toMatchObject([
      { from: "openai:priced", to: "openai:cheap", reason: "soft-limit" },
    ]);
  });

  it("degraded mode instead of a refusal: where the dear model would cross the limit, the cheap one is used", async () => {
    const counters = memoryCounters();
    const { llm } = budgetClient(fake, [
      budget({ counters, limits: [tenantDay(0.001)], degrade: { model: "openai:cheap" } }),
    ]);
    const res = await llm.chat(ask("Hi", { ...acme, maxOutputTokens: 100 }));
    expect(fake.requests[0]!.body.model).toBe("cheap");
    expect(res.meta.state.spend?.degraded).toEqual({
      from: "openai:priced",
      to: "openai:cheap",
      reason: "limit",
    });
    expect(res.meta.state.route).toMatchObject({ model: "openai:cheap", tier: "degraded" });
    expect(res.meta.state.costRecord?.route?.tier).toBe("degraded");
  });

  it("prices `auto` as priceAutoAs, and refuses it under a limit without one", async () => {
    const router: Middleware = {
      name: "router",
      handle: (ctx, next) => next({ ...ctx, request: { ...ctx.request, model: "openai:cheap" } }),
    };
    const bare = budgetClient(fake, [budget({ limits: [tenantDay(1)] }), router]);
    expect(await rejection(bare.llm.chat(ask("Hi", { ...acme, model: "auto" })))).toBeInstanceOf(
      BudgetUnpricedError,
    );
    const priced = budgetClient(fake, [
      budget({ limits: [tenantDay(1)], priceAutoAs: "openai:priced" }),
      router,
    ]);
    const res = await priced.llm.chat(ask("Hi", { ...acme, model: "auto", maxOutputTokens: 10 }));
    expect(res.meta.state.spend?.reservedUsd).toBeCloseTo(19 * 1e-4, 12);
    expect(fake.requests.map((r) => r.body.model)).toEqual(["cheap"]);
  });

  it("B3: a day window resets at local midnight in the host's time zone (injected clock)", async () => {
    const { llm, clock } = budgetClient(
      fake,
      [budget({ limits: [tenantDay(0.002)], timeZone: "Asia/Tokyo" })],
      Date.parse("2025-03-31T14:58:00Z"), // 23:58 in Tokyo, still 31 March in UTC after midnight there
    );
    fake.enqueue(answer(10, 5));
    await llm.chat(ask("Hi", { ...acme, maxOutputTokens: 5 }));
    expect(await rejection(llm.chat(ask("Hi", { ...acme, maxOutputTokens: 5 })))).toBeInstanceOf(
      BudgetExceededError,
    );
    clock.set(Date.parse("2025-03-31T15:00:00Z")); // 00:00 on 1 April in Tokyo
    fake.enqueue(answer(10, 5));
    const res = await llm.chat(ask("Hi", { ...acme, maxOutputTokens: 5 }));
    expect(res.meta.state.spend?.windows[0]).toMatchObject({ endsAt: "2025-04-01T15:00:00.000Z" });
  });

  it("keeps tenants apart, scopes users within their tenant, and counts requests without a tenant together", async () => {
    const counters = memoryCounters();
    const limits: SpendLimit[] = [
      tenantDay(0.004),
      { scope: "user", window: { rollingHours: 1 }, limitUsd: 0.0015 },
      { scope: { name: "key", id: (ctx) => ctx.request.metadata?.tags?.[0] }, window: "month", limitUsd: 1 },
    ];
    const { llm } = budgetClient(fake, [budget({ counters, limits })]);
    const call = (metadata: object) => llm.chat(ask("Hi", { metadata, maxOutputTokens: 5 }) as never);
    fake.enqueue(answer(10, 5), answer(10, 5), answer(10, 5), answer(10, 5));
    await call({ tenant: "acme", user: "ann", tags: ["k1"] });
    await expect(call({ tenant: "acme", user: "ann" })).rejects.toThrow(/user:acme\/ann:rolling-1h/);
    await call({ tenant: "acme", user: "bob" });
    await expect(call({ tenant: "acme", user: "cid" })).rejects.toThrow(/tenant:acme:day/);
    await call({ tenant: "globex", user: "ann" });
    await call({});
    const key = await counters.status(
      "key:k1",
      [{ id: `month:${new Date().toISOString().slice(0, 7)}`, limitMicros: 0, ttlMs: 1 }],
      Date.now(),
    );
    expect(key.settledMicros).toEqual([1_500]);
    expect((await counters.status("tenant", [dayWindow()], Date.now())).settledMicros).toEqual([1_500]);
  });

  it("takes each tenant's limit from a function; undefined means no limit for that request", async () => {
    const plans: Record<string, number> = { acme: 0 };
    const { llm } = budgetClient(fake, [
      budget({ limits: [tenantDay((ctx) => plans[ctx.request.metadata?.tenant ?? ""])] }),
    ]);
    await expect(llm.chat(ask("Hi", acme))).rejects.toThrow(BudgetExceededError);
    const free = await llm.chat(ask("Hi", { metadata: { tenant: "unlisted" } }));
    expect(free.meta.state.spend).toBeUndefined();
    const broken = budgetClient(fake, [budget({ limits: [tenantDay(() => Number.NaN)] })]);
    await expect(broken.llm.chat(ask("Hi", acme))).rejects.toThrow(/options\.limits\[0\]\.limitUsd gave NaN/);
  });

  it("settles a stream when it ends, and when its reader stops early", async () => {
    const counters = memoryCounters();
    const { llm } = budgetClient(fake, [budget({ counters, limits: [tenantDay(1)] })]);
    fake.enqueue({ kind: "text", text: "one two three four", usage: { input: 10, output: 4 } });
    const stream = llm.stream(ask("Hi", { ...acme, maxOutputTokens: 10 }));
    for await (const _ of stream);
    await stream.completion;
    fake.enqueue({ kind: "text", text: "one two three four", usage: { input: 10, output: 4 } });
    const early = llm.stream(ask("Hi", { ...acme, maxOutputTokens: 10 }));
    for await (const _ of early) break;
    await early.completion.catch(() => {});
    const status = await counters.status("tenant:acme", [dayWindow()], Date.now());
    expect(status.heldMicros).toBe(0);
    expect(status.settledMicros[0]).toBeGreaterThanOrEqual(1_400);
  });

  it("settles a bill above the reservation in full, and reports the overrun", async () => {
    const counters = memoryCounters();
    const { llm, of } = budgetClient(fake, [
      budget({ counters, limits: [tenantDay(1)], reserveInput: "estimate" }),
    ]);
    fake.enqueue(answer(500, 5)); // the provider bills far more input than "Hi" is estimated at
    const res = await llm.chat(ask("Hi", { ...acme, maxOutputTokens: 10 }));
    expect(of("budget-overrun")).toEqual([
      { requestId: res.meta.requestId, reservedUsd: res.meta.state.spend!.reservedUsd, actualUsd: 0.0505 },
    ]);
    expect((await counters.status("tenant:acme", [dayWindow()], Date.now())).settledMicros).toEqual([50_500]);
  });

  it("releases the whole hold when the provider fails before billing", async () => {
    const counters = memoryCounters();
    const { llm } = budgetClient(fake, [budget({ counters, limits: [tenantDay(1)] })]);
    fake.enqueue({ kind: "error", status: 500 });
    await expect(llm.chat(ask("Hi", acme))).rejects.toThrow();
    expect(await counters.status("tenant:acme", [dayWindow()], Date.now())).toEqual({
      settledMicros: [0],
      heldMicros: 0,
    });
  });

  it("counts budget violations per task", async () => {
    const spend = budget({ limits: [tenantDay(0)] });
    const { llm } = budgetClient(fake, [spend]);
    await llm.chat(ask("Hi", { metadata: { tenant: "acme", task: "faq" } })).catch(() => {});
    await llm.chat(ask("Hi", { metadata: { tenant: "acme", task: "faq" } })).catch(() => {});
    await llm.chat(ask("Hi", acme)).catch(() => {});
    expect(spend.violations()).toMatchObject({ faq: { spendRefused: 2 }, "(none)": { spendRefused: 1 } });
  });

  it("refuses bad options, naming the option", () => {
    expect(() => budget({ limits: [tenantDay(-1)] })).toThrow(ConfigError);
    expect(() => budget({ limits: [tenantDay(-1)] })).toThrow(/options\.limits\[0\]\.limitUsd/);
    expect(() => budget({ limits: [tenantDay(1, { softLimitUsd: 2 })] })).toThrow(
      /softLimitUsd: must be at most/,
    );
    expect(() => budget({ timeZone: "Mars/Olympus" })).toThrow(/options\.timeZone/);
    expect(() => budget({ tasks: { faq: { overflow: "summarize" } } })).toThrow(
      /options\.tasks\.faq\.overflow: overflow "summarize" needs the summarizer/,
    );
    expect(() => budget({ tasks: { faq: { inputMax: 0 } } })).toThrow(/options\.tasks\.faq\.inputMax/);
    expect(() => budget({ onStoreError: "ignore" as never })).toThrow(/options\.onStoreError/);
    expect(() =>
      budget({ limits: [{ scope: { name: "a b", id: () => "x" }, window: "day", limitUsd: 1 }] }),
    ).toThrow(/options\.limits\[0\]\.scope/);
    expect(() => budget({ limits: [tenantDay(1, { window: { rollingHours: 0 } })] })).toThrow(/rollingHours/);
    expect(() => budget({ counters: {} as never })).toThrow(/options\.counters/);
    expect(() => budget({ holdTtlMs: 1.5 })).toThrow(/options\.holdTtlMs/);
    expect(() => budget({ limt: [] } as never)).toThrow(/limt/);
  });
});

/** Today's UTC day window, as the budget resolves it by default. */
function dayWindow(limitMicros = 1_000_000) {
  return { id: `day:${new Date().toISOString().slice(0, 10)}`, limitMicros, ttlMs: 86_400_000 };
}
