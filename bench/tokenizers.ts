/**
 * Token estimation: which BPE tokenizer to use, and what FAILURES.md S4
 * (1 MB of unbroken text) costs.
 *
 * 1. First use: the time to import an encoding (o200k_base) and count one
 *    string, and the memory it adds, each in a fresh Node process.
 * 2. Throughput in MB/s of UTF-8 input for js-tiktoken, gpt-tokenizer and
 *    tiktoken's WASM build (the last two when installed: `npm install
 *    --no-save gpt-tokenizer tiktoken`), on short (100 characters) and long
 *    (100 KB) inputs in English (real questions from ../shared/data), code
 *    (TypeScript's compiler source) and CJK (TypeScript's Chinese, Japanese
 *    and Korean diagnostic messages). Every input is distinct, so merge
 *    caches help only as much as real traffic would let them.
 * 3. S4: 1 MB without whitespace, unsplit (measured on growing prefixes up
 *    to a time budget, then extrapolated with the fitted exponent: labelled)
 *    and split into bounded runs as src/tokens does; the run length; then,
 *    in a fresh process that loads only src/tokens, the longest event-loop
 *    block while `estimateRequest` counts a 1 MB request
 *    (perf_hooks.monitorEventLoopDelay), with and without pacing, and the
 *    time to refuse a request over the byte cap.
 *
 * Figures only; no assertion fails the process.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import type { ChatRequest } from "../src/core/request.js";
import { MERGE_CACHE_SIZE } from "../src/tokens/encoders.js";
import { DEFAULT_MAX_RUN_CHARS, InputTooLargeError, tokenEstimator } from "../src/tokens/index.js";
import { pieces } from "../src/tokens/split.js";
import type { BenchOptions } from "./harness.js";
import { table, target } from "./stats.js";

export const name = "tokenizers";

const ROOT = join(import.meta.dirname, "..");

type Count = (text: string) => number;

interface Contender {
  readonly label: string;
  readonly pkg: string;
  /** Loads o200k_base; undefined when the package is not installed. */
  load(): Promise<Count | undefined>;
  /** ES module source that imports o200k_base and counts `s`, for the fresh-process measure. */
  readonly probe: string;
}

/** Imports a package that may be absent (installed with --no-save for the bench). */
async function optional(specifier: string): Promise<any> {
  try {
    return await import(specifier);
  } catch {
    return undefined;
  }
}

const AS_TEXT = "{ allowedSpecial: new Set(), disallowedSpecial: new Set() }";

const contenders: readonly Contender[] = [
  {
    label: "js-tiktoken",
    pkg: "js-tiktoken",
    async load() {
      const lite = await optional("js-tiktoken/lite");
      const ranks = await optional("js-tiktoken/ranks/o200k_base");
      if (!lite || !ranks) return undefined;
      const enc = new lite.Tiktoken(ranks.default);
      return (s) => enc.encode(s, [], []).length;
    },
    probe: `const { Tiktoken } = await import("js-tiktoken/lite");
      const ranks = (await import("js-tiktoken/ranks/o200k_base")).default;
      const enc = new Tiktoken(ranks); count = (s) => enc.encode(s, [], []).length;`,
  },
  {
    label: "gpt-tokenizer",
    pkg: "gpt-tokenizer",
    async load() {
      const mod = await optional("gpt-tokenizer/encoding/o200k_base");
      if (!mod) return undefined;
      mod.setMergeCacheSize(MERGE_CACHE_SIZE); // as src/tokens sets it
      const options = { allowedSpecial: new Set<string>(), disallowedSpecial: new Set<string>() };
      return (s) => mod.countTokens(s, options);
    },
    probe: `const mod = await import("gpt-tokenizer/encoding/o200k_base"); mod.setMergeCacheSize(${MERGE_CACHE_SIZE});
      count = (s) => mod.countTokens(s, ${AS_TEXT});`,
  },
  {
    label: "tiktoken (WASM)",
    pkg: "tiktoken",
    async load() {
      const mod = await optional("tiktoken");
      const getEncoding = mod?.get_encoding ?? mod?.default?.get_encoding;
      if (!getEncoding) return undefined;
      const enc = getEncoding("o200k_base");
      return (s) => enc.encode(s, [], []).length;
    },
    probe: `const mod = await import("tiktoken");
      const enc = (mod.get_encoding ?? mod.default.get_encoding)("o200k_base");
      count = (s) => enc.encode(s, [], []).length;`,
  },
];

function version(pkg: string): string {
  const file = join(ROOT, "node_modules", pkg, "package.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version : "";
}

const mb = (bytes: number) => bytes / 1e6;
const bytesOf = (s: string) => Buffer.byteLength(s, "utf8");
const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : "-");
const seconds = (ms: number) => (ms >= 100 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);

/** Deterministic pseudo-random numbers, so that every run measures the same text. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Real English: the questions of the routing evaluation set (../shared/data), up to `want` characters (4.8 MB in all). */
function englishCorpus(want = 3_000_000): string {
  const dataFile = join(ROOT, "..", "shared", "data", "routing", "routellm-gsm8k-mmlu.dev.jsonl");
  if (!existsSync(dataFile)) {
    const text = "The quick brown fox jumps over the lazy dog, and then asks what it costs. ";
    return text.repeat(Math.ceil(Math.min(want, 6_000_000) / text.length));
  }
  let english = "";
  for (const line of readFileSync(dataFile, "utf8").split("\n")) {
    if (!line) continue;
    english += `${(JSON.parse(line) as { prompt: string }).prompt}\n\n`;
    if (english.length > want) break;
  }
  return english;
}

function corpora(): Record<"English" | "code" | "CJK", string> {
  const want = 3_000_000;
  const ts = join(ROOT, "node_modules", "typescript", "lib");
  const code = readFileSync(join(ts, "typescript.js"), "utf8").slice(1_000_000, 1_000_000 + want);
  let cjk = "";
  for (const lang of ["zh-cn", "ja", "ko", "zh-tw"]) {
    const file = join(ts, lang, "diagnosticMessages.generated.json");
    if (existsSync(file)) cjk += Object.values(JSON.parse(readFileSync(file, "utf8")) as string[]).join("\n");
  }
  return { English: englishCorpus(want), code, CJK: cjk };
}

/** `count` distinct windows of `size` characters from `text`, not splitting surrogate pairs. */
function windows(text: string, size: number, count: number, random: () => number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let start = Math.floor(random() * (text.length - size - 1));
    if (/[\uDC00-\uDFFF]/.test(text[start] ?? "")) start += 1;
    out.push(text.slice(start, start + size));
  }
  return out;
}

/** MB/s over `inputs`: the median of `rounds` passes over all of them. */
function throughput(count: Count, inputs: readonly string[], rounds: number): number {
  const bytes = inputs.reduce((n, s) => n + bytesOf(s), 0);
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (const s of inputs) count(s);
    rates.push(mb(bytes) / ((performance.now() - t0) / 1000));
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)]!;
}

function randomLetters(n: number, random: () => number): string {
  const codes = new Uint16Array(n);
  for (let i = 0; i < n; i++) codes[i] = 97 + Math.floor(random() * 26);
  return new TextDecoder("utf-16le").decode(codes);
}

function randomCjk(n: number, random: () => number): string {
  const codes = new Uint16Array(n);
  for (let i = 0; i < n; i++) codes[i] = 0x4e00 + Math.floor(random() * 3000);
  return new TextDecoder("utf-16le").decode(codes);
}

function time(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/**
 * Time to encode `text` unsplit, measured on prefixes of 1k, 2k, 4k ...
 * characters until one takes over `budgetMs`; beyond that, extrapolated
 * from the last two with their fitted exponent.
 */
function unsplit(count: Count, text: string, budgetMs: number): { ms: number; label: string } {
  let prev: [number, number] | undefined;
  for (let n = 1000; ; n *= 2) {
    const size = Math.min(n, text.length);
    const ms = time(() => count(text.slice(0, size)));
    if (size === text.length) return { ms, label: "measured" };
    if (ms > budgetMs) {
      const k = prev && prev[1] > 0 ? Math.log(ms / prev[1]) / Math.log(size / prev[0]) : 2;
      const exponent = Math.max(1, k);
      return {
        ms: ms * (text.length / size) ** exponent,
        label: `extrapolated from ${size / 1000}k chars, exponent ${exponent.toFixed(2)}`,
      };
    }
    prev = [size, ms];
  }
}

/** Time to encode `text` split into runs of `maxRun`; over `budgetMs` on a 64k prefix, extrapolated linearly. */
function split(count: Count, text: string, maxRun: number, budgetMs: number): { ms: number; label: string } {
  const run = (t: string) => {
    let n = 0;
    for (const [a, b] of pieces(t, { maxRunChars: maxRun, chunkChars: 16_384 })) n += count(t.slice(a, b));
    return n;
  };
  const probe = time(() => run(text.slice(0, 65_536)));
  if (probe > budgetMs) {
    return { ms: probe * (text.length / 65_536), label: "extrapolated linearly from 64k chars" };
  }
  return { ms: time(() => run(text)), label: "measured" };
}

function firstUse(contender: Contender): string[] {
  const code = `const before = process.memoryUsage().rss; const t0 = performance.now(); let count;
    ${contender.probe}
    const t1 = performance.now(); count("Hello, world! How many tokens is this?"); const t2 = performance.now();
    console.log(JSON.stringify({ load: t1 - t0, first: t2 - t1, rss: process.memoryUsage().rss - before }));`;
  try {
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", code], {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    const r = JSON.parse(out.trim().split("\n").pop()!) as { load: number; first: number; rss: number };
    return [fmt(r.load), fmt(r.first, 2), fmt(r.rss / 1e6, 0)];
  } catch {
    return ["-", "-", "-"];
  }
}

function bigRequest(text: string): ChatRequest {
  return { model: "openai:gpt-4o", messages: [{ role: "user", content: text }] };
}

/** The longest event-loop delay (ms) while `work` runs, by monitorEventLoopDelay at 1 ms resolution. */
async function longestBlock(
  work: () => Promise<unknown>,
): Promise<{ blockMs: number; p99Ms: number; totalMs: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  // The monitor measures a delay between two of its own ticks: let it tick before the work starts.
  await new Promise((resolve) => setTimeout(resolve, 20));
  const t0 = performance.now();
  await work();
  const totalMs = performance.now() - t0;
  await new Promise((resolve) => setTimeout(resolve, 5)); // let the monitor sample the last stretch
  histogram.disable();
  return { blockMs: histogram.max / 1e6, p99Ms: histogram.percentile(99) / 1e6, totalMs };
}

export async function run(options: BenchOptions): Promise<void> {
  const { quick } = options;
  const random = lcg(42);
  const loaded: { contender: Contender; count: Count }[] = [];
  const missing: string[] = [];
  for (const contender of contenders) {
    const count = await contender.load();
    if (count) loaded.push({ contender, count });
    else missing.push(contender.pkg);
  }
  if (missing.length) {
    console.log(
      `\n  not installed, skipped: ${missing.join(", ")} (npm install --no-save ${missing.join(" ")} to measure)`,
    );
  }

  // 1. First use, each in a fresh process.
  console.log(
    "\nfirst use of o200k_base, in a fresh Node process (import + build the encoder; first count)\n",
  );
  console.log(
    table(
      ["tokenizer", "version", "load ms", "first count ms", "RSS added MB"],
      loaded.map(({ contender }) => [contender.label, version(contender.pkg), ...firstUse(contender)]),
    ),
  );

  // 2. Throughput.
  const texts = corpora();
  const kinds = Object.keys(texts) as (keyof typeof texts)[];
  const shortCount = quick ? 500 : 4000;
  const longCount = quick ? 2 : 6;
  const rounds = quick ? 2 : 5;
  const inputs = kinds.map((kind) => ({
    kind,
    short: windows(texts[kind], 100, shortCount, random),
    long: windows(texts[kind], 100_000, longCount, random),
    warm: windows(texts[kind], 2_000, 50, random),
  }));
  const agree = new Map<string, boolean>();
  const rows: string[][] = [];
  for (const { contender, count } of loaded) {
    const row = [contender.label];
    for (const { short, long, warm } of inputs) {
      for (const s of warm) count(s);
      row.push(
        fmt(throughput(count, short, rounds), 2),
        fmt(throughput(count, long, Math.min(rounds, 3)), 2),
      );
    }
    rows.push(row);
  }
  // Same counts from every tokenizer, on every long input?
  const reference = loaded[0];
  for (const { contender, count } of loaded.slice(1)) {
    agree.set(
      contender.label,
      inputs.every(({ long, short }) =>
        [...long, ...short.slice(0, 200)].every((s) => count(s) === reference!.count(s)),
      ),
    );
  }
  console.log(
    "\ntoken-estimate throughput, o200k_base, MB/s of UTF-8 input (higher is better; median of " +
      `${rounds} passes; short = ${shortCount} distinct 100-char inputs, long = ${longCount} distinct 100 KB inputs)\n`,
  );
  console.log(table(["tokenizer", ...kinds.flatMap((k) => [`${k} short`, `${k} long`])], rows));
  for (const [label, same] of agree) {
    console.log(
      `  ${label}: token counts ${same ? "identical to" : "DIFFER from"} ${reference!.contender.label}'s`,
    );
  }

  // 3. S4: 1 MB without whitespace. Every measurement gets text of its own,
  // so that no merge cache remembers pieces from an earlier one.
  const size = quick ? 256 * 1024 : 1024 * 1024;
  const budget = quick ? 300 : 1500;
  console.log(
    `\nS4: ${size / 1024} KiB of random lowercase letters, no whitespace (one pre-token if unsplit), o200k_base\n`,
  );
  console.log(
    table(
      ["tokenizer", "unsplit", "how", `split into ${DEFAULT_MAX_RUN_CHARS}-char runs`, "how"],
      loaded.map(({ contender, count }) => {
        const whole = unsplit(count, randomLetters(size, random), budget);
        const cut = split(count, randomLetters(size, random), DEFAULT_MAX_RUN_CHARS, budget);
        return [contender.label, seconds(whole.ms), whole.label, seconds(cut.ms), cut.label];
      }),
    ),
  );

  const chosen = loaded.find((l) => l.contender.pkg === "gpt-tokenizer");
  if (chosen) {
    const runs = quick ? [128, 256, 1024] : [64, 128, 256, 512, 1024, 2048];
    console.log(
      `\nrun length for gpt-tokenizer, o200k_base: time and tokens for ${size / 1024} KiB without whitespace ` +
        "(tokens: how much the cuts change the count)\n",
    );
    const count = (text: string, maxRun: number) => {
      let n = 0;
      const ms = time(() => {
        for (const [a, b] of pieces(text, { maxRunChars: maxRun, chunkChars: 16_384 })) {
          n += chosen.count(text.slice(a, b));
        }
      });
      return [seconds(ms), String(n)];
    };
    console.log(
      table(
        ["max run chars", "letters", "tokens", "CJK (no punctuation)", "tokens"],
        runs.map((maxRun) => {
          // The same text in every row for the token column, measured after a fresh text for the time column.
          const letters = count(randomLetters(size, random), maxRun)[0]!;
          const cjk = count(randomCjk(Math.floor(size / 3), random), maxRun)[0]!;
          const fixedLetters = count(randomLetters(size, lcg(1)), maxRun)[1]!;
          const fixedCjk = count(randomCjk(Math.floor(size / 3), lcg(2)), maxRun)[1]!;
          return [String(maxRun), letters, fixedLetters, cjk, fixedCjk];
        }),
      ),
    );
  }

  // The estimator itself, in a fresh process whose heap holds only src/tokens
  // (in this one, three tokenizers' tables and the corpora make every major
  // GC pause longer than a host would see from the estimator).
  const figures = estimatorInChild(quick);
  if (!figures) {
    console.log("\n  the estimator could not run (is gpt-tokenizer installed?): estimator figures skipped");
    return;
  }
  console.log(
    `\nestimateRequest on one big message (gpt-4o), default options, in a fresh process; longest ` +
      `event-loop block by monitorEventLoopDelay (ms; includes any GC pause), paced every ${figures.yieldAfterMs} ms ` +
      `vs unpaced (each run on text of its own; paced figures: median of ${figures.runs} runs)\n`,
  );
  console.log(
    table(
      [
        "request",
        "tokens",
        "time",
        "longest block ms",
        "worst of runs",
        "p99 delay ms",
        "unpaced time",
        "unpaced block ms",
      ],
      figures.rows.map((r) => [
        r.label,
        String(r.tokens),
        seconds(r.paced.totalMs),
        fmt(r.paced.blockMs),
        fmt(r.paced.worstBlockMs),
        fmt(r.paced.p99Ms),
        seconds(r.unpaced.totalMs),
        fmt(r.unpaced.blockMs),
      ]),
    ),
  );
  console.log(
    `\n  a 3 MiB request over the ${figures.maxInputBytes / 1024 / 1024} MiB cap: ` +
      `${figures.refused ? "InputTooLargeError" : "NOT refused"} in ${fmt(figures.refuseMs, 2)} ms ` +
      "(median of 5), before any tokenizer runs",
  );
  const worstTotal = Math.max(...figures.rows.map((r) => r.paced.totalMs));
  const worstBlock = Math.max(...figures.rows.map((r) => r.paced.blockMs));
  console.log(
    target(
      `S4 ${size / 1024} KiB estimated in under 2 s (worst case above)`,
      seconds(worstTotal),
      worstTotal < 2000,
    ),
  );
  console.log(target("S4 longest event-loop block under 50 ms", `${fmt(worstBlock)} ms`, worstBlock < 50));
}

interface EstimatorFigures {
  yieldAfterMs: number;
  maxInputBytes: number;
  refused: boolean;
  refuseMs: number;
  rows: {
    label: string;
    tokens: number;
    /** Median over the runs of each figure, and the worst longest block of any run. */
    paced: { blockMs: number; worstBlockMs: number; p99Ms: number; totalMs: number };
    unpaced: { blockMs: number; p99Ms: number; totalMs: number };
  }[];
  runs: number;
}

const CHILD_FLAG = "--estimator-child";

function estimatorInChild(quick: boolean): EstimatorFigures | undefined {
  const args = ["--import", "tsx", join(import.meta.dirname, "tokenizers.ts"), CHILD_FLAG];
  if (quick) args.push("--quick");
  try {
    const out = execFileSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 20 });
    return JSON.parse(out.trim().split("\n").pop()!) as EstimatorFigures;
  } catch {
    return undefined;
  }
}

/** Runs in the child: the estimator on 1 MB requests, and a refusal over the cap; prints JSON. */
async function estimatorFigures(quick: boolean): Promise<EstimatorFigures> {
  const size = quick ? 256 * 1024 : 1024 * 1024;
  const random = lcg(7);
  const estimator = tokenEstimator();
  const unpaced = tokenEstimator({ yieldAfterMs: 60_000 });
  const ref = { provider: "openai", model: "gpt-4o" };
  await estimator.preload(["o200k_base"]);
  const english = englishCorpus(Number.POSITIVE_INFINITY);
  const cases: [string, (i: number) => string][] = [
    [`${size / 1024} KiB letters, no whitespace`, () => randomLetters(size, random)],
    [`${size / 1024} KiB CJK, no punctuation`, () => randomCjk(Math.floor(size / 3), random)],
    [
      `${size / 1024} KiB English`,
      (i) => {
        const start = (i * size) % (english.length - size); // ~4.8 MB of questions: wraps after 4 runs
        return english.slice(start, start + size);
      },
    ],
  ];
  const rows: EstimatorFigures["rows"] = [];
  // A longest block is one sample of the worst case, and other processes on the
  // machine add to it: each paced figure is the median of `runs` runs.
  const runs = quick ? 1 : 3;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const [label, make] of cases) {
    let tokens = 0;
    const paced: { blockMs: number; p99Ms: number; totalMs: number }[] = [];
    for (let run = 0; run < runs; run++) {
      // Texts are made before the monitor starts, so that only estimating is measured.
      const request = bigRequest(make(run));
      paced.push(
        await longestBlock(async () => {
          tokens = (await estimator.estimateRequest(request, ref)).inputTokens;
        }),
      );
    }
    const second = bigRequest(make(runs));
    const plain = await longestBlock(() => unpaced.estimateRequest(second, ref));
    rows.push({
      label,
      tokens,
      paced: {
        blockMs: median(paced.map((p) => p.blockMs)),
        worstBlockMs: Math.max(...paced.map((p) => p.blockMs)),
        p99Ms: median(paced.map((p) => p.p99Ms)),
        totalMs: median(paced.map((p) => p.totalMs)),
      },
      unpaced: plain,
    });
  }
  const huge = bigRequest("x".repeat(3 * 1024 * 1024));
  let refused = false;
  const refusals: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    try {
      await estimator.estimateRequest(huge, ref);
    } catch (error) {
      refused = error instanceof InputTooLargeError;
    }
    refusals.push(performance.now() - t0);
  }
  refusals.sort((a, b) => a - b);
  return {
    runs,
    yieldAfterMs: estimator.options.yieldAfterMs,
    maxInputBytes: estimator.options.maxInputBytes,
    refused,
    refuseMs: refusals[2]!,
    rows,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes("--quick");
  if (process.argv.includes(CHILD_FLAG)) console.log(JSON.stringify(await estimatorFigures(quick)));
  else await run({ quick });
}
