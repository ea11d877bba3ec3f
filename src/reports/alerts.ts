import { z } from "zod";
import type { Clock } from "../core/context.js";
import type { CostRecord } from "../core/cost-record.js";
import { FrugalError } from "../core/errors.js";
import { parseOptions } from "../core/options.js";

/**
 * A condition over cost records. The built-in ones are `spendAboveBaseline`,
 * `tenantDailySpendAbove`, `costPerRequestAboveBaseline` and
 * `fallbackRateSpike`; a host writes its own to this interface.
 *
 * A rule keeps bounded aggregates (time buckets, per-key sums), never the
 * records themselves, and reports the conditions that hold now; the engine
 * turns those into alerts that fire once until they clear.
 *
 * @example
 * const slowRequests: AlertRule = {
 *   name: "slow-requests",
 *   observe(record) { if (record.latencyMs > 30_000) slow++; },
 *   check: () => (slow > 10 ? [{ key: "all", value: slow, threshold: 10, message: `${slow} slow requests` }] : []),
 * };
 */
export interface AlertRule {
  /** Unique among the rules of one `alerts()`; becomes `Alert.rule`. */
  readonly name: string;
  /** Takes in one record, seen at `now` (ms since the epoch). */
  observe(record: CostRecord, now: number): void;
  /** The conditions that hold at `now`, at most one per key. */
  check(now: number): readonly AlertCondition[];
  /** How many buckets or keys the rule holds, reported by `stats()`. */
  size?(): number;
}

/** A condition that holds: the rule's figure is past its threshold. */
export interface AlertCondition {
  /** What the condition is about: a tenant, or `"all"`. An alert fires once per rule and key until it clears. */
  key: string;
  /** The figure observed, in the rule's unit (USD, or percent for rates). */
  value: number;
  /** The limit it went past, in the same unit. */
  threshold: number;
  message: string;
}

export interface Alert extends AlertCondition {
  /** The rule's `name`. */
  rule: string;
  /** ISO-8601 time of the evaluation that fired it. */
  at: string;
}

export interface AlertsOptions {
  /** At least one; names must be unique. */
  rules: readonly AlertRule[];
  /** Called once for each alert when it fires. It may be async; a throw or rejection goes to `onError`. */
  onAlert: (alert: Alert) => void | Promise<void>;
  /** Receives what a callback or a rule threw. Default: `console.error`. */
  onError?: (error: unknown, context: AlertErrorContext) => void;
  /** Time source for `observe` and for `evaluate()` without an argument. Default `Date`. */
  clock?: Clock;
  /** Evaluate the rules after every `observe`. Default `true`; with `false`, only `evaluate()` fires alerts. */
  evaluateOnObserve?: boolean;
}

export interface AlertErrorContext {
  /** The rule that threw, or whose alert's callback threw. */
  rule: string;
  /** Where: the rule's `observe` or `check`, or the host's `onAlert`. */
  phase: "observe" | "check" | "onAlert";
  alert?: Alert;
}

export interface Alerting {
  /** Feeds one record to every rule; evaluates them too unless `evaluateOnObserve` is false. */
  observe(record: CostRecord): void;
  /** Checks every rule at `now` (default: the clock) and returns the alerts that fired now. */
  evaluate(now?: number | Date): Alert[];
  /** What the engine holds: for tests and for a host watching memory. */
  stats(): AlertingStats;
}

export interface AlertingStats {
  /** Sum of the rules' `size()`. */
  buckets: number;
  byRule: Record<string, number>;
  /** Alerts that fired and have not cleared. */
  active: number;
}

const fn = (what: string) => z.custom<(...args: never[]) => unknown>((f) => typeof f === "function", what);

const optionsSchema = z
  .object({
    rules: z
      .array(
        z.custom<AlertRule>(
          (r) =>
            typeof (r as AlertRule)?.name === "string" &&
            typeof (r as AlertRule).observe === "function" &&
            typeof (r as AlertRule).check === "function",
          "expected a rule: { name, observe(record, now), check(now) }",
        ),
      )
      .min(1, "at least one rule is required")
      .refine(
        (rules) => new Set(rules.map((r) => r.name)).size === rules.length,
        "rule names must be unique",
      ),
    onAlert: fn("expected a function (alert) => void"),
    onError: fn("expected a function (error, context) => void").optional(),
    clock: z
      .custom<Clock>((c) => typeof (c as Clock)?.now === "function", "expected { now(): number }")
      .optional(),
    evaluateOnObserve: z.boolean().optional(),
  })
  .strict();

/**
 * Watches cost records and calls `onAlert` when a rule's condition starts to
 * hold. It has no timer of its own: rules are evaluated on every `observe`
 * (or only when the host calls `evaluate()`), and the same condition (rule
 * and key) fires once, then again only after it has cleared.
 *
 * @example
 * const alerting = alerts({
 *   rules: [spendAboveBaseline({ window: "1h", baselineDays: 14, increasePct: 30 }),
 *           tenantDailySpendAbove({ limitUsd: 50, timeZone: "Europe/Paris" })],
 *   onAlert: (a) => pager.send(a.message),
 * });
 * costTracker({ ledger, onRecord: (r) => alerting.observe(r) });
 */
export function alerts(options: AlertsOptions): Alerting {
  parseOptions(optionsSchema, options, "alerts", "alerts");
  const { rules, onAlert } = options;
  const onError = options.onError ?? defaultOnError;
  const clock = options.clock ?? Date;
  const evaluateOnObserve = options.evaluateOnObserve ?? true;
  /** Keys of the conditions that fired and have not cleared, by rule. */
  const active = new Map<string, Set<string>>(rules.map((r) => [r.name, new Set()]));

  const report = (error: unknown, context: AlertErrorContext) => {
    try {
      onError(error, context);
    } catch {
      // The error handler itself failed: nothing is left to tell, and the caller's request must go on.
    }
  };

  const deliver = (alert: Alert) => {
    try {
      const result = onAlert(alert);
      if (result && typeof (result as Promise<void>).then === "function") {
        (result as Promise<void>).then(undefined, (error) =>
          report(error, { rule: alert.rule, phase: "onAlert", alert }),
        );
      }
    } catch (error) {
      report(error, { rule: alert.rule, phase: "onAlert", alert });
    }
  };

  function evaluate(when?: number | Date): Alert[] {
    const now = when === undefined ? clock.now() : typeof when === "number" ? when : when.getTime();
    if (!Number.isFinite(now)) throw new FrugalError(`alerts: cannot evaluate at an invalid time (${when})`);
    const fired: Alert[] = [];
    for (const rule of rules) {
      let conditions: readonly AlertCondition[];
      try {
        conditions = rule.check(now);
      } catch (error) {
        report(error, { rule: rule.name, phase: "check" });
        continue;
      }
      const was = active.get(rule.name)!;
      const holds = new Set<string>();
      for (const c of conditions) {
        holds.add(c.key);
        if (was.has(c.key)) continue;
        was.add(c.key);
        fired.push({
          rule: rule.name,
          key: c.key,
          value: c.value,
          threshold: c.threshold,
          message: c.message,
          at: new Date(now).toISOString(),
        });
      }
      for (const key of was) if (!holds.has(key)) was.delete(key);
    }
    for (const alert of fired) deliver(alert);
    return fired;
  }

  return {
    observe(record) {
      const now = clock.now();
      for (const rule of rules) {
        try {
          rule.observe(record, now);
        } catch (error) {
          report(error, { rule: rule.name, phase: "observe" });
        }
      }
      if (evaluateOnObserve) evaluate(now);
    },
    evaluate,
    stats() {
      const byRule = Object.fromEntries(rules.map((r) => [r.name, r.size?.() ?? 0]));
      let activeCount = 0;
      for (const keys of active.values()) activeCount += keys.size;
      return {
        buckets: Object.values(byRule).reduce((a, b) => a + b, 0),
        byRule,
        active: activeCount,
      };
    },
  };
}

function defaultOnError(error: unknown, context: AlertErrorContext): void {
  console.error(`frugal-llm alerts: ${context.phase} of rule "${context.rule}" threw`, error);
}
