/**
 * How a host plugs in an external vector database (pgvector, Qdrant,
 * Pinecone, a managed Redis search...): implement `VectorIndex` over the
 * host's own client, then run this contract suite against it, as below.
 *
 * `RemoteVectorDb` stands in for such a client, with the calls they share:
 * collections with a fixed dimension, upsert, top-k cosine search that can
 * return the stored values, delete by id, list and drop collections. The
 * adapter shows what the interface asks of any backend, whatever it offers:
 *
 * 1. Isolation (FAILURES C1, S1): one collection per namespace, or a filter
 *    the database enforces on every query; never a post-filter in the host.
 * 2. Unit vectors: normalize on the way in, so a score is the cosine.
 * 3. `minScore` is a cosine similarity, filtered here: a database's own
 *    threshold may be a distance, or skip its last candidates.
 * 4. Score 1 means identical (C3): compare the stored values of any
 *    candidate that rounds to 1, and report a near duplicate below 1 - 1e-5.
 * 5. `deleteNamespaces(prefix)`: list the namespaces that start with it,
 *    count their vectors, drop them: the purge by tenant (S2).
 * 6. Invalid input is an `InvalidRequestError` naming the field.
 */
import { describe } from "vitest";
import { InvalidRequestError, type VectorIndex, type VectorMatch } from "../../src/index.js";
import { vectorIndexContract } from "./contract.js";

/** The stand-in for a vector database client (async, as over the network). */
class RemoteVectorDb {
  readonly #collections = new Map<string, { dimension: number; points: Map<string, number[]> }>();

  async createCollection(name: string, dimension: number): Promise<void> {
    if (!this.#collections.has(name)) this.#collections.set(name, { dimension, points: new Map() });
  }
  async dimension(name: string): Promise<number | undefined> {
    return this.#collections.get(name)?.dimension;
  }
  async upsert(name: string, id: string, values: number[]): Promise<void> {
    this.#collections.get(name)!.points.set(id, values);
  }
  async search(name: string, values: number[], limit: number) {
    const points = [...(this.#collections.get(name)?.points ?? [])];
    return points
      .map(([id, stored]) => ({
        id,
        values: stored,
        score: stored.reduce((s, x, i) => s + x * values[i]!, 0),
      }))
      .sort((a, b) => b.score - a.score)
      .slice(0, limit);
  }
  async delete(name: string, ids: string[]): Promise<number> {
    const points = this.#collections.get(name)?.points;
    return ids.filter((id) => points?.delete(id)).length;
  }
  async listCollections(): Promise<{ name: string; count: number }[]> {
    return [...this.#collections].map(([name, c]) => ({ name, count: c.points.size }));
  }
  async dropCollection(name: string): Promise<void> {
    this.#collections.delete(name);
  }
}

function remoteVectorIndex(db: RemoteVectorDb): VectorIndex {
  const invalid = (issue: string) => new InvalidRequestError(issue, [issue]);
  const keys = (...values: unknown[]) => {
    if (values.some((v) => typeof v !== "string")) throw invalid("expected a string namespace or id");
  };
  const unit = (vector: Float32Array): number[] => {
    const norm = Math.sqrt(vector.reduce((s, x) => s + x * x, 0));
    if (vector.length === 0 || !(norm > 0 && Number.isFinite(norm))) {
      throw invalid("vector: expected a non-empty, non-zero vector of finite numbers");
    }
    return Array.from(vector, (x) => Math.fround(x / norm));
  };
  const sameDimension = async (namespace: string, values: number[]) => {
    const dimension = await db.dimension(namespace);
    if (dimension !== undefined && dimension !== values.length) {
      throw invalid(
        `vector: namespace ${namespace} holds ${dimension}-dimension vectors, got ${values.length}`,
      );
    }
  };
  return {
    name: "remote",
    async upsert(namespace, id, vector) {
      keys(namespace, id);
      const values = unit(vector);
      await sameDimension(namespace, values);
      await db.createCollection(namespace, values.length);
      await db.upsert(namespace, id, values);
    },
    async query(namespace, vector, topK, minScore) {
      keys(namespace);
      if (!Number.isInteger(topK) || topK < 0) throw invalid("topK: expected an integer >= 0");
      if (!(minScore >= -1 && minScore <= 1)) throw invalid("minScore: expected a cosine in [-1, 1]");
      const values = unit(vector);
      await sameDimension(namespace, values);
      if (topK === 0) return [];
      const matches: VectorMatch[] = [];
      for (const hit of await db.search(namespace, values, topK)) {
        let score = Math.max(-1, hit.score);
        if (score >= 1 - 1e-5) score = hit.values.every((x, i) => x === values[i]) ? 1 : 1 - 1e-5;
        if (score >= minScore) matches.push({ id: hit.id, score });
      }
      return matches;
    },
    async delete(namespace, ...ids) {
      keys(namespace, ...ids);
      return ids.length === 0 ? 0 : db.delete(namespace, ids);
    },
    async deleteNamespaces(prefix) {
      keys(prefix);
      let removed = 0;
      for (const { name, count } of await db.listCollections()) {
        if (!name.startsWith(prefix)) continue;
        await db.dropCollection(name);
        removed += count;
      }
      return removed;
    },
  };
}

describe("an external vector database behind the VectorIndex interface", () => {
  vectorIndexContract("remote (example adapter)", async () => ({
    index: remoteVectorIndex(new RemoteVectorDb()),
    dispose: async () => {},
  }));
});
