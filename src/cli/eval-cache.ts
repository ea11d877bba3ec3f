import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import type { EmbedderAdvice } from "../embeddings/advice.js";
import { cachedEmbedder } from "../embeddings/cached.js";
import type { Embedder } from "../embeddings/embedder.js";
import { LOCAL_THRESHOLD, localEmbedder } from "../embeddings/local.js";
import { hashString } from "../embeddings/text.js";
import {
  type GuardRejection,
  guardRejection,
  resolveGuards,
  type SemanticGuard,
} from "../middleware/semantic-cache/guards.js";

/**
 * `frugal eval cache`: how a semantic cache would do on labelled question
 * pairs. For each pair it embeds both questions and takes their cosine; a
 * pair "hits" when the cosine reaches the threshold (and, for the guarded
 * figures, every false-hit guard passes). A hit on a duplicate is an answer
 * served well; a hit on a non-duplicate is a wrong answer served.
 */

export const EVAL_CACHE_HELP = "hit and false-hit rates of the semantic cache on labelled pairs";

const USAGE = `usage: frugal eval cache --pairs FILE [options]

  --pairs FILE        JSON lines: {"id", "a", "b", "duplicate": true|false} (the format of
                      the QQP pairs file; see docs/semantic-cache.md)
  --embedder NAME     local (default: the built-in lexical embedder), or openai[:MODEL]
                      (the openai package and OPENAI_API_KEY; costs money)
  --threshold X       similarity a hit needs, 0 < X <= 1 (default: the embedder's)
  --limit N           the first N pairs only
  --split PART        all (default), train or held-out: an 80/20 split by a hash of the id
  --sweep             also print the rates over a range of thresholds`;

export interface LabelledPair {
  id: string;
  a: string;
  b: string;
  duplicate: boolean;
}

export interface ScoredPair {
  duplicate: boolean;
  similarity: number;
  /** The guard that would refuse to serve one question's answer for the other. */
  rejection: GuardRejection | undefined;
}

export interface CacheRates {
  threshold: number;
  duplicates: number;
  nonDuplicates: number;
  hits: number;
  falseHits: number;
  guardedHits: number;
  guardedFalseHits: number;
  /** Share of duplicate pairs served, in [0, 1]. */
  hitRate: number;
  /** Share of non-duplicate pairs served (wrongly), in [0, 1]. */
  falseHitRate: number;
  guardedHitRate: number;
  guardedFalseHitRate: number;
}

/** Parses the pairs file; a malformed line is an error naming its line number. */
export function parsePairs(text: string, limit = Number.POSITIVE_INFINITY): LabelledPair[] {
  const pairs: LabelledPair[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length && pairs.length < limit; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    let row: Partial<LabelledPair>;
    try {
      row = JSON.parse(line);
    } catch {
      throw new Error(`line ${i + 1}: not JSON`);
    }
    if (typeof row.a !== "string" || typeof row.b !== "string" || typeof row.duplicate !== "boolean")
      throw new Error(`line ${i + 1}: expected {"id", "a": string, "b": string, "duplicate": boolean}`);
    pairs.push({ id: String(row.id ?? i + 1), a: row.a, b: row.b, duplicate: row.duplicate });
  }
  return pairs;
}

/** The fixed 80/20 split used to tune the local embedder and the guards: one pair in five is held out. */
export function splitOf(id: string): "train" | "held-out" {
  return hashString(id) % 5 === 0 ? "held-out" : "train";
}

/** Embeds both sides of every pair (in batches) and runs the guards on each pair. */
export async function scorePairs(
  pairs: readonly LabelledPair[],
  embedder: Embedder,
  guards: readonly SemanticGuard[] = resolveGuards("default", embedder as EmbedderAdvice),
  batch = 256,
): Promise<ScoredPair[]> {
  const scored: ScoredPair[] = [];
  for (let start = 0; start < pairs.length; start += batch) {
    const slice = pairs.slice(start, start + batch);
    const vectors = await embedder.embed(slice.flatMap((p) => [p.a, p.b]));
    slice.forEach((p, k) => {
      scored.push({
        duplicate: p.duplicate,
        similarity: dot(vectors[2 * k]!, vectors[2 * k + 1]!),
        rejection: guardRejection(guards, p.b, p.a),
      });
    });
  }
  return scored;
}

export function ratesAt(scored: readonly ScoredPair[], threshold: number): CacheRates {
  const r = { duplicates: 0, nonDuplicates: 0, hits: 0, falseHits: 0, guardedHits: 0, guardedFalseHits: 0 };
  for (const s of scored) {
    const hit = s.similarity >= threshold - 1e-6;
    const guarded = hit && s.rejection === undefined;
    if (s.duplicate) {
      r.duplicates++;
      if (hit) r.hits++;
      if (guarded) r.guardedHits++;
    } else {
      r.nonDuplicates++;
      if (hit) r.falseHits++;
      if (guarded) r.guardedFalseHits++;
    }
  }
  const share = (n: number, of: number) => (of === 0 ? 0 : n / of);
  return {
    threshold,
    ...r,
    hitRate: share(r.hits, r.duplicates),
    falseHitRate: share(r.falseHits, r.nonDuplicates),
    guardedHitRate: share(r.guardedHits, r.duplicates),
    guardedFalseHitRate: share(r.guardedFalseHits, r.nonDuplicates),
  };
}

/** The two rates with and without guards, as a small table. */
export function formatRates(r: CacheRates, indent = "  "): string {
  const row = (label: string, hits: number, falseHits: number) =>
    `${indent}${label.padEnd(16)}${pct(hits, r.duplicates).padStart(8)} ${`(${hits}/${r.duplicates})`.padEnd(16)}` +
    `${pct(falseHits, r.nonDuplicates).padStart(8)} (${falseHits}/${r.nonDuplicates})`;
  return [
    `${indent}${"".padEnd(16)}${"hit rate on duplicates".padEnd(25)}false-hit rate on non-duplicates`,
    row("without guards", r.hits, r.falseHits),
    row("with guards", r.guardedHits, r.guardedFalseHits),
  ].join("\n");
}

/** Rates over a range of thresholds, one line each. */
export function formatSweep(
  scored: readonly ScoredPair[],
  thresholds: readonly number[],
  indent = "  ",
): string {
  const lines = [
    `${indent}threshold   hits  false hits   hits+guards  false hits+guards`,
    ...thresholds.map((t) => {
      const r = ratesAt(scored, t);
      return (
        `${indent}${t.toFixed(2).padStart(9)} ${pct(r.hits, r.duplicates).padStart(6)} ` +
        `${pct(r.falseHits, r.nonDuplicates).padStart(11)} ${pct(r.guardedHits, r.duplicates).padStart(13)} ` +
        `${pct(r.guardedFalseHits, r.nonDuplicates).padStart(18)}`
      );
    }),
  ];
  return lines.join("\n");
}

/** How many pairs above the threshold each guard refused (the first to object), by label. */
export function formatRejections(scored: readonly ScoredPair[], threshold: number, indent = "  "): string {
  const counts = new Map<string, { dup: number; non: number }>();
  for (const s of scored) {
    if (s.similarity < threshold - 1e-6 || !s.rejection) continue;
    const c = counts.get(s.rejection.guard) ?? { dup: 0, non: 0 };
    if (s.duplicate) c.dup++;
    else c.non++;
    counts.set(s.rejection.guard, c);
  }
  if (counts.size === 0) return `${indent}the guards refused no pair above the threshold`;
  return [
    `${indent}refused by the guards above the threshold (the first to object): non-duplicates / duplicates`,
    ...[...counts]
      .sort((a, b) => b[1].non - a[1].non)
      .map(([g, c]) => `${indent}  ${g.padEnd(16)}${String(c.non).padStart(6)} / ${c.dup}`),
  ].join("\n");
}

/** The thresholds `--sweep` prints: 0.35 to 0.98 by 0.03. */
export const SWEEP_THRESHOLDS: readonly number[] = Array.from(
  { length: 22 },
  (_, i) => Math.round((0.35 + i * 0.03) * 100) / 100,
);

/** The `frugal eval cache` command; resolves with the process exit code. */
export async function runEvalCache(
  argv: readonly string[],
  print: (line: string) => void = console.log,
  printError: (line: string) => void = console.error,
): Promise<number> {
  let values: ReturnType<typeof parse>;
  try {
    values = parse(argv);
  } catch (error) {
    printError(`frugal eval cache: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    print(USAGE);
    return 0;
  }
  if (!values.pairs) {
    printError(`frugal eval cache: --pairs FILE is required\n\n${USAGE}`);
    return 2;
  }
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  const threshold = values.threshold === undefined ? undefined : Number(values.threshold);
  const split = values.split ?? "all";
  const problem =
    limit !== undefined && !(Number.isInteger(limit) && limit > 0)
      ? "--limit: expected a positive integer"
      : threshold !== undefined && !(threshold > 0 && threshold <= 1)
        ? "--threshold: expected a number with 0 < X <= 1"
        : !["all", "train", "held-out"].includes(split)
          ? "--split: expected all, train or held-out"
          : undefined;
  if (problem) {
    printError(`frugal eval cache: ${problem}`);
    return 2;
  }
  let pairs: LabelledPair[];
  try {
    pairs = parsePairs(readFileSync(values.pairs, "utf8"), limit);
  } catch (error) {
    printError(`frugal eval cache: ${values.pairs}: ${(error as Error).message}`);
    return 1;
  }
  if (split !== "all") pairs = pairs.filter((p) => splitOf(p.id) === split);
  let chosen: Awaited<ReturnType<typeof embedderFor>>;
  try {
    chosen = await embedderFor(values.embedder ?? "local");
  } catch (error) {
    printError(`frugal eval cache: ${(error as Error).message}`);
    return 2;
  }
  const { embedder, recommended } = chosen;
  const t = threshold ?? recommended;
  const started = performance.now();
  const scored = await scorePairs(pairs, embedder);
  const r = ratesAt(scored, t);
  print(
    `frugal eval cache: ${pairs.length} pairs from ${basename(values.pairs)}` +
      `${split === "all" ? "" : ` (${split} split)`}, ${r.duplicates} duplicates, ${r.nonDuplicates} non-duplicates`,
  );
  print(
    `embedder ${embedder.name}, threshold ${t}${threshold === undefined ? " (the embedder's default)" : ""}`,
  );
  print("");
  print(formatRates(r));
  print(formatRejections(scored, t));
  if (values.sweep) {
    print("");
    print(formatSweep(scored, SWEEP_THRESHOLDS));
  }
  print(`\n(${((performance.now() - started) / 1000).toFixed(1)} s)`);
  return 0;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: {
      pairs: { type: "string" },
      embedder: { type: "string" },
      threshold: { type: "string" },
      limit: { type: "string" },
      split: { type: "string" },
      sweep: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  }).values;
}

async function embedderFor(spec: string): Promise<{ embedder: Embedder; recommended: number }> {
  if (spec === "local") return { embedder: localEmbedder(), recommended: LOCAL_THRESHOLD };
  if (spec === "openai" || spec.startsWith("openai:")) {
    const { openaiEmbedder, OPENAI_THRESHOLD } = await import("../embeddings/openai.js");
    const { default: OpenAI } = await import("openai");
    const model = spec.slice("openai:".length) || undefined;
    const embedder = cachedEmbedder(openaiEmbedder(new OpenAI(), model ? { model } : {}));
    return { embedder, recommended: OPENAI_THRESHOLD };
  }
  throw new Error(`--embedder: expected local or openai[:MODEL], got "${spec}"`);
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function pct(n: number, of: number): string {
  return `${of === 0 ? "0.00" : ((100 * n) / of).toFixed(2)}%`;
}
