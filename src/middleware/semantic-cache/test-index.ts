// Test-only: a Map-based VectorIndex (exact cosine over every vector) and embedders with known scores, shared by
// the semantic-cache suites until they run against memoryVectorIndex(). Not part of the package.
import type { Embedder } from "../../embeddings/embedder.js";
import type { VectorIndex, VectorMatch } from "../../storage/vector-index.js";

export function mapVectorIndex(): VectorIndex & { size(): number; namespaces(): string[] } {
  const spaces = new Map<string, Map<string, Float32Array>>();
  return {
    name: "map",
    async upsert(namespace, id, vector) {
      const space = spaces.get(namespace) ?? new Map<string, Float32Array>();
      space.set(id, vector.slice());
      spaces.set(namespace, space);
    },
    async query(namespace, vector, topK, minScore) {
      const matches: VectorMatch[] = [];
      for (const [id, v] of spaces.get(namespace) ?? []) {
        let score = 0;
        for (let i = 0; i < v.length; i++) score += v[i]! * vector[i]!;
        if (score >= minScore) matches.push({ id, score });
      }
      return matches.sort((a, b) => b.score - a.score).slice(0, topK);
    },
    async delete(namespace, ...ids) {
      const space = spaces.get(namespace);
      return ids.filter((id) => space?.delete(id)).length;
    },
    async deleteNamespaces(prefix) {
      let removed = 0;
      for (const [name, space] of spaces) {
        if (!name.startsWith(prefix)) continue;
        removed += space.size;
        spaces.delete(name);
      }
      return removed;
    },
    size: () => [...spaces.values()].reduce((n, s) => n + s.size, 0),
    namespaces: () => [...spaces.keys()],
  };
}

/**
 * Every text gets the same vector: every pair scores 1, far above any
 * threshold, so that only the guards stand between two prompts.
 */
export function constantEmbedder(): Embedder & { calls: number } {
  const e = {
    name: "constant",
    dimensions: 4,
    calls: 0,
    async embed(texts: readonly string[]) {
      e.calls++;
      return texts.map(() => Float32Array.from([0.5, 0.5, 0.5, 0.5]));
    },
  };
  return e;
}
