import type { Embedder } from "../../../embeddings/embedder.js";
import { toBase64 } from "./base64.js";
import { LexicalFeaturizer } from "./featurizer.js";
import { DEFAULT_K, KnnModel, type KnnModelJson, median, promptFingerprint } from "./model.js";

/** The prior weights `trainKnn` chooses from (see {@link TrainKnnOptions.priorWeight}). */
export const PRIOR_WEIGHTS = [0, 0.25, 0.5, 1, 2, 4, 8] as const;

/** One labelled prompt: which models answered it well enough. */
export interface KnnExample {
  /** The prompt, as the router sees it: the text of the last user message. */
  prompt: string;
  /**
   * Names of the models whose answer was good enough. Empty when none was:
   * then a costlier model would have gained nothing, so every model counts
   * as good enough for it (the cheapest is the right choice).
   */
  goodEnough: readonly string[];
  /** Tokens of the answer, when known: a long answer makes the prompt costlier to send up. */
  outputTokens?: number;
}

export interface TrainKnnOptions {
  /**
   * The model names the labels use. Default: every name in `goodEnough`,
   * in the order first seen. An example whose `goodEnough` is empty counts
   * for all of them, so list every model when some may never appear.
   */
  models?: readonly string[];
  /**
   * Embeds the prompts instead of the built-in lexical featurizer (e.g.
   * `openaiEmbedder(...)`): the same embedder must then be passed when the
   * model is loaded. Default: the lexical featurizer fitted on the prompts.
   */
  embedder?: Embedder;
  /**
   * Lexical featurizer: words in more than this share of the prompts are
   * dropped (but never one found in 20 prompts or fewer: a small training
   * set keeps its shared words). Default 0.1; (0, 1].
   */
  maxDocumentShare?: number;
  /**
   * Lexical featurizer: a new prompt is searched by its this many heaviest
   * (rarest) words only, which bounds a search's cost whatever the prompt's
   * length. Default 20; 0 keeps every word.
   */
  queryFeatures?: number;
  /**
   * Lexical featurizer: each word keeps the examples where it weighs most,
   * at most this many, so a common word costs a search no more than a rare
   * one. Default 64; 0 keeps all (an exact search, slower).
   */
  maxPostings?: number;
  /**
   * How many input tokens one output token is worth in cost, for the
   * cost-aware threshold (a prompt's cost units are input tokens plus this
   * times its expected output tokens). Default 4, the usual output/input price
   * ratio (GPT-4o 4x, GPT-4 Turbo 3x, Claude 5x).
   */
  outputWeight?: number;
  /**
   * How much the base rates (the share of all examples each model was good
   * enough for) weigh in a prediction, in units of neighbour similarity:
   * a prediction is `(sum of neighbour similarity x label + priorWeight x
   * base rate) / (sum of similarity + priorWeight)`. Without it, a handful of
   * distant neighbours that agree read as a certainty and send an expensive
   * prompt down on thin evidence. 0 is the plain vote. Default `"auto"`:
   * the weight among 0, 0.25, 0.5, 1, 2, 4 and 8 under which the training
   * examples' own labels are most likely, each predicted by its 20 nearest
   * other examples (leave-one-out).
   */
  priorWeight?: number | "auto";
  /** Facts saved with the model for whoever reads the file (the data, the split). */
  meta?: Record<string, unknown>;
}

/**
 * Trains a kNN router model on labelled prompts: vectors from the built-in
 * lexical featurizer (fitted here) or the host's embedder, and for each
 * example the set of models that were good enough.
 *
 * @example
 * const model = await trainKnn(await readRoutingExamples("routing.jsonl"));
 * writeFileSync("knn.json", JSON.stringify(model));
 */
export async function trainKnn(
  examples: readonly KnnExample[],
  options: TrainKnnOptions & { meta?: Record<string, unknown> } = {},
): Promise<KnnModel> {
  if (examples.length === 0) throw new Error("trainKnn: no examples");
  const models = [...(options.models ?? [])];
  for (const e of examples) for (const name of e.goodEnough) if (!models.includes(name)) models.push(name);
  if (models.length === 0) throw new Error("trainKnn: no model names (pass options.models)");
  if (models.length > 32) throw new Error("trainKnn: at most 32 models");
  const share = options.maxDocumentShare ?? 0.1;
  const queryFeatures = options.queryFeatures ?? 20;
  const maxPostings = options.maxPostings ?? 64;
  if (!(Number.isInteger(maxPostings) && maxPostings >= 0))
    throw new Error("trainKnn: maxPostings is an integer >= 0");
  if (!(Number.isInteger(queryFeatures) && queryFeatures >= 0))
    throw new Error("trainKnn: queryFeatures is an integer >= 0");
  if (!(share > 0 && share <= 1)) throw new Error("trainKnn: maxDocumentShare is a share in (0, 1]");
  const outputWeight = options.outputWeight ?? 4;
  if (!(outputWeight >= 0 && Number.isFinite(outputWeight)))
    throw new Error("trainKnn: outputWeight is >= 0");

  const priorWeight = options.priorWeight ?? "auto";
  if (priorWeight !== "auto" && !(priorWeight >= 0 && Number.isFinite(priorWeight)))
    throw new Error('trainKnn: priorWeight is a number >= 0 or "auto"');

  const prompts = examples.map((e) => e.prompt);
  let vectors: KnnModelJson["vectors"];
  let embedded: Float32Array[] | undefined;
  let featurizerJson: KnnModelJson["featurizer"];
  if (options.embedder) {
    const e = options.embedder;
    embedded = await e.embed(prompts);
    const data = new Float32Array(examples.length * e.dimensions);
    embedded.forEach((v, i) => {
      data.set(v, i * e.dimensions);
    });
    vectors = { encoding: "dense-f32", data: toBase64(data) };
    featurizerJson = { kind: "embedder", name: e.name, dimensions: e.dimensions };
  } else {
    const featurizer = LexicalFeaturizer.fit(prompts, share);
    const rows = prompts.map((p) => featurizer.featurize(p));
    const offsets = new Uint32Array(rows.length + 1);
    rows.forEach((r, i) => {
      offsets[i + 1] = offsets[i]! + r.indices.length;
    });
    const indices = new Uint32Array(offsets[rows.length]!);
    const values = new Float32Array(offsets[rows.length]!);
    rows.forEach((r, i) => {
      indices.set(r.indices, offsets[i]!);
      values.set(r.values, offsets[i]!);
    });
    vectors = {
      encoding: "sparse-f32",
      offsets: toBase64(offsets),
      indices: toBase64(indices),
      values: toBase64(values),
    };
    featurizerJson = featurizer.toJSON();
  }

  const all = models.length === 32 ? 0xffffffff : (1 << models.length) - 1;
  const labels = Uint32Array.from(examples, (e) => {
    if (e.goodEnough.length === 0) return all;
    let bits = 0;
    for (const name of e.goodEnough) bits |= 1 << models.indexOf(name);
    return bits >>> 0;
  });
  const known = examples.flatMap((e) => (isCount(e.outputTokens) ? [e.outputTokens] : []));
  const fallback = known.length ? median(Float32Array.from(known)) : 0;
  const outputs = Float32Array.from(examples, (e) => (isCount(e.outputTokens) ? e.outputTokens : fallback));
  const units = Float32Array.from(examples, (e, i) => e.prompt.length / 4 + outputWeight * outputs[i]!);
  const json: KnnModelJson = {
    format: "frugal-knn",
    version: 1,
    models,
    examples: examples.length,
    featurizer: featurizerJson,
    vectors,
    labels: toBase64(labels),
    outputTokens: toBase64(outputs),
    units: toBase64(units),
    outputWeight,
    queryFeatures,
    maxPostings,
    referenceUnits: median(units),
    priorWeight: priorWeight === "auto" ? 0 : priorWeight,
    fingerprints: toBase64(Uint32Array.from(examples, (e) => promptFingerprint(e.prompt))),
    trainedAt: new Date().toISOString(),
    ...(options.meta && { meta: options.meta }),
  };
  const loadOptions = options.embedder ? { embedder: options.embedder } : {};
  const model = KnnModel.fromJSON(json, loadOptions);
  if (priorWeight !== "auto") return model;
  const queries = embedded ?? prompts.map((p) => model.featurize(p));
  const fitted = model.fitPriorWeight(queries, DEFAULT_K, PRIOR_WEIGHTS);
  return fitted === 0 ? model : KnnModel.fromJSON({ ...json, priorWeight: fitted }, loadOptions);
}

function isCount(n: number | undefined): n is number {
  return n !== undefined && Number.isFinite(n) && n >= 0;
}
