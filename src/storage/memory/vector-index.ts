import { z } from "zod";
import { parseOptions } from "../../core/options.js";
import { LocalVectorIndex } from "../vector/local-index.js";
import { checkKeys, unitVector } from "../vector/vectors.js";
import type { VectorIndex, VectorMatch } from "../vector-index.js";

export interface MemoryVectorIndexOptions {
  /**
   * Vectors held at most, over all namespaces. When an upsert goes past it,
   * the oldest written vector is evicted (and counted in `evicted`). Default
   * 100,000; must be a positive integer (`Infinity` is refused: an index that
   * can grow without bound is a leak). One index lives in one WebAssembly
   * memory of at most 4 GiB, so `maxVectors` x dimensions x 6.4 bytes (4 per
   * float, plus room for lists to grow) must fit: about 430,000 vectors of
   * 1,536 dimensions. A namespace whose dimensions could not fit is refused
   * at its first upsert.
   */
  maxVectors?: number;
  /**
   * Lists of the inverted file scanned per query in a large namespace.
   * Higher finds the true nearest more often and costs more: at 100k x 1536,
   * see `npm run bench vector-index` for recall@1 and latency by probes.
   * Default 16; a positive integer.
   */
  probes?: number;
}

/** An in-process vector index: tests, a single instance, or a host's own sharing scheme. */
export interface MemoryVectorIndex extends VectorIndex {
  /** Vectors held now. */
  readonly size: number;
  /** Vectors evicted so far to stay within `maxVectors`. */
  readonly evicted: number;
}

const optionsSchema = z
  .object({
    maxVectors: z.number().int().positive().default(100_000),
    probes: z.number().int().positive().default(16),
  })
  .strict()
  .default({ maxVectors: 100_000, probes: 16 });

/**
 * Creates a bounded in-process vector index. Vectors are normalized to unit
 * length on the way in (a zero or non-finite vector is refused), so a score
 * is the cosine similarity. Search is exact in a small namespace and uses an
 * inverted file with exact re-scoring above ~2M floats (1,300 vectors of
 * 1,536 dimensions); scores are always exact dot products, and a score of 1
 * means the stored vector is identical to the query.
 *
 * @example
 * const index = memoryVectorIndex({ maxVectors: 50_000 });
 * await index.upsert("tenant:acme|text-embedding-3-small", "entry-1", embedding);
 * const [best] = await index.query("tenant:acme|text-embedding-3-small", queryEmbedding, 1, 0.92);
 */
export function memoryVectorIndex(options?: MemoryVectorIndexOptions): MemoryVectorIndex {
  const { maxVectors, probes } = parseOptions(optionsSchema, options, "memoryVectorIndex");
  const local = new LocalVectorIndex({ maxVectors, tuning: { probes } });

  return {
    name: "memory",
    get size() {
      return local.size;
    },
    get evicted() {
      return local.evicted;
    },
    async upsert(namespace: string, id: string, vector: Float32Array): Promise<void> {
      checkKeys(namespace, id);
      local.upsert(namespace, id, unitVector(vector, "vector"));
    },
    async query(
      namespace: string,
      vector: Float32Array,
      topK: number,
      minScore: number,
    ): Promise<VectorMatch[]> {
      checkKeys(namespace);
      return local.query(namespace, unitVector(vector, "vector"), topK, minScore);
    },
    async delete(namespace: string, ...ids: string[]): Promise<number> {
      checkKeys(namespace, ...ids);
      return local.delete(namespace, ids);
    },
    async deleteNamespaces(prefix: string): Promise<number> {
      checkKeys(prefix);
      return local.deleteNamespaces(prefix);
    },
  };
}
