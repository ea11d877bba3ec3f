import { expectTypeOf, test } from "vitest";
import type { CostRecord } from "../core/cost-record.js";
import {
  type Alert,
  type Alerting,
  type AlertRule,
  alerts,
  type CostReport,
  type Duration,
  report,
  spendAboveBaseline,
} from "./index.js";

test("report gives typed figures, with null where a rate has no denominator", () => {
  const r = report([] as CostRecord[]);
  expectTypeOf(r).toEqualTypeOf<CostReport>();
  expectTypeOf(r.totals.costUsd).toEqualTypeOf<number>();
  expectTypeOf(r.fallbackRate).toEqualTypeOf<number | null>();
  expectTypeOf(r.byTenant).toEqualTypeOf<Record<string, CostReport["byTenant"][string]>>();
  expectTypeOf(r.cache.byKind.semantic).toEqualTypeOf<CostReport["cache"]["byKind"]["semantic"]>();
  expectTypeOf(report).parameter(0).toEqualTypeOf<Iterable<CostRecord>>();
});

test("a host's custom rule is an AlertRule, and alerts() returns the engine", () => {
  const custom = {
    name: "slow",
    observe(_record: CostRecord, _now: number) {},
    check: (_now: number) => [{ key: "all", value: 1, threshold: 0, message: "slow" }],
  };
  expectTypeOf(custom).toExtend<AlertRule>();
  expectTypeOf(alerts({ rules: [custom], onAlert: (_a: Alert) => {} })).toEqualTypeOf<Alerting>();
});

test("windows are typed durations", () => {
  expectTypeOf<"1h">().toExtend<Duration>();
  expectTypeOf<"1 hour">().not.toExtend<Duration>();
  // @ts-expect-error: not a duration
  spendAboveBaseline({ window: "hourly" });
});
