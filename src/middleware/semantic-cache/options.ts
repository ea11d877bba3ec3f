import { z } from "zod";
import type { AdmissionOptions } from "../../caching/admission.js";
import type { ChatRequest } from "../../core/request.js";
import type { EmbedderAdvice } from "../../embeddings/advice.js";
import type { Embedder } from "../../embeddings/embedder.js";
import type { KeyValueStore } from "../../storage/kv.js";
import type { VectorIndex } from "../../storage/vector-index.js";
import type { GuardsOption } from "./guards.js";
import type { SemanticCacheErrorInfo } from "./report.js";
import type { VerifyOptions } from "./verify.js";

export interface SemanticCacheOptions {
  /** Turns prompts into unit vectors: `localEmbedder()` (offline, lexical) or `cachedEmbedder(openaiEmbedder(sdk))`. */
  embedder: Embedder & EmbedderAdvice;
  /** Where the vectors live: `memoryVectorIndex()` in one process, `redisVectorIndex()` shared. */
  index: VectorIndex;
  /** Where the answers live (with the prompt each answers): `memoryKv()` or `redisKv()`. */
  store: KeyValueStore;
  /**
   * The cosine similarity a cached prompt needs to be a candidate, in (0, 1].
   * `1` serves only a prompt whose vector is identical. Default: the
   * embedder's `recommendedThreshold` (docs/embeddings.md); an embedder
   * without one needs this option. `0` or less, or above 1, is refused.
   */
  threshold?: number;
  /** Threshold per `metadata.task`, overriding `threshold`: `{ faq: 0.8, legal: 0.97 }`. Same range. */
  thresholdByTask?: Record<string, number>;
  /**
   * Part of every namespace. Change it when anything outside the request
   * changes answers (a new policy, a new router): old entries stop being
   * served at once. Any non-empty string.
   */
  policyVersion: string;
  /** How long an answer is kept, in milliseconds: a positive integer, or `Infinity` (until evicted). */
  ttlMs: number;
  /**
   * One cache for every tenant. Default `false`: each tenant has its own
   * namespaces and nothing is served across tenants. A shared cache also
   * refuses personalized (`metadata.user`) and tool-derived requests.
   */
  shared?: boolean;
  /** What may be cached: temperature limit (default 1), side-effect tools. */
  admission?: Omit<AdmissionOptions, "shared">;
  /**
   * Which requests are looked up and stored. Default `singleTurn`: exactly
   * one user message of text. A host that selects multi-turn requests gets
   * the last user message compared by meaning and every earlier turn
   * compared exactly.
   */
  eligible?: (request: ChatRequest) => boolean;
  /**
   * False-hit guards run on every candidate before it is served.
   * `"default"` (the default): `lexicalGuards` with a lexical embedder, else
   * `defaultGuards`. `false`: none (similarity alone decides). Or a list.
   */
  guards?: GuardsOption;
  /** Ask a cheap model to confirm each hit that passed the guards, for high-stakes tasks. */
  verify?: VerifyOptions;
  /** How many candidates above the threshold are checked, best first. Default 4; 1 to 32. */
  topK?: number;
  /**
   * Receives embedder, index, store and verification failures: the request
   * then goes on as a miss, never fails because of the cache. Default: a
   * warning through the client's logger, at most one per operation every 10 s.
   */
  onError?: (error: unknown, info: SemanticCacheErrorInfo) => void;
}

const threshold = z.number().gt(0, "a similarity above 0").max(1, "a similarity of at most 1");
export const optionsSchema = z
  .object({
    embedder: z.custom<Embedder>(
      (e) => typeof (e as Embedder)?.embed === "function" && typeof (e as Embedder)?.name === "string",
      "expected an Embedder such as localEmbedder()",
    ),
    index: z.custom<VectorIndex>(
      (i) =>
        typeof (i as VectorIndex)?.query === "function" && typeof (i as VectorIndex)?.upsert === "function",
      "expected a VectorIndex such as memoryVectorIndex()",
    ),
    store: z.custom<KeyValueStore>(
      (s) =>
        typeof (s as KeyValueStore)?.get === "function" &&
        typeof (s as KeyValueStore)?.deletePrefix === "function",
      "expected a KeyValueStore such as memoryKv()",
    ),
    threshold: threshold.optional(),
    thresholdByTask: z.record(z.string(), threshold).default({}),
    policyVersion: z.string().min(1),
    ttlMs: z.union([z.number().int().positive(), z.literal(Number.POSITIVE_INFINITY)]),
    shared: z.boolean().default(false),
    admission: z
      .object({
        maxTemperature: z.number().nonnegative().optional(),
        sideEffectTools: z.array(z.string()).readonly().optional(),
      })
      .strict()
      .default({}),
    eligible: z.function().optional(),
    guards: z
      .union([
        z.literal("default"),
        z.literal(false),
        z.array(
          z.custom<object>(
            (g) => typeof (g as { check?: unknown })?.check === "function",
            "a guard: { name, check(prompt, candidate) }",
          ),
        ),
      ])
      .optional(),
    verify: z
      .object({ model: z.string().min(1), tasks: z.array(z.string()).readonly().optional() })
      .strict()
      .optional(),
    topK: z.number().int().min(1).max(32).default(4),
    onError: z.function().optional(),
  })
  .strict();
