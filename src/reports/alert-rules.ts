import { z } from "zod";
import { ConfigError } from "../core/errors.js";
import { parseOptions } from "../core/options.js";
import type { AlertCondition, AlertRule } from "./alerts.js";
import { calendarDayIn, timeZoneSchema } from "./calendar.js";
import { usd } from "./format.js";
import { fromNanoUsd, toNanoUsd } from "./nano-usd.js";
import { RollingBuckets } from "./rolling-buckets.js";
import { entry } from "./tallies.js";

/** A length of time: minutes, hours or days (`"15m"`, `"1h"`, `"1d"`). */
export type Duration = `${number}${"m" | "h" | "d"}`;

export interface SpendAboveBaselineOptions {
  /** The rule's name in alerts; unique per `alerts()`. Default `"spendAboveBaseline"`. */
  name?: string;
  /** The rolling window whose spend is watched. Default `"1h"`. Its resolution is 1/12 of its length. */
  window?: Duration;
  /** Days of history before the window that make the baseline, 1 to 90. Default 14. */
  baselineDays?: number;
  /** Fires when the window's spend is more than this percentage above the baseline. Default 30; ≥ 0. */
  increasePct?: number;
  /** Stays quiet while the baseline spend per window is below this, in USD. Default 0 (a zero baseline is always quiet). */
  minBaselineUsd?: number;
}

/**
 * Spend in the last `window` against the mean spend per window over the
 * `baselineDays` before it. With less than one window of history, there is
 * no baseline and the rule stays quiet. Key `"all"`; value and threshold in USD.
 *
 * @example spendAboveBaseline({ window: "1h", baselineDays: 14, increasePct: 30, minBaselineUsd: 0.5 })
 */
export function spendAboveBaseline(options: SpendAboveBaselineOptions = {}): AlertRule {
  const o = parse(
    "spendAboveBaseline",
    baselineSchema.extend({ minBaselineUsd: z.number().min(0).default(0) }),
    options,
  );
  const series = baselineSeries("spendAboveBaseline", o, 1);
  return {
    name: o.name,
    observe(record, now) {
      if (record.cost.priced) series.add(Date.parse(record.time), now, [toNanoUsd(record.cost.usd)]);
    },
    check(now) {
      const split = windowAndBaseline(series, now);
      if (!split) return [];
      const value = fromNanoUsd(split.window[0]!);
      const baseline = fromNanoUsd(split.baseline[0]!) / split.baselineWindows;
      const threshold = baseline * (1 + o.increasePct / 100);
      if (baseline <= 0 || baseline < o.minBaselineUsd || value <= threshold) return [];
      const message =
        `spend in the last ${o.window} is ${usd(value)}, more than ${o.increasePct}% above the ` +
        `${o.baselineDays}-day baseline of ${usd(baseline)} per ${o.window}`;
      return [{ key: "all", value, threshold, message }];
    },
    size: () => series.size,
  };
}

export interface CostPerRequestAboveBaselineOptions {
  /** Default `"costPerRequestAboveBaseline"`. */
  name?: string;
  /** Default `"1h"`. */
  window?: Duration;
  /** 1 to 90. Default 14. */
  baselineDays?: number;
  /** Fires when the window's cost per request is more than this percentage above the baseline's. Default 20. */
  increasePct?: number;
  /** Stays quiet while the window (or the baseline) holds fewer priced requests than this. Default 10. */
  minRequests?: number;
}

/**
 * Mean cost of the priced requests in the last `window` against the mean over
 * the `baselineDays` before it. Unpriced requests are left out of both. Key
 * `"all"`; value and threshold in USD per request.
 *
 * @example costPerRequestAboveBaseline({ increasePct: 20, baselineDays: 14, window: "1h" })
 */
export function costPerRequestAboveBaseline(options: CostPerRequestAboveBaselineOptions = {}): AlertRule {
  const o = parse(
    "costPerRequestAboveBaseline",
    baselineSchema.extend({ increasePct: z.number().min(0).default(20), minRequests: minRequestsSchema(10) }),
    options,
  );
  const series = baselineSeries("costPerRequestAboveBaseline", o, 2);
  return {
    name: o.name,
    observe(record, now) {
      if (record.cost.priced) series.add(Date.parse(record.time), now, [toNanoUsd(record.cost.usd), 1]);
    },
    check(now) {
      const split = windowAndBaseline(series, now);
      if (!split) return [];
      const [windowNano, windowCount] = split.window as [number, number];
      const [baselineNano, baselineCount] = split.baseline as [number, number];
      if (windowCount < o.minRequests || baselineCount < o.minRequests) return [];
      const value = fromNanoUsd(windowNano) / windowCount;
      const baseline = fromNanoUsd(baselineNano) / baselineCount;
      const threshold = baseline * (1 + o.increasePct / 100);
      if (baseline <= 0 || value <= threshold) return [];
      const message =
        `cost per request in the last ${o.window} is ${usd(value)} over ${windowCount} requests, more than ` +
        `${o.increasePct}% above the ${o.baselineDays}-day baseline of ${usd(baseline)}`;
      return [{ key: "all", value, threshold, message }];
    },
    size: () => series.size,
  };
}

export interface FallbackRateSpikeOptions {
  /** Default `"fallbackRateSpike"`. */
  name?: string;
  /** Default `"15m"`. */
  window?: Duration;
  /** Fires when more than this percentage of the window's requests used a fallback. Default 10; 0 to 100. */
  thresholdPct?: number;
  /** Stays quiet while the window holds fewer requests than this. Default 20. */
  minRequests?: number;
}

/**
 * Share of requests in the last `window` with at least one `fallback`
 * attempt. Key `"all"`; value and threshold in percent.
 *
 * @example fallbackRateSpike({ window: "15m", thresholdPct: 10, minRequests: 50 })
 */
export function fallbackRateSpike(options: FallbackRateSpikeOptions = {}): AlertRule {
  const o = parse(
    "fallbackRateSpike",
    z
      .object({
        name: z.string().min(1).optional(),
        window: durationSchema.default("15m"),
        thresholdPct: z.number().min(0).max(100).default(10),
        minRequests: minRequestsSchema(20),
      })
      .strict(),
    options,
  );
  const windowMs = durationMs(o.window);
  const series = new RollingBuckets(windowMs / BUCKETS_PER_WINDOW, BUCKETS_PER_WINDOW, 2);
  return {
    name: o.name,
    observe(record, now) {
      const fellBack = record.attempts.some((a) => a.purpose === "fallback") ? 1 : 0;
      series.add(Date.parse(record.time), now, [1, fellBack]);
    },
    check(now) {
      const current = series.index(now);
      series.prune(current);
      const [requests, fellBack] = series.sumFrom(current - BUCKETS_PER_WINDOW + 1) as [number, number];
      const value = requests === 0 ? 0 : (fellBack / requests) * 100;
      if (requests < o.minRequests || value <= o.thresholdPct) return [];
      const message =
        `${fellBack} of ${requests} requests (${value.toFixed(1)}%) in the last ${o.window} ` +
        `used a fallback, above ${o.thresholdPct}%`;
      return [{ key: "all", value, threshold: o.thresholdPct, message }];
    },
    size: () => series.size,
  };
}

export interface TenantDailySpendAboveOptions {
  /** Default `"tenantDailySpendAbove"`. */
  name?: string;
  /** USD per tenant per calendar day. Required, > 0. */
  limitUsd: number;
  /** IANA time zone of the calendar day. Default `"UTC"`. */
  timeZone?: string;
}

/**
 * A tenant's priced spend today (in `timeZone`) above `limitUsd`. Records
 * without a tenant count under `"(none)"`. Key: the tenant; value and
 * threshold in USD. The alert clears when the day changes. Only today's and
 * yesterday's sums are kept.
 *
 * @example tenantDailySpendAbove({ limitUsd: 25, timeZone: "America/New_York" })
 */
export function tenantDailySpendAbove(options: TenantDailySpendAboveOptions): AlertRule {
  const o = parse(
    "tenantDailySpendAbove",
    z
      .object({
        name: z.string().min(1).optional(),
        limitUsd: z.number().positive().finite(),
        timeZone: timeZoneSchema.default("UTC"),
      })
      .strict(),
    options,
  );
  const dayOf = calendarDayIn(o.timeZone);
  const limitNano = toNanoUsd(o.limitUsd);
  const days = new Map<string, { spend: Map<string, number>; over: Set<string> }>();
  return {
    name: o.name,
    observe(record, now) {
      if (!record.cost.priced) return;
      const ms = Date.parse(record.time);
      const day = dayOf(Number.isFinite(ms) ? Math.min(ms, now) : now);
      const sums = entry(days, day, () => ({ spend: new Map<string, number>(), over: new Set<string>() }));
      // Keep the two latest days: today, and yesterday for records that arrive late.
      if (days.size > 2) for (const old of [...days.keys()].sort().slice(0, -2)) days.delete(old);
      const tenant = record.tenant ?? "(none)";
      const spent = (sums.spend.get(tenant) ?? 0) + toNanoUsd(record.cost.usd);
      sums.spend.set(tenant, spent);
      if (spent > limitNano) sums.over.add(tenant);
    },
    check(now) {
      const day = dayOf(now);
      const sums = days.get(day);
      if (!sums) return [];
      return [...sums.over].map((tenant): AlertCondition => {
        const value = fromNanoUsd(sums.spend.get(tenant)!);
        const message = `tenant "${tenant}" spent ${usd(value)} on ${day} (${o.timeZone}), above the daily limit of ${usd(o.limitUsd)}`;
        return { key: tenant, value, threshold: o.limitUsd, message };
      });
    },
    size: () => [...days.values()].reduce((n, d) => n + d.spend.size, 0),
  };
}

/** Each window is held as this many buckets: its resolution is 1/12 of its length (5 minutes for "1h"). */
const BUCKETS_PER_WINDOW = 12;

const durationSchema = z
  .string()
  .regex(
    /^[1-9]\d{0,4}[mhd]$/,
    'expected a duration such as "15m", "1h" or "1d"',
  ) as unknown as z.ZodType<Duration>;

/** Bounds a rule's memory: "5m" windows over 14 days (48,384 buckets) fit; "1m" windows do not. */
const MAX_BUCKETS = 50_000;

const minRequestsSchema = (fallback: number) => z.number().int().min(1).default(fallback);

const baselineSchema = z
  .object({
    name: z.string().min(1).optional(),
    window: durationSchema.default("1h"),
    baselineDays: z.number().int().min(1).max(90).default(14),
    increasePct: z.number().min(0).default(30),
  })
  .strict();

function durationMs(d: Duration): number {
  const unit = d.at(-1) === "m" ? 60_000 : d.at(-1) === "h" ? 3_600_000 : 86_400_000;
  return Number.parseInt(d, 10) * unit;
}

function parse<S extends z.ZodType>(
  rule: string,
  schema: S,
  options: unknown,
): z.output<S> & { name: string } {
  const out = parseOptions(schema, options, rule, rule) as z.output<S> & { name?: string };
  return { ...out, name: out.name ?? rule };
}

function baselineSeries(rule: string, o: { window: Duration; baselineDays: number }, fields: number) {
  const bucketMs = durationMs(o.window) / BUCKETS_PER_WINDOW;
  const baselineBuckets = Math.ceil((o.baselineDays * 86_400_000) / bucketMs);
  if (baselineBuckets > MAX_BUCKETS) {
    throw new ConfigError(
      `invalid ${rule} options:\n  ${rule}.window: ${o.baselineDays} days of "${o.window}" windows need ` +
        `${baselineBuckets} buckets, over the limit of ${MAX_BUCKETS}: use a longer window or fewer baselineDays`,
    );
  }
  return new RollingBuckets(bucketMs, baselineBuckets + BUCKETS_PER_WINDOW, fields);
}

/**
 * Splits the kept history at `now` into the current window and the baseline
 * before it. `null` while the history before the window is shorter than one
 * window: too little to compare against.
 */
function windowAndBaseline(series: RollingBuckets, now: number) {
  const current = series.index(now);
  series.prune(current);
  const windowStart = current - BUCKETS_PER_WINDOW + 1;
  const window = series.sumFrom(windowStart);
  const baseline = series.total().map((t, i) => t - window[i]!);
  const history = Math.min(windowStart - series.firstIndex(), series.retain - BUCKETS_PER_WINDOW);
  if (!(history >= BUCKETS_PER_WINDOW)) return null;
  return { window, baseline, baselineWindows: history / BUCKETS_PER_WINDOW };
}
