import { z } from "zod";
import { parseOptions } from "../core/options.js";
import type { EmbedderAdvice } from "./advice.js";
import type { Embedder } from "./embedder.js";
import { STOPWORDS } from "./stopwords.js";
import { hashString, lexicalTokens, normalizeText } from "./text.js";

/**
 * Options of {@link localEmbedder}. Every option changes the vectors, so
 * each is part of the embedder's `name`: vectors made with other settings
 * live in another namespace of the semantic cache.
 */
export interface LocalEmbedderOptions {
  /**
   * Length of the vectors: features are hashed into this many dimensions.
   * Default 2048. A power of two from 64 to 65536; fewer dimensions mean
   * more hash collisions (unrelated texts score a little above 0).
   */
  dimensions?: number;
  /**
   * Inverse document frequencies fitted on the host's own prompts with
   * {@link fitLocalIdf}. Default: none, and then every content word weighs
   * the same and a fixed list of English function words weighs less.
   */
  idf?: LocalIdf;
  /**
   * How much the character n-grams (3 to 5 letters, within a word) weigh
   * against the words: they let "learn" meet "learning" and survive typos.
   * Default 0.5; 0 turns them off.
   */
  charWeight?: number;
  /** How much word bigrams weigh against single words. Default 0.5; 0 turns them off. */
  bigramWeight?: number;
  /**
   * How much a function word ("the", "how", "is") weighs against a content
   * word, when no `idf` is given. Default 0.2.
   */
  functionWordWeight?: number;
}

/** Document frequencies from {@link fitLocalIdf}: hashed, bounded, serializable (`JSON.stringify`). */
export interface LocalIdf {
  /** How many documents were counted. */
  readonly documents: number;
  /** Document frequency by hashed word, `IDF_BUCKETS` long. */
  readonly counts: readonly number[] | Uint32Array;
}

/**
 * The similarity `semanticCache` needs by default with the local embedder:
 * tuned with `frugal eval cache` on the training part of the QQP dev pairs
 * and checked on the held-out part (docs/embeddings.md).
 */
export const LOCAL_THRESHOLD = 0.46;

/** A local embedder also embeds one text synchronously (`embedOne`): the same vector as `embed`. */
export interface LocalEmbedder extends Embedder, EmbedderAdvice {
  readonly recommendedThreshold: number;
  readonly lexical: true;
  embedOne(text: string): Float32Array;
}

const IDF_BUCKETS = 1 << 18;

const optionsSchema = z
  .object({
    dimensions: z
      .number()
      .int()
      .min(64)
      .max(65536)
      .refine((n) => (n & (n - 1)) === 0, "a power of two")
      .optional(),
    idf: z
      .object({
        documents: z.number().int().positive(),
        counts: z.custom<LocalIdf["counts"]>(
          (c) => (Array.isArray(c) || c instanceof Uint32Array) && c.length === IDF_BUCKETS,
          `an array of ${IDF_BUCKETS} counts, as fitLocalIdf makes`,
        ),
      })
      .optional(),
    charWeight: z.number().min(0).max(4).optional(),
    bigramWeight: z.number().min(0).max(4).optional(),
    functionWordWeight: z.number().min(0).max(1).optional(),
  })
  .strict();

/**
 * A dependency-free, offline embedder. It is **lexical, not semantic**: it
 * compares the words and word pieces two texts share (hashed word unigrams
 * and bigrams and character 3- to 5-grams, with sublinear term frequency and
 * an IDF weight, signed feature hashing into `dimensions`, L2-normalized).
 * "How do I reset my router?" and "How can I reset the router?" score high;
 * "car" and "automobile" share nothing and score near 0. Use a model
 * embedder (`openaiEmbedder`) to catch paraphrases with different words.
 *
 * The same text always gives the same vector, in any process.
 *
 * @example
 * const cache = semanticCache({ embedder: localEmbedder(), index: memoryVectorIndex(), store: memoryKv(), policyVersion: "1" });
 */
export function localEmbedder(options: LocalEmbedderOptions = {}): LocalEmbedder {
  parseOptions(optionsSchema, options, "localEmbedder");
  const dimensions = options.dimensions ?? 2048;
  const charWeight = options.charWeight ?? 0.5;
  const bigramWeight = options.bigramWeight ?? 0.5;
  const functionWordWeight = options.functionWordWeight ?? 0.6;
  const idf = options.idf;
  const idfFingerprint = idf
    ? `-idf${hashString(`${idf.documents}:${checksum(idf.counts)}`).toString(16)}`
    : "";
  const maxIdf = idf ? Math.log(1 + idf.documents) : 0;

  const wordWeight = (word: string): number => {
    if (!idf) return STOPWORDS.has(word) ? functionWordWeight : 1;
    const df = idf.counts[hashString(word) & (IDF_BUCKETS - 1)] ?? 0;
    // Smoothed, and scaled to [~0, 1] so that the group weights keep their meaning.
    return Math.log((1 + idf.documents) / (1 + df)) / maxIdf;
  };

  function embedOne(text: string): Float32Array {
    const words = lexicalTokens(normalizeText(text));
    const weights = words.map(wordWeight);
    const features = new FeatureCounts();
    for (let i = 0; i < words.length; i++) {
      const word = words[i]!;
      const w = weights[i]!;
      const h = fnv(SEED_WORD, word, 0, word.length);
      features.add(h, w);
      if (bigramWeight > 0 && i + 1 < words.length) {
        const next = words[i + 1]!;
        features.add(
          fnv(fnv(h, " ", 0, 1), next, 0, next.length) ^ SEED_BIGRAM,
          bigramWeight * Math.sqrt(w * weights[i + 1]!),
        );
      }
      if (charWeight > 0 && word.length >= 3) {
        // The n-grams of one word share its weight: a third each, so one word's grams weigh about one word.
        const padded = `<${word}>`;
        const gw = (charWeight * w) / 3;
        for (let n = 3; n <= 5; n++) {
          for (let at = 0; at + n <= padded.length; at++)
            features.add(fnv(SEED_CHARS, padded, at, at + n), gw);
        }
      }
    }
    return features.toVector(dimensions);
  }

  return {
    name: `local-v1-d${dimensions}-c${charWeight}-b${bigramWeight}-f${functionWordWeight}${idfFingerprint}`,
    dimensions,
    recommendedThreshold: LOCAL_THRESHOLD,
    lexical: true,
    embedOne,
    async embed(texts) {
      return texts.map(embedOne);
    },
  };
}

/**
 * Counts in how many of `texts` each word occurs, for {@link localEmbedder}'s
 * `idf` option: rare words then weigh more than common ones. Fit it on
 * prompts like the ones the cache will see (a few thousand are enough), and
 * keep it fixed: vectors made with another IDF are not comparable.
 */
export function fitLocalIdf(texts: Iterable<string>): LocalIdf {
  const counts = new Uint32Array(IDF_BUCKETS);
  let documents = 0;
  for (const text of texts) {
    documents++;
    for (const word of new Set(lexicalTokens(normalizeText(text)))) {
      counts[hashString(word) & (IDF_BUCKETS - 1)]!++;
    }
  }
  return { documents, counts };
}

const SEED_WORD = 0x811c9dc5;
const SEED_CHARS = 0x01000193 ^ 0x811c9dc5;
const SEED_BIGRAM = 0x5bd1e995;

/** FNV-1a over `text[from, to)`, continuing from `h`. */
function fnv(h: number, text: string, from: number, to: number): number {
  let x = h;
  for (let i = from; i < to; i++) {
    x ^= text.charCodeAt(i);
    x = Math.imul(x, 0x01000193);
  }
  return x >>> 0;
}

/** Features by hash: how often each occurs and the largest weight it came with. */
class FeatureCounts {
  readonly #tf = new Map<number, number>();
  readonly #weight = new Map<number, number>();

  add(hash: number, weight: number): void {
    this.#tf.set(hash, (this.#tf.get(hash) ?? 0) + 1);
    if (weight > (this.#weight.get(hash) ?? -1)) this.#weight.set(hash, weight);
  }

  /**
   * Signed feature hashing with sublinear term frequency (a word said three
   * times is not three times the topic); the sign keeps colliding features
   * from adding up on average. L2-normalized.
   */
  toVector(dimensions: number): Float32Array {
    const vector = new Float32Array(dimensions);
    for (const [hash, tf] of this.#tf) {
      const h = mix(hash);
      const value = this.#weight.get(hash)! * (1 + Math.log(tf));
      vector[h & (dimensions - 1)]! += h & 0x80000000 ? -value : value;
    }
    let sum = 0;
    for (const x of vector) sum += x * x;
    if (sum === 0) return vector;
    const inv = 1 / Math.sqrt(sum);
    for (let i = 0; i < dimensions; i++) vector[i]! *= inv;
    return vector;
  }
}

/** An avalanche, so that the low bits (the index) and the top bit (the sign) both depend on every input bit. */
function mix(hash: number): number {
  let h = hash;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function checksum(counts: LocalIdf["counts"]): number {
  let h = 0;
  for (let i = 0; i < counts.length; i++) if (counts[i]) h = (Math.imul(h, 31) + i * 7 + counts[i]!) | 0;
  return h >>> 0;
}
