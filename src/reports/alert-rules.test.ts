import { describe, expect, it } from "vitest";
import type { CostRecord } from "../core/cost-record.js";
import { ConfigError } from "../core/errors.js";
import {
  costPerRequestAboveBaseline,
  fallbackRateSpike,
  spendAboveBaseline,
  tenantDailySpendAbove,
} from "./alert-rules.js";
import { type Alert, type AlertRule, alerts } from "./alerts.js";
import { attempt, costRecord, priced, unpriced } from "./records.fixture.js";

const HOUR = 3_600_000;
const MIN = 60_000;
/** An hour boundary: the 1h window at T is the 5-minute buckets [T-55m, T+5m). */
const T = Date.UTC(2024, 5, 20, 12);

/** An alerting engine over one rule, with a clock the test moves. */
function harness(rule: AlertRule) {
  const fired: Alert[] = [];
  const clock = { now: T };
  const alerting = alerts({
    rules: [rule],
    onAlert: (a) => void fired.push(a),
    clock: { now: () => clock.now },
  });
  const at = (ms: number, fields: Partial<CostRecord> = {}) => {
    clock.now = ms;
    alerting.observe(costRecord({ time: new Date(ms).toISOString(), ...fields }));
  };
  return { alerting, fired, clock, at };
}

/** One record of `usd` at half past each hour, for `hours` hours before T. */
function hourlyHistory(at: (ms: number, fields?: Partial<CostRecord>) => void, usd: number, hours = 15 * 24) {
  for (let k = hours; k >= 1; k--) at(T - k * HOUR - 30 * MIN, { cost: priced(usd) });
}

describe("spendAboveBaseline", () => {
  it("fires when the last hour's spend is more than 30% above the 14-day hourly mean, once until it clears", () => {
    const { alerting, fired, at } = harness(
      spendAboveBaseline({ window: "1h", baselineDays: 14, increasePct: 30 }),
    );
    hourlyHistory(at, 1); // $1 an hour for 15 days: a baseline of exactly $1 per hour
    at(T - 20 * MIN, { cost: priced(1.2) });
    expect(fired).toEqual([]); // +20%
    at(T - 10 * MIN, { cost: priced(0.2) });
    expect(fired).toEqual([
      {
        rule: "spendAboveBaseline",
        key: "all",
        value: 1.4,
        threshold: 1.3,
        message: "spend in the last 1h is $1.40, more than 30% above the 14-day baseline of $1.00 per 1h",
        at: new Date(T - 10 * MIN).toISOString(),
      },
    ]);
    at(T - 5 * MIN, { cost: priced(0.5) });
    expect(fired).toHaveLength(1); // still above: no storm
    expect(alerting.evaluate(T + 2 * HOUR)).toEqual([]); // the spike left the window: cleared
    at(T + 2 * HOUR + MIN, { cost: priced(2) });
    expect(fired).toHaveLength(2);
  });

  it("stays quiet without a window of history, and below minBaselineUsd", () => {
    const fresh = harness(spendAboveBaseline());
    fresh.at(T - 20 * MIN, { cost: priced(100) });
    expect(fresh.fired).toEqual([]);

    const small = harness(spendAboveBaseline({ minBaselineUsd: 2 }));
    hourlyHistory(small.at, 1);
    small.at(T - 20 * MIN, { cost: priced(100) });
    expect(small.fired).toEqual([]);
  });

  it("does not count unpriced records as spend", () => {
    const { fired, at } = harness(spendAboveBaseline());
    hourlyHistory(at, 1);
    for (let i = 0; i < 10; i++) at(T - 20 * MIN, { cost: unpriced() });
    expect(fired).toEqual([]);
  });
});

describe("costPerRequestAboveBaseline", () => {
  const rule = () => costPerRequestAboveBaseline({ window: "1h", baselineDays: 14, increasePct: 20 });

  it("fires when the mean cost per request is more than 20% above the baseline's", () => {
    const { fired, at } = harness(rule());
    hourlyHistory(at, 0.01);
    for (let i = 0; i < 10; i++) at(T - 30 * MIN, { cost: priced(0.011) }); // +10%
    expect(fired).toEqual([]);
    at(T - 20 * MIN, { cost: priced(0.03) }); // mean $0.14 / 11 = $0.0127: +27%
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatchObject({ rule: "costPerRequestAboveBaseline", key: "all" });
    expect(fired[0]!.value).toBeCloseTo(0.14 / 11, 12);
    expect(fired[0]!.threshold).toBeCloseTo(0.012, 12);
    expect(fired[0]!.message).toContain("over 11 requests");
  });

  it("stays quiet under minRequests, and leaves unpriced requests out of the mean", () => {
    const { fired, at } = harness(rule());
    hourlyHistory(at, 0.01);
    for (let i = 0; i < 9; i++) at(T - 20 * MIN, { cost: priced(0.05) });
    for (let i = 0; i < 20; i++) at(T - 20 * MIN, { cost: unpriced() });
    expect(fired).toEqual([]);
    at(T - 10 * MIN, { cost: priced(0.05) }); // the 10th priced request
    expect(fired.map((a) => a.value)).toEqual([0.05]);
  });
});

describe("fallbackRateSpike", () => {
  const fellBack = {
    attempts: [attempt("primary", "openai:a", "error"), attempt("fallback", "anthropic:b")],
  };

  it("fires when more than thresholdPct of the window's requests fell back, and clears when they age out", () => {
    const { alerting, fired, at } = harness(
      fallbackRateSpike({ window: "15m", thresholdPct: 10, minRequests: 20 }),
    );
    for (let i = 0; i < 18; i++) at(T + i * 10_000);
    at(T + 200_000, fellBack);
    at(T + 210_000, fellBack);
    expect(fired).toEqual([]); // 2 of 20: exactly 10%, not above
    at(T + 220_000, fellBack);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatchObject({
      key: "all",
      threshold: 10,
      message: expect.stringContaining("3 of 21 requests"),
    });
    expect(fired[0]!.value).toBeCloseTo((3 / 21) * 100, 10);
    expect(alerting.evaluate(T + 20 * MIN)).toEqual([]);
    expect(alerting.stats().active).toBe(0);
  });

  it("stays quiet under minRequests", () => {
    const { fired, at } = harness(fallbackRateSpike({ thresholdPct: 10, minRequests: 20 }));
    for (let i = 0; i < 10; i++) at(T + i * 1000, fellBack);
    expect(fired).toEqual([]);
  });
});

describe("tenantDailySpendAbove", () => {
  // New York is UTC-4 in June: its midnight is 04:00Z.
  const NY_MIDNIGHT = Date.UTC(2024, 5, 21, 4);

  it("fires per tenant above the daily limit, in the tenant day of the given time zone", () => {
    const { alerting, fired, at } = harness(
      tenantDailySpendAbove({ limitUsd: 10, timeZone: "America/New_York" }),
    );
    at(NY_MIDNIGHT - 2 * HOUR, { tenant: "acme", cost: priced(6) });
    at(NY_MIDNIGHT - HOUR, { tenant: "globex", cost: priced(3) });
    at(NY_MIDNIGHT - HOUR, { tenant: "acme", cost: priced(4) });
    expect(fired).toEqual([]); // exactly $10 is not above
    at(NY_MIDNIGHT - MIN, { tenant: "acme", cost: priced(1) });
    at(NY_MIDNIGHT - MIN, { tenant: "acme", cost: priced(1) });
    expect(fired).toEqual([
      {
        rule: "tenantDailySpendAbove",
        key: "acme",
        value: 11,
        threshold: 10,
        message:
          'tenant "acme" spent $11.00 on 2024-06-20 (America/New_York), above the daily limit of $10.00',
        at: new Date(NY_MIDNIGHT - MIN).toISOString(),
      },
    ]);

    expect(alerting.evaluate(NY_MIDNIGHT)).toEqual([]); // a new day in New York: cleared
    expect(alerting.stats().active).toBe(0);
    at(NY_MIDNIGHT + HOUR, { tenant: "acme", cost: priced(4) });
    at(NY_MIDNIGHT + HOUR, { tenant: "acme", cost: unpriced() });
    expect(fired).toHaveLength(1);
    at(NY_MIDNIGHT + 2 * HOUR, { tenant: "acme", cost: priced(7) });
    expect(fired.map((a) => [a.key, a.value])).toEqual([
      ["acme", 11],
      ["acme", 11],
    ]);
  });

  it("counts records without a tenant under (none)", () => {
    const { fired, at } = harness(tenantDailySpendAbove({ limitUsd: 1 }));
    at(T, { tenant: null, cost: priced(2) });
    expect(fired.map((a) => a.key)).toEqual(["(none)"]);
  });
});

describe("rule options", () => {
  const fails = (make: () => unknown, message: RegExp) => {
    expect(make).toThrow(ConfigError);
    expect(make).toThrow(message);
  };

  it("name the option that is wrong", () => {
    fails(() => spendAboveBaseline({ increasePct: -1 }), /spendAboveBaseline\.increasePct/);
    fails(
      () => spendAboveBaseline({ window: "1x" as "1h" }),
      /spendAboveBaseline\.window: expected a duration/,
    );
    fails(() => spendAboveBaseline({ baselineDays: 0 }), /spendAboveBaseline\.baselineDays/);
    fails(
      () => spendAboveBaseline({ window: "1m" }),
      /spendAboveBaseline\.window: 14 days of "1m" windows need/,
    );
    fails(() => costPerRequestAboveBaseline({ minRequests: 0 }), /costPerRequestAboveBaseline\.minRequests/);
    fails(() => fallbackRateSpike({ thresholdPct: 120 }), /fallbackRateSpike\.thresholdPct/);
    fails(() => tenantDailySpendAbove({ limitUsd: 0 }), /tenantDailySpendAbove\.limitUsd/);
    fails(
      () => tenantDailySpendAbove({ limitUsd: 1, timeZone: "Mars/Olympus" }),
      /tenantDailySpendAbove\.timeZone/,
    );
    fails(() => tenantDailySpendAbove({ limitUsd: 1, limit: 2 } as never), /tenantDailySpendAbove/);
  });

  it("take a name, so two rules of one kind can run side by side", () => {
    const rules = [
      spendAboveBaseline({ name: "hourly" }),
      spendAboveBaseline({ name: "daily", window: "1d" }),
    ];
    expect(rules.map((r) => r.name)).toEqual(["hourly", "daily"]);
    expect(() => alerts({ rules, onAlert: () => {} })).not.toThrow();
  });
});
