import { describe, expect, it } from "vitest";
import type { CostRecord } from "../core/cost-record.js";
import { ConfigError } from "../core/errors.js";
import type { LedgerQuery } from "../storage/ledger.js";
import { attempt, costRecord, priced, unpriced, usage } from "./records.fixture.js";
import { report, reportFromLedger } from "./report.js";

const MINI = "openai:gpt-4o-mini";
const HAIKU = "anthropic:claude-haiku-4-5";
const SONNET = "anthropic:claude-sonnet-4-5";
const TUNED = "openai:my-finetune";

/** Eight requests over two UTC days: cache hits and misses, an escalation, fallbacks, retries, unpriced, errors. */
const records: CostRecord[] = [
  costRecord({
    id: "r1",
    time: "2024-06-01T09:00:00.000Z",
    cache: { status: "miss", kind: "exact" },
    savingsUsd: 0.002,
  }),
  costRecord({
    id: "r2",
    time: "2024-06-01T10:00:00.000Z",
    // The served answer's usage, as the cost tracker may copy it from CacheOutcome.saved.
    cache: { status: "hit", kind: "exact", saved: { usage: usage(100, 50) } } as CostRecord["cache"],
    cost: priced(0),
    usage: usage(0, 0),
    savingsUsd: 0.0015,
    attempts: [],
  }),
  costRecord({
    id: "r3",
    time: "2024-06-01T11:00:00.000Z",
    tenant: "globex",
    model: HAIKU,
    cache: { status: "hit", kind: "semantic", similarity: 0.97 },
    cost: priced(0.00002),
    usage: usage(20, 0),
    attempts: [attempt("side-call", "openai:text-embedding-3-small")],
  }),
  costRecord({
    id: "r4",
    time: "2024-06-01T23:30:00.000Z",
    tenant: "globex",
    task: "summarize",
    model: SONNET,
    cost: priced(0.0123),
    usage: usage(1000, 400, { cacheReadTokens: 2000, reasoningTokens: 100 }),
    retryCostUsd: 0.0003,
    savingsUsd: 0.004,
    attempts: [attempt("primary", MINI), attempt("escalation", SONNET)],
  }),
  costRecord({
    id: "r5",
    time: "2024-06-02T01:00:00.000Z",
    task: "summarize",
    model: TUNED,
    cost: unpriced(),
    usage: usage(200, 80),
  }),
  costRecord({
    id: "r6",
    time: "2024-06-02T02:00:00.000Z",
    tenant: null,
    task: null,
    status: "error",
    model: null,
    cost: priced(0),
    usage: usage(0, 0),
    attempts: [attempt("primary", MINI, "error"), attempt("fallback", HAIKU, "error")],
    error: { name: "RateLimitError", message: "429", status: 429 },
  }),
  costRecord({
    id: "r7",
    time: "2024-06-02T03:00:00.000Z",
    model: HAIKU,
    cache: { status: "miss", kind: "semantic" },
    cost: priced(0.0004),
    usage: usage(300, 60, { cacheWrite5mTokens: 500 }),
    retryCostUsd: 0.0001,
    savingsUsd: 0.0002,
    attempts: [
      attempt("primary", MINI, "error"),
      attempt("retry", MINI, "error"),
      attempt("fallback", HAIKU),
    ],
  }),
  costRecord({
    id: "r8",
    time: "2024-06-02T04:00:00.000Z",
    tenant: "globex",
    task: "summarize",
    status: "error",
    model: TUNED,
    cost: unpriced(true),
    usage: usage(10, 5, { estimated: true }),
    attempts: [attempt("primary", TUNED, "error")],
    error: { name: "StreamInterruptedError", message: "cut" },
  }),
];

const noCost = { requests: 0, costUsd: 0, unpricedRequests: 0, usage: usage(0, 0), savingsUsd: 0 };

describe("report", () => {
  const r = report(records);

  it("totals every priced dollar and counts unpriced records apart, tokens included", () => {
    expect(r).toMatchObject({
      from: "2024-06-01T09:00:00.000Z",
      to: "2024-06-02T04:00:00.000Z",
      timeZone: "UTC",
      requests: 8,
      ok: 6,
      errors: 2,
    });
    expect(r.totals).toEqual({
      costUsd: 0.01372,
      unpricedRequests: 2,
      estimatedRequests: 1,
      savingsUsd: 0.0077,
      retryCostUsd: 0.0004,
      usage: usage(1630, 595, {
        cacheReadTokens: 2000,
        cacheWrite5mTokens: 500,
        reasoningTokens: 100,
        estimated: true,
      }),
    });
  });

  it("breaks figures down by model, most expensive first, with unpriced models never shown as $0 spent", () => {
    expect(Object.keys(r.byModel)).toEqual([SONNET, MINI, HAIKU, TUNED, "(none)"]);
    expect(r.byModel).toEqual({
      [SONNET]: {
        requests: 1,
        costUsd: 0.0123,
        unpricedRequests: 0,
        usage: usage(1000, 400, { cacheReadTokens: 2000, reasoningTokens: 100 }),
        savingsUsd: 0.004,
      },
      [MINI]: { requests: 2, costUsd: 0.001, unpricedRequests: 0, usage: usage(100, 50), savingsUsd: 0.0035 },
      [HAIKU]: {
        requests: 2,
        costUsd: 0.00042,
        unpricedRequests: 0,
        usage: usage(320, 60, { cacheWrite5mTokens: 500 }),
        savingsUsd: 0.0002,
      },
      [TUNED]: {
        requests: 2,
        costUsd: 0,
        unpricedRequests: 2,
        usage: usage(210, 85, { estimated: true }),
        savingsUsd: 0,
      },
      "(none)": { ...noCost, requests: 1 },
    });
  });

  it("breaks figures down by task and tenant, with no task or tenant under (none)", () => {
    expect(r.byTask).toEqual({
      summarize: {
        requests: 3,
        costUsd: 0.0123,
        unpricedRequests: 2,
        usage: usage(1210, 485, { cacheReadTokens: 2000, reasoningTokens: 100, estimated: true }),
        savingsUsd: 0.004,
      },
      chat: {
        requests: 4,
        costUsd: 0.00142,
        unpricedRequests: 0,
        usage: usage(420, 110, { cacheWrite5mTokens: 500 }),
        savingsUsd: 0.0037,
      },
      "(none)": { ...noCost, requests: 1 },
    });
    expect(r.byTenant.acme).toEqual({
      requests: 4,
      costUsd: 0.0014,
      unpricedRequests: 1,
      usage: usage(600, 190, { cacheWrite5mTokens: 500 }),
      savingsUsd: 0.0037,
    });
    expect(r.byTenant.globex).toMatchObject({ requests: 3, costUsd: 0.01232, unpricedRequests: 1 });
    expect(r.byTenant["(none)"]).toEqual({ ...noCost, requests: 1 });
  });

  it("buckets by UTC calendar day by default", () => {
    expect(Object.keys(r.byDay)).toEqual(["2024-06-01", "2024-06-02"]);
    expect(r.byDay["2024-06-01"]).toMatchObject({ requests: 4, costUsd: 0.01332, unpricedRequests: 0 });
    expect(r.byDay["2024-06-02"]).toMatchObject({ requests: 4, costUsd: 0.0004, unpricedRequests: 2 });
  });

  it("reports cache hits, misses and what the hits saved, counting hits of unknown saving apart", () => {
    const exact = {
      hits: 1,
      misses: 1,
      bypasses: 0,
      hitRate: 0.5,
      savedUsd: 0.0015,
      hitsWithoutSavedUsd: 0,
      savedTokens: usage(100, 50),
      hitsWithoutSavedTokens: 0,
    };
    const semantic = {
      ...exact,
      savedUsd: 0,
      hitsWithoutSavedUsd: 1,
      savedTokens: usage(0, 0),
      hitsWithoutSavedTokens: 1,
    };
    expect(r.cache).toEqual({
      hits: 2,
      misses: 2,
      bypasses: 0,
      hitRate: 0.5,
      savedUsd: 0.0015,
      hitsWithoutSavedUsd: 1,
      savedTokens: usage(100, 50),
      hitsWithoutSavedTokens: 1,
      byKind: { exact, semantic },
    });
  });

  it("gives the model mix of answered requests and the escalation, fallback and retry rates", () => {
    expect(r.modelMix).toEqual({ [MINI]: 2 / 6, [HAIKU]: 2 / 6, [SONNET]: 1 / 6, [TUNED]: 1 / 6 });
    expect(r.escalationRate).toBe(1 / 8);
    expect(r.fallbackRate).toBe(2 / 8);
    expect(r.retryRate).toBe(1 / 8);
  });

  it("divides priced cost by priced resolved requests, and averages tokens over every request", () => {
    // 5 ok records are priced (r5 is not): $0.01372 / 5, errors' cost included in the numerator.
    expect(r.costPerResolvedRequest).toBeCloseTo(0.002744, 12);
    expect(r.tokensPerRequest).toEqual({ input: (1630 + 2000 + 500) / 8, output: 595 / 8 });
  });

  it("gives null rates, not zeros, for an empty ledger", () => {
    const empty = report([]);
    expect(empty).toMatchObject({
      from: null,
      to: null,
      requests: 0,
      escalationRate: null,
      fallbackRate: null,
      retryRate: null,
      costPerResolvedRequest: null,
      tokensPerRequest: null,
    });
    expect(empty.cache.hitRate).toBeNull();
    expect(empty.totals.costUsd).toBe(0);
  });

  it("keeps a tenant named __proto__ as an ordinary key", () => {
    const odd = report([costRecord({ tenant: "__proto__" })]);
    expect(Object.keys(odd.byTenant)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(odd.byTenant)).toBe(Object.prototype);
  });
});

describe("report: day buckets in a time zone", () => {
  const at = (...times: string[]) => times.map((time, i) => costRecord({ id: `t${i}`, time }));
  const days = (timeZone: string, times: string[]) =>
    Object.fromEntries(
      Object.entries(report(at(...times), { timeZone }).byDay).map(([d, b]) => [d, b.requests]),
    );

  it("moves a record across midnight by the zone's offset", () => {
    expect(report(records, { timeZone: "Europe/Paris" }).byDay).toMatchObject({
      "2024-06-01": { requests: 3 },
      "2024-06-02": { requests: 5 },
    });
  });

  it("follows New York across the spring-forward day (23 hours)", () => {
    const times = [
      "2024-03-10T04:59:00Z",
      "2024-03-10T05:00:00Z",
      "2024-03-11T03:59:00Z",
      "2024-03-11T04:00:00Z",
    ];
    expect(days("America/New_York", times)).toEqual({ "2024-03-09": 1, "2024-03-10": 2, "2024-03-11": 1 });
    expect(days("UTC", times)).toEqual({ "2024-03-10": 2, "2024-03-11": 2 });
  });

  it("rejects an unknown time zone with an error naming the option", () => {
    expect(() => report(records, { timeZone: "Mars/Olympus" })).toThrow(ConfigError);
    expect(() => report(records, { timeZone: "Mars/Olympus" })).toThrow(
      /options\.timeZone: expected an IANA/,
    );
  });
});

describe("report: money sums", () => {
  it("sums 1,000,000 records of $0.0000001 to exactly $0.1", () => {
    const tiny = costRecord({ cost: priced(0.0000001), savingsUsd: 0.0000001 });
    function* million() {
      for (let i = 0; i < 1_000_000; i++) yield tiny;
    }
    let floats = 0;
    for (let i = 0; i < 1_000_000; i++) floats += 0.0000001;
    expect(floats).not.toBe(0.1); // what naive float addition gives

    const r = report(million());
    expect(r.requests).toBe(1_000_000);
    expect(r.totals.costUsd).toBe(0.1);
    expect(r.totals.savingsUsd).toBe(0.1);
    expect(r.byTenant.acme?.costUsd).toBe(0.1);
    expect(r.byDay["2024-06-01"]?.costUsd).toBe(0.1);
  });
});

describe("reportFromLedger", () => {
  it("reports on what the ledger returns for the query", async () => {
    const queries: (LedgerQuery | undefined)[] = [];
    const ledger = {
      async read(query?: LedgerQuery) {
        queries.push(query);
        return records.filter((rec) => rec.tenant === query?.tenant);
      },
    };
    const r = await reportFromLedger(ledger, { tenant: "globex" }, { timeZone: "Europe/Paris" });
    expect(queries).toEqual([{ tenant: "globex" }]);
    expect(r.requests).toBe(3);
    expect(Object.keys(r.byTenant)).toEqual(["globex"]);
    expect(r.timeZone).toBe("Europe/Paris");
  });
});
