import { describe, expect, it, vi } from "vitest";
import type { CostRecord } from "../core/cost-record.js";
import { ConfigError } from "../core/errors.js";
import {
  costPerRequestAboveBaseline,
  fallbackRateSpike,
  spendAboveBaseline,
  tenantDailySpendAbove,
} from "./alert-rules.js";
import { type Alert, type AlertErrorContext, type AlertRule, alerts } from "./alerts.js";
import { attempt, costRecord, priced } from "./records.fixture.js";

/** A rule whose condition the test switches on and off, per key. */
function switchRule(name = "switch") {
  const on = new Set<string>();
  const rule: AlertRule = {
    name,
    observe: () => {},
    check: () => [...on].map((key) => ({ key, value: 2, threshold: 1, message: `${key} is on` })),
  };
  return { rule, on };
}

const T0 = Date.UTC(2024, 5, 1, 12);

describe("alerts", () => {
  it("fires a condition once, stays quiet while it holds, and fires again after it clears", () => {
    const { rule, on } = switchRule();
    const fired: Alert[] = [];
    const alerting = alerts({ rules: [rule], onAlert: (a) => void fired.push(a), clock: { now: () => T0 } });

    on.add("acme");
    expect(alerting.evaluate()).toEqual([
      {
        rule: "switch",
        key: "acme",
        value: 2,
        threshold: 1,
        message: "acme is on",
        at: "2024-06-01T12:00:00.000Z",
      },
    ]);
    expect(alerting.evaluate()).toEqual([]);
    on.add("globex");
    expect(alerting.evaluate().map((a) => a.key)).toEqual(["globex"]);
    expect(alerting.stats().active).toBe(2);

    on.delete("acme");
    expect(alerting.evaluate()).toEqual([]);
    expect(alerting.stats().active).toBe(1);
    on.add("acme");
    expect(alerting.evaluate().map((a) => a.key)).toEqual(["acme"]);
    expect(fired.map((a) => a.key)).toEqual(["acme", "globex", "acme"]);
  });

  it("evaluates on every observe by default, and only on demand when told", () => {
    const { rule, on } = switchRule();
    on.add("all");
    const onAlert = vi.fn();
    alerts({ rules: [rule], onAlert }).observe(costRecord());
    expect(onAlert).toHaveBeenCalledTimes(1);

    const later = vi.fn();
    const onDemand = alerts({ rules: [rule], onAlert: later, evaluateOnObserve: false });
    onDemand.observe(costRecord());
    expect(later).not.toHaveBeenCalled();
    expect(onDemand.evaluate(new Date(T0))).toHaveLength(1);
    expect(later).toHaveBeenCalledTimes(1);
  });

  it("hands a throwing or rejecting callback's error to onError and still delivers the other alerts", async () => {
    const { rule, on } = switchRule();
    on.add("a").add("b").add("c");
    const errors: [unknown, AlertErrorContext][] = [];
    const delivered: string[] = [];
    const alerting = alerts({
      rules: [rule],
      onAlert: (alert) => {
        if (alert.key === "a") throw new Error("pager down");
        if (alert.key === "b") return Promise.reject(new Error("webhook 500"));
        delivered.push(alert.key);
      },
      onError: (error, context) => void errors.push([error, context]),
    });
    expect(() => alerting.observe(costRecord())).not.toThrow();
    await Promise.resolve();
    expect(delivered).toEqual(["c"]);
    expect(errors.map(([e, c]) => [(e as Error).message, c.phase, c.rule, c.alert?.key])).toEqual([
      ["pager down", "onAlert", "switch", "a"],
      ["webhook 500", "onAlert", "switch", "b"],
    ]);
  });

  it("reports a rule that throws and keeps evaluating the others", () => {
    const broken: AlertRule = {
      name: "broken",
      observe: () => {
        throw new Error("observe failed");
      },
      check: () => {
        throw new Error("check failed");
      },
    };
    const { rule, on } = switchRule();
    on.add("all");
    const onError = vi.fn();
    const onAlert = vi.fn();
    alerts({ rules: [broken, rule], onAlert, onError }).observe(costRecord());
    expect(onError.mock.calls.map(([e, c]) => [e.message, c.phase])).toEqual([
      ["observe failed", "observe"],
      ["check failed", "check"],
    ]);
    expect(onAlert).toHaveBeenCalledTimes(1);
  });

  it("survives an onError that throws", () => {
    const { rule, on } = switchRule();
    on.add("all");
    const alerting = alerts({
      rules: [rule],
      onAlert: () => {
        throw new Error("first");
      },
      onError: () => {
        throw new Error("second");
      },
    });
    expect(() => alerting.evaluate()).not.toThrow();
  });

  it("validates its options with errors that name the option", () => {
    const onAlert = () => {};
    const bad = (options: unknown) => () => alerts(options as Parameters<typeof alerts>[0]);
    expect(bad({ rules: [], onAlert })).toThrow(/alerts\.rules: at least one rule/);
    expect(bad({ rules: [switchRule().rule, switchRule().rule], onAlert })).toThrow(
      /alerts\.rules: rule names must be unique/,
    );
    expect(bad({ rules: [{ name: "x" }], onAlert })).toThrow(/alerts\.rules\[0\]: expected a rule/);
    expect(bad({ rules: [switchRule().rule] })).toThrow(/alerts\.onAlert: expected a function/);
    expect(bad({ rules: [switchRule().rule], onAlert, clock: Date.now })).toThrow(/alerts\.clock/);
    expect(bad({ rules: [switchRule().rule], onAlert, evry: true })).toThrow(ConfigError);
  });
});

describe("alerts: bounded memory", () => {
  it("keeps a bounded number of buckets over 1,000,000 records across 30 days", () => {
    let now = T0;
    const alerting = alerts({
      rules: [
        spendAboveBaseline({ window: "1h", baselineDays: 14 }),
        costPerRequestAboveBaseline({ window: "1h", baselineDays: 14 }),
        fallbackRateSpike({ window: "15m", thresholdPct: 50 }),
        tenantDailySpendAbove({ limitUsd: 1_000_000 }),
      ],
      onAlert: () => {},
      clock: { now: () => now },
    });
    const base = costRecord({ cost: priced(0.0001) });
    const withFallback = costRecord({
      attempts: [attempt("primary", "openai:a", "error"), attempt("fallback", "openai:b")],
    });
    const step = (30 * 86_400_000) / 1_000_000;
    let most = 0;
    for (let i = 0; i < 1_000_000; i++) {
      now = T0 + Math.floor(i * step);
      const record: CostRecord = {
        ...(i % 10 === 0 ? withFallback : base),
        time: new Date(now).toISOString(),
        tenant: `tenant-${i % 100}`,
      };
      alerting.observe(record);
      if (i % 50_000 === 0) most = Math.max(most, alerting.stats().buckets);
    }
    const { byRule, buckets } = alerting.stats();
    // 14 days + 1 hour in 5-minute buckets; one 15-minute window in 75-second buckets; 100 tenants × 2 days.
    expect(byRule.spendAboveBaseline).toBeLessThanOrEqual(14 * 288 + 12);
    expect(byRule.costPerRequestAboveBaseline).toBeLessThanOrEqual(14 * 288 + 12);
    expect(byRule.fallbackRateSpike).toBeLessThanOrEqual(12);
    expect(byRule.tenantDailySpendAbove).toBeLessThanOrEqual(200);
    expect(Math.max(most, buckets)).toBeLessThanOrEqual(2 * (14 * 288 + 12) + 12 + 200);
    expect(byRule.spendAboveBaseline).toBeGreaterThan(14 * 288); // it did fill the whole span
  });
});

describe("alerts: evaluate", () => {
  it("refuses an invalid time instead of stamping alerts with it", () => {
    const alerting = alerts({ rules: [switchRule().rule], onAlert: () => {} });
    expect(() => alerting.evaluate(new Date("nope"))).toThrow(/invalid time/);
  });
});
