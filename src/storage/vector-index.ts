/**
 * A vector index by namespace, for the semantic cache. A namespace is the
 * isolation unit (tenant, model family and policy version are part of it),
 * so a query never sees another namespace's vectors. Vectors are unit
 * length (cosine similarity = dot product); ids are unique per namespace.
 */
export interface VectorIndex {
  readonly name: string;
  /** Inserts or replaces a vector. */
  upsert(namespace: string, id: string, vector: Float32Array): Promise<void>;
  /** The `topK` nearest vectors with a score >= `minScore`, best first. */
  query(namespace: string, vector: Float32Array, topK: number, minScore: number): Promise<VectorMatch[]>;
  /** Removes vectors by id; resolves with how many existed. */
  delete(namespace: string, ...ids: string[]): Promise<number>;
  /** Removes every namespace that starts with `prefix` (a purge by tenant); resolves with how many vectors they held. */
  deleteNamespaces(prefix: string): Promise<number>;
}

export interface VectorMatch {
  id: string;
  /** Cosine similarity in [-1, 1]. */
  score: number;
}
