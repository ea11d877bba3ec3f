import {
  type CurvePoint,
  type PricedRecord,
  pointAt,
  ROUTING_DATA_PRICES,
  randomReductionAt,
  reductionAt,
  routingCurve,
} from "./evaluate.js";

/** 0, 0.05, ..., 1. */
export const DEFAULT_THRESHOLDS: readonly number[] = Array.from({ length: 21 }, (_, i) => i / 20);

export interface FormatOptions {
  weak: string;
  strong: string;
  priceAs?: Record<string, string>;
  thresholds: readonly number[];
  quality: number;
}

/**
 * The evaluation as printed lines: the prices used, then per source and
 * overall the curve at each threshold (share sent to the strong model,
 * cost and accuracy relative to sending everything to it) and the cost
 * reduction at the quality asked, against a router that knows nothing.
 */
export function formatEvaluation(
  priced: readonly PricedRecord[],
  scores: readonly number[],
  o: FormatOptions,
): string[] {
  const lines: string[] = [];
  const refs = { ...ROUTING_DATA_PRICES, ...o.priceAs };
  lines.push(
    `prices: ${o.weak} as ${refs[o.weak] ?? o.weak}, ${o.strong} as ${refs[o.strong] ?? o.strong} (price book)`,
  );
  const sources = [...new Set(priced.map((p) => p.source))].sort();
  const groups = sources.length > 1 ? [...sources, "overall"] : sources;
  for (const source of groups) {
    const idx = priced.flatMap((p, i) => (source === "overall" || p.source === source ? [i] : []));
    const part = idx.map((i) => priced[i]!);
    const points = routingCurve(
      part,
      idx.map((i) => scores[i]!),
    );
    const acc = (side: "weak" | "strong") => part.filter((p) => p[side].correct).length / part.length;
    lines.push("");
    lines.push(
      `${source} (${part.length} prompts): ${o.strong} right on ${pct(acc("strong"))}, ${o.weak} on ${pct(acc("weak"))}`,
    );
    lines.push(...curveTable(points, o.thresholds));
    const { reduction, point } = reductionAt(points, o.quality);
    lines.push(
      `  cost reduction at ${pct(o.quality, 0)} of ${o.strong}'s accuracy: ${pct(reduction)} ` +
        `(threshold ${fmtThreshold(point.threshold)}, ${pct(point.strongShare)} to strong, accuracy ${pct(point.relativeAccuracy)}); ` +
        `random routing: ${pct(randomReductionAt(part, o.quality))}`,
    );
  }
  return lines;
}

export function curveTable(points: readonly CurvePoint[], thresholds: readonly number[]): string[] {
  const rows = thresholds.map((t) => {
    const p = pointAt(points, t);
    return [t.toFixed(2), pct(p.strongShare), pct(p.relativeCost), pct(p.relativeAccuracy)];
  });
  const head = ["threshold", "to strong", "cost vs all-strong", "accuracy vs all-strong"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => `  ${cells.map((c, i) => c.padStart(widths[i]!)).join("  ")}`;
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
}

function pct(x: number, digits = 1): string {
  return `${(x * 100).toFixed(digits)}%`;
}

function fmtThreshold(t: number): string {
  return Number.isFinite(t) ? t.toFixed(3) : "+inf (all strong)";
}
