import { totalInputTokens } from "../core/completion.js";
import { fromNanoUsd, toNanoUsd } from "./nano-usd.js";
import type { Breakdown, CostReport } from "./report.js";

/** A part of the report after its totals. */
export type ReportSection = "model" | "task" | "tenant" | "cache";

export interface FormatOptions {
  /** Rows shown per breakdown; the rest are summed into one "N more" line. Default 10; `Infinity` shows all. */
  maxRows?: number;
  /**
   * The parts shown after the totals, in the report's own order whatever
   * the order given. Default all: by model, by task, by tenant, the cache.
   */
  sections?: readonly ReportSection[];
}

const SECTIONS: readonly ReportSection[] = ["model", "task", "tenant", "cache"];

/**
 * Renders a report as a compact, aligned plain-text table: totals, then by
 * model, task and tenant, then the cache (`sections` keeps some of them).
 * A cost made only of unpriced records reads `unpriced`, never `$0`.
 *
 * @example
 * console.log(formatReport(report(records)));
 */
export function formatReport(r: CostReport, options: FormatOptions = {}): string {
  const maxRows = options.maxRows ?? 10;
  const shown = new Set(options.sections ?? SECTIONS);
  for (const section of shown)
    if (!SECTIONS.includes(section))
      throw new RangeError(`formatReport: unknown section "${section}" (one of ${SECTIONS.join(", ")})`);
  const t = r.totals;
  const lines = [
    `Cost report  ${r.from ?? "-"} → ${r.to ?? "-"}  (days in ${r.timeZone})`,
    `Requests ${count(r.requests)} (ok ${count(r.ok)}, errors ${count(r.errors)})` +
      `  cost ${totalCost(t.costUsd, t.unpricedRequests, r.requests)}` +
      `  saved ${usd(t.savingsUsd)}  retries ${usd(t.retryCostUsd)}`,
    `Per resolved request ${r.costPerResolvedRequest === null ? "-" : usd(r.costPerResolvedRequest)}` +
      `  tokens/request in ${r.tokensPerRequest ? count(r.tokensPerRequest.input) : "-"}` +
      ` out ${r.tokensPerRequest ? count(r.tokensPerRequest.output) : "-"}` +
      `  escalation ${pct(r.escalationRate)}  fallback ${pct(r.fallbackRate)}  retry ${pct(r.retryRate)}`,
  ];
  for (const [title, slices] of [
    ["model", r.byModel],
    ["task", r.byTask],
    ["tenant", r.byTenant],
  ] as const) {
    if (shown.has(title)) lines.push("", ...table(title, slices, r, maxRows));
  }
  if (!shown.has("cache")) return lines.join("\n");
  const c = r.cache;
  lines.push(
    "",
    `Cache  hits ${count(c.hits)}  misses ${count(c.misses)}  bypasses ${count(c.bypasses)}` +
      `  hit rate ${pct(c.hitRate)}  saved ${usd(c.savedUsd)}` +
      (c.hitsWithoutSavedUsd > 0 ? ` (+ ${things(c.hitsWithoutSavedUsd, "hit")} of unknown saving)` : "") +
      `  saved tokens ${count(totalInputTokens(c.savedTokens) + c.savedTokens.outputTokens)}` +
      (c.hitsWithoutSavedTokens > 0
        ? ` (+ ${things(c.hitsWithoutSavedTokens, "hit")} of unknown usage)`
        : ""),
  );
  return lines.join("\n");
}

function table(title: string, slices: Record<string, Breakdown>, r: CostReport, maxRows: number): string[] {
  const entries = Object.entries(slices);
  const shown = entries.slice(0, Math.max(0, maxRows));
  const mix = title === "model";
  const rows = shown.map(([key, b]) => [
    key,
    count(b.requests),
    cost(b.costUsd, b.unpricedRequests, b.requests),
    count(b.unpricedRequests),
    count(totalInputTokens(b.usage)),
    count(b.usage.outputTokens),
    usd(b.savingsUsd),
    ...(mix ? [pct(r.modelMix[key] ?? 0)] : []),
  ]);
  const rest = entries.slice(shown.length);
  if (rest.length > 0) {
    const sum = (figure: (b: Breakdown) => number) => rest.reduce((n, [, b]) => n + figure(b), 0);
    const restCost = fromNanoUsd(sum((b) => toNanoUsd(b.costUsd)));
    const restUnpriced = sum((b) => b.unpricedRequests);
    const restRequests = sum((b) => b.requests);
    rows.push([`(${rest.length} more)`, count(restRequests), cost(restCost, restUnpriced, restRequests)]);
  }
  const head = ["requests", "cost", "unpriced", "in tokens", "out tokens", "saved", ...(mix ? ["mix"] : [])];
  const all = [[`By ${title}`, ...head], ...rows];
  const widths = all[0]!.map((_, i) => Math.max(...all.map((row) => (row[i] ?? "").length)));
  return all.map((row) =>
    row
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join("  ")
      .trimEnd(),
  );
}

function totalCost(usdValue: number, unpriced: number, requests: number): string {
  if (unpriced === 0) return usd(usdValue);
  if (unpriced === requests) return `unpriced (${things(unpriced, "request")})`;
  return `${usd(usdValue)} + ${things(unpriced, "unpriced request")}`;
}

function things(n: number, noun: string): string {
  return `${count(n)} ${noun}${n === 1 ? "" : "s"}`;
}

function cost(usdValue: number, unpriced: number, requests: number): string {
  return requests > 0 && unpriced === requests ? "unpriced" : usd(usdValue);
}

/** USD for people: cents from $1 up; below, down to micro-dollars ("$0.75", "$0.000123"). */
export function usd(value: number): string {
  const abs = Math.abs(value);
  let text: string;
  if (abs >= 1) text = abs.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  else if (abs > 0 && abs < 0.000001) text = abs.toExponential(1);
  else {
    text = abs.toFixed(6);
    while (text.endsWith("0") && text.length > 4) text = text.slice(0, -1);
  }
  return `${value < 0 ? "-" : ""}$${text}`;
}

function count(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

function pct(share: number | null): string {
  return share === null ? "-" : `${(share * 100).toFixed(1)}%`;
}
