/** Shared by the benchmark sections: options, timed loops, pass-through middleware. */
import type { Middleware } from "../src/index.js";
import { comparison, type Summary, summarize } from "./stats.js";

export interface BenchOptions {
  /** Fewer calls, for a smoke run; the figures are then only indicative. */
  readonly quick: boolean;
}

/** A benchmark section: `bench/index.ts` runs each in order. */
export interface Section {
  /** Short name, used to select sections on the command line. */
  readonly name: string;
  run(options: BenchOptions): Promise<void>;
}

export interface Variant {
  readonly label: string;
  call(): Promise<unknown>;
}

export interface Plan {
  /** Untimed calls per variant before the first round. */
  readonly warmup: number;
  readonly rounds: number;
  /** Timed calls per variant per round. */
  readonly perRound: number;
  /** Runs after every round, untimed (e.g. to drop what a fake server recorded). */
  readonly betweenRounds?: () => unknown;
}

/**
 * Times every call of every variant with `process.hrtime.bigint()`, in
 * rounds: each round runs `perRound` calls of each variant, and the order of
 * the variants rotates from round to round, so that drift and machine noise
 * fall on all variants alike (the smaller `perRound`, the more alike).
 * Returns per-call nanoseconds, by variant, in time order.
 */
export async function interleaved(variants: readonly Variant[], plan: Plan): Promise<Float64Array[]> {
  for (const v of variants) for (let i = 0; i < plan.warmup; i++) await v.call();
  await plan.betweenRounds?.();
  const samples = variants.map(() => new Float64Array(plan.rounds * plan.perRound));
  for (let round = 0; round < plan.rounds; round++) {
    for (let k = 0; k < variants.length; k++) {
      const j = (round + k) % variants.length;
      const variant = variants[j]!;
      const out = samples[j]!;
      const base = round * plan.perRound;
      for (let i = 0; i < plan.perRound; i++) {
        const t0 = process.hrtime.bigint();
        await variant.call();
        out[base + i] = Number(process.hrtime.bigint() - t0);
      }
    }
    await plan.betweenRounds?.();
  }
  return samples;
}

/**
 * The samples split into `count` consecutive slices (views). Samples are
 * stored in time order, so slice `i` of two variants covers the same stretch
 * of the run: comparing them slice by slice shows how much noise moves a figure.
 */
export function slices(samples: Float64Array, count: number): Float64Array[] {
  const size = Math.floor(samples.length / count);
  return Array.from({ length: count }, (_, i) => samples.subarray(i * size, (i + 1) * size));
}

/** `n` middleware that only call `next`: the cost of the pipeline itself. */
export function passThrough(n: number): Middleware[] {
  return Array.from({ length: n }, (_, i) => ({ name: `pass-${i + 1}`, handle: (ctx, next) => next(ctx) }));
}

/**
 * Times the variants interleaved, then prints a heading saying what is
 * compared and the table, each median set against the baseline variant's.
 */
export async function measure(
  heading: string,
  plan: Plan,
  variants: readonly Variant[],
  options: { baseline: number; ratios: boolean },
): Promise<{ summaries: Summary[]; samples: Float64Array[] }> {
  const samples = await interleaved(variants, plan);
  const summaries = samples.map(summarize);
  console.log(
    `\n${heading}\n  (${plan.rounds} interleaved rounds x ${plan.perRound} calls per variant,` +
      ` after ${plan.warmup} warm-up calls each; per-call times)\n`,
  );
  const rows = variants.map((v, i) => ({ label: v.label, summary: summaries[i]! }));
  console.log(comparison(rows, options.baseline, options));
  return { summaries, samples };
}
