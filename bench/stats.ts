/** Per-call latency figures, in microseconds, and the aligned tables the sections print. */

export interface Summary {
  readonly calls: number;
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
}

/** Linear interpolation between the closest ranks of an ascending array (R-7, as numpy). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Summarizes per-call durations given in nanoseconds. */
export function summarize(ns: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(ns).sort();
  let sum = 0;
  for (const x of sorted) sum += x;
  return {
    calls: sorted.length,
    p50: quantile(sorted, 0.5) / 1000,
    p99: quantile(sorted, 0.99) / 1000,
    mean: sum / sorted.length / 1000,
  };
}

export const median = (ns: ArrayLike<number>): number => quantile(Float64Array.from(ns).sort(), 0.5);

/** Microseconds with two decimals below 100, one above. */
export function us(x: number): string {
  return Math.abs(x) < 100 ? x.toFixed(2) : x.toFixed(1);
}

export const signed = (x: number): string => (x >= 0 ? `+${us(x)}` : us(x));
export const ratio = (x: number): string => `${x.toFixed(3)}x`;
export const verdict = (ok: boolean): string => (ok ? "PASS" : "MISS");

/** An aligned table: the first column left-aligned, the others right-aligned. */
export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(head), rule, ...rows.map(line)].map((l) => `  ${l}`).join("\n");
}

export interface Row {
  readonly label: string;
  readonly summary: Summary;
}

/**
 * Latency per variant with the difference of each median from the baseline
 * row's median (and the ratio of the medians, when `ratios` is set).
 */
export function comparison(rows: readonly Row[], baseline: number, options: { ratios: boolean }): string {
  const base = rows[baseline]!.summary;
  const head = ["variant", "calls", "p50 µs", "p99 µs", "mean µs", "Δp50 µs"];
  if (options.ratios) head.push("p50 ratio");
  return table(
    head,
    rows.map(({ label, summary: s }, i) => {
      const cells = [label, String(s.calls), us(s.p50), us(s.p99), us(s.mean)];
      cells.push(i === baseline ? "(base)" : signed(s.p50 - base.p50));
      if (options.ratios) cells.push(i === baseline ? "(base)" : ratio(s.p50 / base.p50));
      return cells;
    }),
  );
}

/** A target line: what is judged, the measured figure, PASS or MISS. Informative only. */
export function target(description: string, measured: string, ok: boolean): string {
  return `  target  ${description}: ${measured}  ${verdict(ok)}`;
}
