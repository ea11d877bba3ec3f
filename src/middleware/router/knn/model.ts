import { createHash } from "node:crypto";
import type { RequestContext } from "../../../core/context.js";
import type { Embedder } from "../../../embeddings/embedder.js";
import { fromBase64 } from "./base64.js";
import {
  LexicalFeaturizer,
  type LexicalFeaturizerJson,
  type SparseQuery,
  type SparseVector,
} from "./featurizer.js";
import { DenseIndex, type NeighbourIndex, type Neighbours, SparseIndex, type SparseRows } from "./search.js";

/** What a model predicts for one prompt. */
export interface KnnPrediction {
  /** The estimated probability that each model is good enough, aligned with `KnnModel.models`. */
  goodEnough: number[];
  /** Neighbours found (0: the prompt shares nothing with the examples; `goodEnough` is then the base rate). */
  neighbours: number;
  /** Similarity of the nearest neighbour, 0 when none. */
  nearest: number;
  /** Expected output tokens, from the neighbours. */
  outputTokens: number;
  /** The prompt's cost units, relative to the median training prompt's (1: a typical prompt). */
  relativeCost: number;
}

/** A saved kNN model: JSON with base64 typed arrays. */
export interface KnnModelJson {
  format: "frugal-knn";
  version: 1;
  models: string[];
  examples: number;
  featurizer: LexicalFeaturizerJson | { kind: "embedder"; name: string; dimensions: number };
  vectors:
    | { encoding: "sparse-f32"; offsets: string; indices: string; values: string }
    | { encoding: "dense-f32"; data: string };
  /** Uint32 per example: bit `j` set when `models[j]` was good enough. */
  labels: string;
  /** Float32 per example: output tokens (the training median where unknown). */
  outputTokens: string;
  /** Float32 per example: cost units (input characters / 4 + outputWeight x output tokens). */
  units: string;
  outputWeight: number;
  /** Words a query is searched by (0: all). */
  queryFeatures: number;
  /** Examples kept per word in the search index (0: all). */
  maxPostings: number;
  /** The median example's cost units: a prompt's relative cost is its units over these. */
  referenceUnits: number;
  /**
   * Weight of the base rates in a prediction, in units of neighbour
   * similarity (absent: 0, as models saved before it was added). See
   * `TrainKnnOptions.priorWeight`.
   */
  priorWeight?: number;
  /** Uint32 per example: a hash of each training prompt, so an evaluation can leave them out. */
  fingerprints: string;
  trainedAt: string;
  /** Free-form facts for whoever reads the file (data, split). */
  meta?: Record<string, unknown>;
}

/** Largest k a prediction may ask for. */
export const MAX_K = 256;

/** Neighbours a prediction uses unless told otherwise (the `knn` policy's `k`). */
export const DEFAULT_K = 20;

/**
 * A trained k-nearest-neighbour router model: labelled prompt vectors and
 * what was good enough for each. Make one with {@link trainKnn}, save it
 * with `JSON.stringify(model)`, load it with {@link KnnModel.fromJSON}.
 */
export class KnnModel {
  readonly #index: NeighbourIndex;
  /** The same index when sparse (a lexical model), for {@link KnnModel.predictText}. */
  readonly #sparse: SparseIndex | undefined;
  /** The query vector of {@link KnnModel.predictText}, reused: a prediction is synchronous. */
  readonly #query: SparseQuery = { length: 0, indices: new Uint32Array(64), values: new Float32Array(64) };
  readonly #labels: Uint32Array;
  readonly #outputs: Float32Array;
  readonly #baseRates: number[];

  private constructor(
    readonly models: readonly string[],
    readonly featurizer: LexicalFeaturizer | undefined,
    readonly embedder: Embedder | undefined,
    private readonly json: Omit<KnnModelJson, "featurizer">,
    index: NeighbourIndex,
  ) {
    this.#index = index;
    this.#sparse = index instanceof SparseIndex ? index : undefined;
    this.#labels = new Uint32Array(fromBase64(json.labels));
    this.#outputs = new Float32Array(fromBase64(json.outputTokens));
    this.#baseRates = models.map((_, j) => {
      let good = 0;
      for (const bits of this.#labels) good += (bits >>> j) & 1;
      return this.#labels.length ? good / this.#labels.length : 1;
    });
  }

  /** Training examples. */
  get size(): number {
    return this.#index.size;
  }

  /** Share of the training examples where each model was good enough, aligned with `models`. */
  get baseRates(): readonly number[] {
    return this.#baseRates;
  }

  /** Weight of the base rates in a prediction (see `TrainKnnOptions.priorWeight`); 0: the plain vote. */
  get priorWeight(): number {
    return this.json.priorWeight ?? 0;
  }

  /** The hashes of the training prompts (see {@link promptFingerprint}). */
  fingerprints(): Set<number> {
    return new Set(new Uint32Array(fromBase64(this.json.fingerprints)));
  }

  get meta(): Readonly<Record<string, unknown>> {
    return this.json.meta ?? {};
  }

  /**
   * Loads a saved model. A model trained with an embedder needs the same
   * embedder (same name and dimensions) to embed new prompts.
   */
  static fromJSON(input: KnnModelJson | string, options: { embedder?: Embedder } = {}): KnnModel {
    const json = typeof input === "string" ? (JSON.parse(input) as KnnModelJson) : input;
    if (json?.format !== "frugal-knn" || json.version !== 1) {
      throw new Error('not a kNN router model (expected format "frugal-knn", version 1)');
    }
    const { featurizer: f, ...rest } = json;
    if (f.kind === "lexical") {
      const featurizer = LexicalFeaturizer.fromJSON(f);
      const v = json.vectors;
      if (v.encoding !== "sparse-f32") throw new Error("a lexical model stores sparse vectors");
      const rows: SparseRows = {
        offsets: new Uint32Array(fromBase64(v.offsets)),
        indices: new Uint32Array(fromBase64(v.indices)),
        values: new Float32Array(fromBase64(v.values)),
      };
      return new KnnModel(
        json.models,
        featurizer,
        undefined,
        rest,
        new SparseIndex(rows, featurizer.dimensions, MAX_K, json.maxPostings),
      );
    }
    const embedder = options.embedder;
    if (!embedder || embedder.name !== f.name || embedder.dimensions !== f.dimensions) {
      throw new Error(
        `this model was trained with the embedder "${f.name}" (${f.dimensions} dimensions): pass that embedder to load it`,
      );
    }
    if (json.vectors.encoding !== "dense-f32") throw new Error("an embedder model stores dense vectors");
    const rows = new Float32Array(fromBase64(json.vectors.data));
    return new KnnModel(json.models, undefined, embedder, rest, new DenseIndex(rows, f.dimensions, MAX_K));
  }

  toJSON(): KnnModelJson {
    const featurizer: KnnModelJson["featurizer"] = this.featurizer
      ? this.featurizer.toJSON()
      : { kind: "embedder", name: this.embedder!.name, dimensions: this.embedder!.dimensions };
    return { ...this.json, featurizer };
  }

  /**
   * The query vector of a prompt. Synchronous with the built-in featurizer
   * (`lexical`); with an embedder, call {@link KnnModel.embed}.
   */
  featurize(text: string): SparseVector {
    if (!this.featurizer) throw new Error("this model uses an embedder: call embed()");
    return this.featurizer.featurize(text, this.json.queryFeatures || Number.POSITIVE_INFINITY);
  }

  /** The query vector of a prompt, through the model's embedder (recorded on `ctx` when it calls a provider). */
  async embed(text: string, ctx?: RequestContext): Promise<SparseVector | Float32Array> {
    if (this.featurizer) return this.featurize(text);
    const [vector] = await this.embedder!.embed([text], ctx);
    return vector!;
  }

  /**
   * Predicts, from the `k` nearest training prompts, how likely each model
   * is to be good enough (similarity-weighted shares), and the prompt's
   * relative cost. `textLength` is the prompt's length in characters.
   */
  predict(query: SparseVector | Float32Array, textLength: number, k: number): KnnPrediction {
    return this.#prediction(this.#index.search(query, Math.min(Math.max(1, k), MAX_K)), textLength);
  }

  /**
   * `predict(featurize(text), text.length, k)`, the same figures, with no
   * query vector allocated: the router's decision path. Lexical models only
   * (with an embedder, call {@link KnnModel.embed} and then `predict`).
   */
  predictText(text: string, k: number): KnnPrediction {
    if (!this.featurizer || !this.#sparse) throw new Error("this model uses an embedder: call embed()");
    const query = this.featurizer.featurizeInto(
      text,
      this.json.queryFeatures || Number.POSITIVE_INFINITY,
      this.#query,
    );
    return this.#prediction(this.#sparse.searchQuery(query, Math.min(Math.max(1, k), MAX_K)), text.length);
  }

  /**
   * The `priorWeight` among `candidates` under which the training examples'
   * own labels are most likely (log-likelihood), each predicted by its `k`
   * nearest other examples: leave-one-out, so an example never votes for
   * itself. `queries[i]` is example `i`'s query vector. Where neighbourhoods
   * are pure (each model good enough for all or none of them) the plain vote
   * wins (a small weight); where their labels are noisy, a larger one does.
   */
  fitPriorWeight(
    queries: readonly (SparseVector | Float32Array)[],
    k: number,
    candidates: readonly number[],
  ): number {
    const m = this.models.length;
    const want = Math.min(Math.max(1, k), MAX_K - 1);
    const logLikelihood = new Float64Array(candidates.length);
    const good = new Float64Array(m);
    queries.forEach((query, i) => {
      const found = this.#index.search(query, want + 1);
      good.fill(0);
      let total = 0;
      let used = 0;
      for (let n = 0; n < found.count && used < want; n++) {
        const id = found.ids[n]!;
        if (id === i) continue;
        used++;
        const w = found.similarities[n]!;
        const bits = this.#labels[id]!;
        for (let j = 0; j < m; j++) if ((bits >>> j) & 1) good[j]! += w;
        total += w;
      }
      const own = this.#labels[i]!;
      candidates.forEach((prior, c) => {
        for (let j = 0; j < m; j++) {
          const p = pulled(good[j]!, total, prior, this.#baseRates[j]!);
          const q = (own >>> j) & 1 ? p : 1 - p;
          logLikelihood[c]! += Math.log(Math.min(1, Math.max(1e-6, q)));
        }
      });
    });
    let best = 0;
    for (let c = 1; c < candidates.length; c++) if (logLikelihood[c]! > logLikelihood[best]!) best = c;
    return candidates[best]!;
  }

  #prediction(found: Neighbours, textLength: number): KnnPrediction {
    const m = this.models.length;
    const good = new Array<number>(m).fill(0);
    let total = 0;
    let outputs = 0;
    for (let i = 0; i < found.count; i++) {
      const w = found.similarities[i]!;
      const id = found.ids[i]!;
      const bits = this.#labels[id]!;
      for (let j = 0; j < m; j++) if ((bits >>> j) & 1) good[j]! += w;
      outputs += w * this.#outputs[id]!;
      total += w;
    }
    const outputTokens = total > 0 ? outputs / total : this.#medianOutput();
    const units = textLength / 4 + this.json.outputWeight * outputTokens;
    const prior = this.priorWeight;
    let goodEnough: number[];
    if (total + prior > 0) {
      for (let j = 0; j < m; j++) good[j] = pulled(good[j]!, total, prior, this.#baseRates[j]!);
      goodEnough = good;
    } else goodEnough = [...this.#baseRates];
    return {
      goodEnough,
      neighbours: found.count,
      nearest: found.count > 0 ? found.similarities[0]! : 0,
      outputTokens,
      relativeCost: this.json.referenceUnits > 0 ? units / this.json.referenceUnits : 1,
    };
  }

  #median: number | undefined;
  #medianOutput(): number {
    this.#median ??= median(this.#outputs);
    return this.#median;
  }
}

/**
 * The neighbours' similarity-weighted vote for a model (`good` of `total`),
 * pulled toward its base rate by `prior` units of similarity: a few weak
 * neighbours do not make a certainty. The base rate when there is nothing.
 */
function pulled(good: number, total: number, prior: number, base: number): number {
  return total + prior > 0 ? (good + prior * base) / (total + prior) : base;
}

/**
 * A probability of "good enough" made cost-aware: `1 - (1 - p) /
 * relativeCost^costWeight`. Sending a prompt twice as costly as the median
 * to the costlier model must promise twice the gain, so a long prompt goes
 * up only when its neighbours say it matters much, and a short one goes up
 * on a smaller doubt. `costWeight` 0 leaves `p` as is.
 */
export function costAware(p: number, relativeCost: number, costWeight: number): number {
  if (costWeight === 0 || !(relativeCost > 0)) return p;
  return 1 - (1 - p) / relativeCost ** costWeight;
}

/** A 32-bit hash of a prompt (whitespace-trimmed), to recognise training prompts. */
export function promptFingerprint(prompt: string): number {
  return createHash("sha1").update(prompt.trim()).digest().readUInt32LE(0);
}

/** The middle value (the upper one of an even count); 0 for none. */
export function median(values: Float32Array): number {
  if (values.length === 0) return 0;
  const sorted = Float32Array.from(values).sort();
  return sorted[sorted.length >> 1]!;
}
