import { afterEach, describe, expect, it } from "vitest";
import { InvalidRequestError } from "../../src/core/errors.js";
import type { VectorIndex } from "../../src/storage/vector-index.js";
import { clustered, dot, gaussian, perturb, randomUnit } from "./data.js";

/** A fresh, empty index for one test, and how to remove what it created. */
export interface VectorIndexFixture {
  index: VectorIndex;
  dispose(): Promise<void>;
}

/**
 * The behaviour every vector index adapter owes its users, run against each
 * of them. `makeIndex` is called once per test and must return an empty index.
 */
export function vectorIndexContract(name: string, makeIndex: () => Promise<VectorIndexFixture>): void {
  describe(`${name} vector index (contract)`, () => {
    let fixture: VectorIndexFixture | undefined;
    const fresh = async (): Promise<VectorIndex> => {
      fixture = await makeIndex();
      return fixture.index;
    };
    afterEach(async () => {
      await fixture?.dispose();
      fixture = undefined;
    });
    const normal = gaussian(7);
    const unit = (dims = 64) => randomUnit(dims, normal);

    it("finds an upserted vector as its own best match, with score 1", async () => {
      const index = await fresh();
      const vectors = Array.from({ length: 20 }, () => unit());
      for (const [i, v] of vectors.entries()) await index.upsert("ns", `id-${i}`, v);
      for (const [i, v] of vectors.entries()) {
        const [best] = await index.query("ns", v, 1, -1);
        expect(best).toEqual({ id: `id-${i}`, score: 1 });
      }
    });

    it("replaces the vector of an id that is upserted again", async () => {
      const index = await fresh();
      const [first, second] = [unit(), unit()];
      await index.upsert("ns", "a", first);
      await index.upsert("ns", "a", second);
      expect(await index.query("ns", first, 10, 1)).toEqual([]);
      expect(await index.query("ns", second, 10, -1)).toEqual([{ id: "a", score: 1 }]);
    });

    it("deletes by id and counts only the ids that existed", async () => {
      const index = await fresh();
      const [a, b] = [unit(), unit()];
      await index.upsert("ns", "a", a);
      await index.upsert("ns", "b", b);
      expect(await index.delete("ns", "a", "missing")).toBe(1);
      expect(await index.delete("other", "b")).toBe(0);
      expect(await index.delete("ns")).toBe(0);
      expect((await index.query("ns", a, 10, -1)).map((m) => m.id)).toEqual(["b"]);
      expect(await index.delete("ns", "b")).toBe(1);
      expect(await index.query("ns", b, 10, -1)).toEqual([]);
    });

    it("never returns a vector of another namespace, even an identical one (C1, S1)", async () => {
      const index = await fresh();
      const secret = unit();
      const other = unit();
      await index.upsert("tenant:a|model", "balance", secret);
      expect(await index.query("tenant:b|model", secret, 10, -1)).toEqual([]);
      await index.upsert("tenant:b|model", "weather", other);
      expect(await index.query("tenant:b|model", secret, 10, -1)).toEqual([
        { id: "weather", score: expect.closeTo(dot(secret, other), 5) },
      ]);
      // A namespace that extends another one's name is another namespace.
      expect(await index.query("tenant:a|model2", secret, 10, -1)).toEqual([]);
      expect(await index.query("tenant:a|mode", secret, 10, -1)).toEqual([]);
    });

    it("deletes exactly the namespaces that start with a prefix, counting their vectors", async () => {
      const index = await fresh();
      const layout: Record<string, number> = {
        "tenant-a/x": 2,
        "tenant-a/y": 1,
        "tenant-ab/x": 1,
        "x/tenant-a/": 1,
      };
      const stored: Record<string, Float32Array> = {};
      for (const [namespace, count] of Object.entries(layout)) {
        for (let i = 0; i < count; i++) {
          stored[namespace] = unit();
          await index.upsert(namespace, `v${i}`, stored[namespace]!);
        }
      }
      expect(await index.deleteNamespaces("tenant-a/")).toBe(3);
      expect(await index.query("tenant-a/x", stored["tenant-a/x"]!, 10, -1)).toEqual([]);
      expect(await index.query("tenant-a/y", stored["tenant-a/y"]!, 10, -1)).toEqual([]);
      expect(await index.query("tenant-ab/x", stored["tenant-ab/x"]!, 10, -1)).toHaveLength(1);
      expect(await index.query("x/tenant-a/", stored["x/tenant-a/"]!, 10, -1)).toHaveLength(1);
      expect(await index.deleteNamespaces("tenant-a/")).toBe(0);
      // A purged namespace can be used again.
      await index.upsert("tenant-a/x", "again", stored["tenant-a/x"]!);
      expect(await index.query("tenant-a/x", stored["tenant-a/x"]!, 10, -1)).toEqual([
        { id: "again", score: 1 },
      ]);
    });

    it("returns at most topK matches, best first, each scoring at least minScore", async () => {
      const index = await fresh();
      const normalFor = gaussian(11);
      const centre = unit();
      const vectors = Array.from({ length: 50 }, () => perturb(centre, 1, normalFor));
      for (const [i, v] of vectors.entries()) await index.upsert("ns", `id-${i}`, v);
      const all = await index.query("ns", centre, 100, -1);
      expect(all).toHaveLength(50);
      const scores = all.map((m) => m.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      for (const match of all) {
        const i = Number(match.id.slice(3));
        expect(match.score).toBeCloseTo(dot(centre, vectors[i]!), 5);
      }
      expect(await index.query("ns", centre, 5, -1)).toEqual(all.slice(0, 5));
      const bar = all[9]!.score;
      const above = await index.query("ns", centre, 100, bar);
      expect(above.length).toBeGreaterThanOrEqual(10);
      expect(above.every((m) => m.score >= bar)).toBe(true);
      expect(above).toEqual(all.filter((m) => m.score >= bar));
      expect(await index.query("ns", centre, 0, -1)).toEqual([]);
    });

    it("with minScore 1 returns only an identical vector, never a near duplicate (C3)", async () => {
      const index = await fresh();
      const original = unit(384);
      const nearDuplicate = original.slice();
      nearDuplicate[0] = nearDuplicate[0]! + 1e-6; // one component moved: cosine 1 - ~1e-12
      const paraphrase = perturb(original, 0.05, gaussian(3)); // cosine ~0.9987
      await index.upsert("ns", "near", nearDuplicate);
      await index.upsert("ns", "paraphrase", paraphrase);
      expect(await index.query("ns", original, 10, 1)).toEqual([]);
      // A caller allowing for rounding (1 - 1e-6) still gets no near duplicate.
      expect(await index.query("ns", original, 10, 1 - 1e-6)).toEqual([]);
      const below = await index.query("ns", original, 10, 0.99);
      expect(below.map((m) => m.id).sort()).toEqual(["near", "paraphrase"]);
      expect(below.every((m) => m.score < 1 - 1e-6)).toBe(true);
      await index.upsert("ns", "same", original);
      expect(await index.query("ns", original, 10, 1)).toEqual([{ id: "same", score: 1 }]);
    });

    it("never scores random unrelated vectors above a high threshold (C3)", async () => {
      const index = await fresh();
      for (let i = 0; i < 500; i++) await index.upsert("ns", `id-${i}`, unit(384));
      for (let q = 0; q < 50; q++) expect(await index.query("ns", unit(384), 5, 0.5)).toEqual([]);
    });

    it("normalizes what it stores and what it is asked: the score is the cosine", async () => {
      const index = await fresh();
      const v = unit();
      await index.upsert(
        "ns",
        "doubled",
        v.map((x) => 2 * x),
      );
      expect(
        await index.query(
          "ns",
          v.map((x) => 0.5 * x),
          1,
          1,
        ),
      ).toEqual([{ id: "doubled", score: 1 }]);
      const [tripled] = await index.query(
        "ns",
        v.map((x) => 3 * x),
        1,
        -1,
      );
      // Scaled by 3, normalizing rounds differently: the same direction, not the same vector.
      expect(tripled!.score).toBeCloseTo(1, 4);
    });

    it("holds 5,000 vectors and finds each one it is asked for", async () => {
      const index = await fresh();
      const vectors = clustered({ count: 5_000, dims: 512, clusters: 100, spread: 1, seed: 5 });
      for (let i = 0; i < vectors.length; i += 250) {
        await Promise.all(vectors.slice(i, i + 250).map((v, k) => index.upsert("big", `id-${i + k}`, v)));
      }
      for (let i = 0; i < vectors.length; i += 25) {
        expect(await index.query("big", vectors[i]!, 1, 1)).toEqual([{ id: `id-${i}`, score: 1 }]);
      }
    });

    it("refuses what has no answer, naming the field: bad vectors, thresholds and topK", async () => {
      const index = await fresh();
      await index.upsert("ns", "a", unit(64));
      const bad = async (call: Promise<unknown>, field: RegExp) => {
        const error = await call.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(InvalidRequestError);
        expect((error as Error).message).toMatch(field);
      };
      await bad(index.upsert("ns", "b", new Float32Array(64)), /vector/);
      await bad(index.upsert("ns", "b", Float32Array.of(1, Number.NaN)), /vector/);
      await bad(index.upsert("ns", "b", new Float32Array(0)), /vector/);
      await bad(index.upsert("ns", "b", unit(32)), /dimension/);
      await bad(index.query("ns", unit(32), 1, 0), /dimension/);
      await bad(index.query("ns", unit(64), 1, 1.5), /minScore/);
      await bad(index.query("ns", unit(64), 1, Number.NaN), /minScore/);
      await bad(index.query("ns", unit(64), -1, 0), /topK/);
      await bad(index.query("ns", unit(64), 1.5, 0), /topK/);
      await bad(index.upsert("ns", 42 as unknown as string, unit(64)), /namespace|id/);
    });
  });
}
