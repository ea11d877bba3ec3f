import { z } from "zod";
import { ConfigError } from "../../../core/errors.js";
import { parseOptions } from "../../../core/options.js";
import type { PolicyDecision, RoutingInput, RoutingPolicy, Tier } from "../policy.js";
import { costAware, DEFAULT_K, type KnnModel, type KnnPrediction } from "./model.js";

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
  const k = o.k ?? DEFAULT_K;
  const threshold = o.threshold ?? 0.9;
  const costWeight = o.costWeight ?? 1;
  const minSimilarity = o.minSimilarity ?? 0;
  const thresholdText = fixed(threshold);
  for (const [tier, label] of Object.entries(o.labels ?? {})) {
    if (!model.models.includes(label)) {
      throw new ConfigError(
        `invalid knn options:\n  options.labels.${tier}: the model knows no "${label}" (it knows ${model.models.join(", ")})`,
      );
    }
  }
  // What the decision needs of a tier, found once per tier object: its label and its score keys.
  const tierCache = new WeakMap<Tier, TierLabel>();
  const labelOf = (tier: Tier): TierLabel => {
    let found = tierCache.get(tier);
    if (found === undefined) {
      const explicit = o.labels?.[tier.name];
      const bare = tier.model.slice(tier.model.indexOf(":") + 1);
      const label =
        explicit !== undefined
          ? model.models.indexOf(explicit)
          : ([tier.name, tier.model, bare].map((n) => model.models.indexOf(n)).find((i) => i >= 0) ?? -1);
      found = { tier, label, key: `knn.${tier.name}`, keyP: `knn.${tier.name}.p` };
      tierCache.set(tier, found);
    }
    return found;
  };

  /** The tiers with a label, cheapest first; undefined when none has one. */
  const labelled = (tiers: readonly Tier[]): TierLabel[] | undefined => {
    let found: TierLabel[] | undefined;
    for (const tier of tiers) {
      const t = labelOf(tier);
      if (t.label < 0) continue;
      found ??= [];
      found.push(t);
    }
    return found;
  };

  const choose = (
    input: RoutingInput,
    tiers: readonly TierLabel[],
    p: KnnPrediction,
  ): PolicyDecision | undefined => {
    if (p.neighbours === 0 || p.nearest < minSimilarity) return undefined;
    const task = input.request.metadata?.task;
    const t =
      task !== undefined && o.thresholdByTask && Object.hasOwn(o.thresholdByTask, task)
        ? o.thresholdByTask[task]!
        : threshold;
    const scores = baseScores(p, t);
    const tText = t === threshold ? thresholdText : fixed(t);
    for (let i = 0; i < tiers.length - 1; i++) {
      const { tier, label, key, keyP } = tiers[i]!;
      const raw = p.goodEnough[label]!;
      const score = costAware(raw, p.relativeCost, costWeight);
      scores[key] = round(score);
      scores[keyP] = round(raw);
      if (score >= t) {
        return {
          tier: tier.name,
          reason: `knn: ${tier.name} good enough ${fixed(score)} >= ${tText} (${p.neighbours} neighbours)`,
          scores,
        };
      }
    }
    const top = tiers[tiers.length - 1]!.tier;
    return {
      tier: top.name,
      reason: `knn: no cheaper tier reaches ${tText} (${p.neighbours} neighbours)`,
      scores,
    };
  };

  return {
    name: "knn",
    tiers: Object.keys(o.labels ?? {}),
    decide(input) {
      if (isBlank(input.text)) return undefined;
      if (model.featurizer) {
        // Featurizing has no side effect: the labels are checked first, and with none it does not run.
        const tiers = labelled(input.tiers);
        return tiers ? choose(input, tiers, model.predictText(input.text, k)) : undefined;
      }
      return model.embed(input.text, input.ctx).then((vector) => {
        const tiers = labelled(input.tiers);
        return tiers ? choose(input, tiers, model.predict(vector, input.text.length, k)) : undefined;
      });
    },
  };
}

/** A tier, its label in the model (-1: none) and its keys in the decision's scores. */
interface TierLabel {
  readonly tier: Tier;
  readonly label: number;
  readonly key: string;
  readonly keyP: string;
}

/** Whether `text.trim() === ""`, without copying the text: `\s` is the whitespace `trim` removes. */
function isBlank(text: string): boolean {
  return !NOT_SPACE.test(text);
}
const NOT_SPACE = /\S/;

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
