import { z } from "zod";
import { ConfigError } from "../../../core/errors.js";
import { parseOptions } from "../../../core/options.js";
import type { PolicyDecision, RoutingInput, RoutingPolicy, Tier } from "../policy.js";
import { costAware, type KnnModel, type KnnPrediction } from "./model.js";

export interface KnnPolicyOptions {
  /** A trained model ({@link trainKnn}, or `KnnModel.fromJSON` of a file `frugal router train` wrote). */
  model: KnnModel;
  /** Neighbours consulted. Default 20; 1 to 256. */
  k?: number;
  /**
   * The cost-quality knob, in [0, 1]: a prompt goes to the cheapest tier
   * whose (cost-aware) probability of being good enough is at least this.
   * Higher sends more to costlier tiers. Default 0.9: on the routing data's
   * training split it kept about 95% of the strong model's accuracy on MMLU
   * (bench/router.ts). Pick yours from the curve of `frugal router eval` on
   * data like your traffic (docs/router.md).
   */
  threshold?: number;
  /** Thresholds for some tasks (`request.metadata.task`), over `threshold`. */
  thresholdByTask?: Record<string, number>;
  /**
   * How much a prompt's cost (length, expected answer) weighs: the
   * probability compared is `1 - (1 - p) / relativeCost^costWeight`, so a
   * prompt twice as costly as the median needs twice the expected gain to
   * go up. Default 1; 0 compares the plain probability.
   */
  costWeight?: number;
  /**
   * The model's label for each tier: `{ cheap: "mixtral-8x7b-instruct" }`.
   * Default: a tier whose name, model ref, or model name (after the
   * provider) is one of the model's labels.
   */
  labels?: Record<string, string>;
  /** Abstain when the nearest example is less similar than this (the prompt is unlike anything seen). Default 0: abstain only with no neighbour. */
  minSimilarity?: number;
}

const schema = z
  .object({
    model: z.custom<KnnModel>((m) => typeof (m as KnnModel)?.predict === "function", "a KnnModel"),
    k: z.number().int().min(1).max(256).optional(),
    threshold: z.number().min(0).max(1).optional(),
    thresholdByTask: z.record(z.string(), z.number().min(0).max(1)).optional(),
    costWeight: z.number().min(0).max(4).optional(),
    labels: z.record(z.string(), z.string()).optional(),
    minSimilarity: z.number().min(0).max(1).optional(),
  })
  .strict();

/**
 * The learned router: finds the `k` training prompts nearest to this one
 * and sends it to the cheapest tier that was good enough for enough of them
 * (similarity-weighted, cost-aware, at least `threshold`); otherwise to the
 * costliest tier the model knows. Abstains when no tier has a label, the
 * prompt has no text, or it shares nothing with the examples.
 *
 * @example
 * const model = KnnModel.fromJSON(readFileSync("knn.json", "utf8"));
 * router({ tiers, policies: [knn({ model, threshold: 0.8, labels: { cheap: "mixtral-8x7b-instruct", strong: "gpt-4-1106-preview" } })] })
 */
export function knn(options: KnnPolicyOptions): RoutingPolicy {
  const o = parseOptions(schema, options, "knn");
  const model = options.model;
  const k = o.k ?? 20;
  const threshold = o.threshold ?? 0.9;
  const costWeight = o.costWeight ?? 1;
  const minSimilarity = o.minSimilarity ?? 0;
  for (const [tier, label] of Object.entries(o.labels ?? {})) {
    if (!model.models.includes(label)) {
      throw new ConfigError(
        `invalid knn options:\n  options.labels.${tier}: the model knows no "${label}" (it knows ${model.models.join(", ")})`,
      );
    }
  }
  const labelCache = new WeakMap<Tier, number>();
  const labelOf = (tier: Tier): number => {
    let j = labelCache.get(tier);
    if (j === undefined) {
      const explicit = o.labels?.[tier.name];
      const bare = tier.model.slice(tier.model.indexOf(":") + 1);
      j =
        explicit !== undefined
          ? model.models.indexOf(explicit)
          : ([tier.name, tier.model, bare].map((n) => model.models.indexOf(n)).find((i) => i >= 0) ?? -1);
      labelCache.set(tier, j);
    }
    return j;
  };

  const decide = (
    input: RoutingInput,
    query: Parameters<KnnModel["predict"]>[0],
  ): PolicyDecision | undefined => {
    const labelled = input.tiers.filter((t) => labelOf(t) >= 0);
    if (labelled.length === 0) return undefined;
    const p = model.predict(query, input.text.length, k);
    if (p.neighbours === 0 || p.nearest < minSimilarity) return undefined;
    const task = input.request.metadata?.task;
    const t =
      task !== undefined && o.thresholdByTask && Object.hasOwn(o.thresholdByTask, task)
        ? o.thresholdByTask[task]!
        : threshold;
    const scores = baseScores(p, t);
    for (const tier of labelled.slice(0, -1)) {
      const raw = p.goodEnough[labelOf(tier)]!;
      const score = costAware(raw, p.relativeCost, costWeight);
      scores[`knn.${tier.name}`] = round(score);
      scores[`knn.${tier.name}.p`] = round(raw);
      if (score >= t) {
        return {
          tier: tier.name,
          reason: `knn: ${tier.name} good enough ${fixed(score)} >= ${fixed(t)} (${p.neighbours} neighbours)`,
          scores,
        };
      }
    }
    const top = labelled.at(-1)!;
    return {
      tier: top.name,
      reason: `knn: no cheaper tier reaches ${fixed(t)} (${p.neighbours} neighbours)`,
      scores,
    };
  };

  return {
    name: "knn",
    tiers: Object.keys(o.labels ?? {}),
    decide(input) {
      if (input.text.trim() === "") return undefined;
      if (model.featurizer) return decide(input, model.featurize(input.text));
      return model.embed(input.text, input.ctx).then((vector) => decide(input, vector));
    },
  };
}

function baseScores(p: KnnPrediction, threshold: number): Record<string, number> {
  return {
    "knn.threshold": threshold,
    "knn.neighbours": p.neighbours,
    "knn.nearest": round(p.nearest),
    "knn.relativeCost": round(p.relativeCost),
  };
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;
const fixed = (x: number) => x.toFixed(2);
