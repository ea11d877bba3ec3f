import { z } from "zod";
import { type AttemptPurpose, totalInputTokens, type Usage } from "../core/completion.js";
import type { CacheOutcome, CostRecord } from "../core/cost-record.js";
import { parseOptions } from "../core/options.js";
import type { Ledger, LedgerQuery } from "../storage/ledger.js";
import { calendarDayIn, timeZoneSchema } from "./calendar.js";
import { fromNanoUsd, toNanoUsd } from "./nano-usd.js";
import { CacheTally, entry, Slice, share, slice } from "./tallies.js";

export interface ReportOptions {
  /** IANA time zone of the `byDay` buckets. Default `"UTC"`. */
  timeZone?: string;
}

/** The figures of one slice of a report (one model, task, tenant or day). */
export interface Breakdown {
  requests: number;
  /** USD of the priced records only; the unpriced ones are counted in `unpricedRequests`, never as $0. */
  costUsd: number;
  /** Records whose cost is unknown (`cost.priced: false`). Their tokens are still in `usage`. */
  unpricedRequests: number;
  /** Tokens billed, by bucket, priced or not. */
  usage: Usage;
  /** Sum of the records' `savingsUsd` where known (baseline minus actual). */
  savingsUsd: number;
}

/** What a response cache did. A hit's saving is the record's `savingsUsd`. */
export interface CacheFigures {
  hits: number;
  misses: number;
  bypasses: number;
  /** `hits / (hits + misses)`; `null` when there was neither. */
  hitRate: number | null;
  /** Sum of `savingsUsd` of the hits: what they would have cost without frugal-llm, less what they did cost. */
  savedUsd: number;
  /** Hits whose `savingsUsd` is unknown (no baseline, or unpriced): not counted in `savedUsd`. */
  hitsWithoutSavedUsd: number;
  /** Tokens of the answers served from the cache, from `record.cache.saved.usage` where the record carries it. */
  savedTokens: Usage;
  /** Hits that do not say what usage they served: not counted in `savedTokens`. */
  hitsWithoutSavedTokens: number;
}

export interface CostReport {
  /** `time` of the earliest and latest record; `null` for an empty report. */
  from: string | null;
  to: string | null;
  /** The time zone of `byDay`. */
  timeZone: string;
  requests: number;
  ok: number;
  errors: number;
  totals: {
    /** USD of the priced records; see `unpricedRequests` for the rest. */
    costUsd: number;
    unpricedRequests: number;
    /** Records whose cost is an estimate (a stream cut before usage arrived). */
    estimatedRequests: number;
    savingsUsd: number;
    /** USD spent on attempts that did not produce the answer. */
    retryCostUsd: number;
    usage: Usage;
  };
  byModel: Record<string, Breakdown>;
  byTask: Record<string, Breakdown>;
  byTenant: Record<string, Breakdown>;
  /** Keyed by calendar day (`YYYY-MM-DD`) in `timeZone`, oldest first. */
  byDay: Record<string, Breakdown>;
  cache: CacheFigures & { byKind: Partial<Record<CacheOutcome["kind"], CacheFigures>> };
  /** Each model's share of the answered (`ok`) requests, 0..1. */
  modelMix: Record<string, number>;
  /** Share of requests with at least one `escalation` attempt; `null` for no requests. */
  escalationRate: number | null;
  /** Share of requests with at least one `fallback` attempt. */
  fallbackRate: number | null;
  /** Share of requests with at least one `retry` attempt. */
  retryRate: number | null;
  /** `totals.costUsd` over the priced `ok` requests; `null` when there are none. */
  costPerResolvedRequest: number | null;
  /** Mean tokens per request: all input (cached included) and all output. */
  tokensPerRequest: { input: number; output: number } | null;
}

/** The key of records with no model, task or tenant. */
export const NO_KEY = "(none)";

const optionsSchema = z.object({ timeZone: timeZoneSchema.optional() }).strict();

/**
 * Sums cost records into totals, breakdowns and rates. Every dollar figure is
 * a sum of record figures; a record with an unknown price is counted in
 * `unpricedRequests` (its tokens still counted), never added as $0.
 *
 * @example
 * const r = report(await ledger.read({ from: new Date(Date.now() - 7 * 86_400_000) }), { timeZone: "Europe/Paris" });
 * console.log(r.totals.costUsd, r.byTenant.acme?.costUsd, r.cache.hitRate);
 */
export function report(records: Iterable<CostRecord>, options: ReportOptions = {}): CostReport {
  parseOptions(optionsSchema, options, "report");
  const timeZone = options.timeZone ?? "UTC";
  const dayOf = calendarDayIn(timeZone);
  const all = new Slice();
  const byModel = new Map<string, Slice>();
  const byTask = new Map<string, Slice>();
  const byTenant = new Map<string, Slice>();
  const byDay = new Map<string, Slice>();
  const cache = new CacheTally();
  const byKind = new Map<CacheOutcome["kind"], CacheTally>();
  const answeredBy = new Map<string, number>();
  let from = Number.POSITIVE_INFINITY;
  let to = Number.NEGATIVE_INFINITY;
  let ok = 0;
  let pricedOk = 0;
  let estimated = 0;
  // Dollar sums stay integer nano-dollars until the end (see nano-usd.ts), so they never drift.
  let retryNano = 0;
  const withPurpose: Record<AttemptPurpose, number> = {
    primary: 0,
    retry: 0,
    fallback: 0,
    escalation: 0,
    "side-call": 0,
  };

  for (const r of records) {
    const ms = Date.parse(r.time);
    if (ms < from) from = ms;
    if (ms > to) to = ms;
    all.add(r);
    slice(byModel, r.model ?? NO_KEY).add(r);
    slice(byTask, r.task ?? NO_KEY).add(r);
    slice(byTenant, r.tenant ?? NO_KEY).add(r);
    slice(byDay, dayOf(ms)).add(r);
    if (r.status === "ok") {
      ok++;
      if (r.cost.priced) pricedOk++;
      if (r.model !== null) answeredBy.set(r.model, (answeredBy.get(r.model) ?? 0) + 1);
    }
    if (r.cost.estimated) estimated++;
    retryNano += toNanoUsd(r.retryCostUsd ?? 0); // an unpriced retry makes its record unpriced, counted apart
    for (const purpose of new Set(r.attempts.map((a) => a.purpose))) withPurpose[purpose]++;
    if (r.cache) {
      cache.add(r);
      entry(byKind, r.cache.kind, () => new CacheTally()).add(r);
    }
  }

  const requests = all.requests;
  const totals = all.figures();
  const answered = [...answeredBy.values()].reduce((a, b) => a + b, 0);
  return {
    from: Number.isFinite(from) ? new Date(from).toISOString() : null,
    to: Number.isFinite(to) ? new Date(to).toISOString() : null,
    timeZone,
    requests,
    ok,
    errors: requests - ok,
    totals: {
      costUsd: totals.costUsd,
      unpricedRequests: totals.unpricedRequests,
      estimatedRequests: estimated,
      savingsUsd: totals.savingsUsd,
      retryCostUsd: fromNanoUsd(retryNano),
      usage: totals.usage,
    },
    byModel: figuresOf(byModel, byCostThenKey),
    byTask: figuresOf(byTask, byCostThenKey),
    byTenant: figuresOf(byTenant, byCostThenKey),
    byDay: figuresOf(byDay, (a, b) => (a[0] < b[0] ? -1 : 1)),
    cache: {
      ...cache.figures(),
      byKind: Object.fromEntries([...byKind].map(([kind, t]) => [kind, t.figures()])),
    },
    modelMix: Object.fromEntries([...answeredBy].map(([model, n]) => [model, n / answered])),
    escalationRate: share(withPurpose.escalation, requests),
    fallbackRate: share(withPurpose.fallback, requests),
    retryRate: share(withPurpose.retry, requests),
    costPerResolvedRequest: pricedOk === 0 ? null : totals.costUsd / pricedOk,
    tokensPerRequest:
      requests === 0
        ? null
        : {
            input: totalInputTokens(totals.usage) / requests,
            output: totals.usage.outputTokens / requests,
          },
  };
}

/**
 * Reads records from a ledger and reports on them.
 *
 * @example
 * const lastWeek = await reportFromLedger(ledger, { from: new Date(Date.now() - 7 * 86_400_000) });
 */
export async function reportFromLedger(
  ledger: Pick<Ledger, "read">,
  query?: LedgerQuery,
  options?: ReportOptions,
): Promise<CostReport> {
  return report(await ledger.read(query), options);
}

type Entry = [string, Breakdown];

// Object.fromEntries defines own properties, so a tenant named "__proto__" stays a plain key.
function figuresOf(
  map: Map<string, Slice>,
  order: (a: Entry, b: Entry) => number,
): Record<string, Breakdown> {
  return Object.fromEntries([...map].map(([k, s]): Entry => [k, s.figures()]).sort(order));
}

function byCostThenKey(a: Entry, b: Entry): number {
  return b[1].costUsd - a[1].costUsd || b[1].requests - a[1].requests || (a[0] < b[0] ? -1 : 1);
}
