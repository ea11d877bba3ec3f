import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/core/errors.js";
import { memoryVectorIndex } from "../../src/storage/memory/vector-index.js";
import { vectorIndexContract } from "./contract.js";
import { gaussian, randomUnit } from "./data.js";

vectorIndexContract("memory", async () => ({ index: memoryVectorIndex(), dispose: async () => {} }));

describe("memoryVectorIndex", () => {
  const normal = gaussian(21);
  const unit = () => randomUnit(32, normal);

  it("keeps at most maxVectors over all namespaces, evicting the oldest written", async () => {
    const index = memoryVectorIndex({ maxVectors: 100 });
    const vectors = Array.from({ length: 150 }, unit);
    for (const [i, v] of vectors.entries()) await index.upsert(`ns-${i % 3}`, `id-${i}`, v);
    expect(index.size).toBe(100);
    expect(index.evicted).toBe(50);
    for (const [i, v] of vectors.entries()) {
      const found = await index.query(`ns-${i % 3}`, v, 1, 1);
      expect(found.length, `id-${i}`).toBe(i < 50 ? 0 : 1);
    }
  });

  it("counts a rewrite as the newest write, so a vector in use outlives older ones", async () => {
    const index = memoryVectorIndex({ maxVectors: 3 });
    const [a, b, c, d] = [unit(), unit(), unit(), unit()];
    await index.upsert("ns", "a", a);
    await index.upsert("ns", "b", b);
    await index.upsert("ns", "c", c);
    await index.upsert("ns", "a", a); // identical rewrite: now the newest
    await index.upsert("ns", "d", d);
    expect(await index.query("ns", b, 1, 1)).toEqual([]);
    for (const [id, v] of [
      ["a", a],
      ["c", c],
      ["d", d],
    ] as const) {
      expect(await index.query("ns", v, 1, 1)).toEqual([{ id, score: 1 }]);
    }
    expect(index.evicted).toBe(1);
  });

  it("lets a namespace emptied by deletes take vectors of other dimensions", async () => {
    const index = memoryVectorIndex();
    await index.upsert("ns", "a", unit());
    await index.delete("ns", "a");
    const wide = randomUnit(64, normal);
    await index.upsert("ns", "b", wide);
    expect(await index.query("ns", wide, 1, 1)).toEqual([{ id: "b", score: 1 }]);
  });

  it("names the namespace and both dimensions when a vector does not fit its namespace", async () => {
    const index = memoryVectorIndex();
    await index.upsert("t:a|m", "a", randomUnit(64, normal));
    await expect(index.upsert("t:a|m", "b", randomUnit(32, normal))).rejects.toThrow(
      'vector: namespace "t:a|m" holds 64-dimension vectors, got 32',
    );
  });

  it("refuses options that are not positive integers, naming them", () => {
    expect(() => memoryVectorIndex({ maxVectors: 0 })).toThrow(ConfigError);
    expect(() => memoryVectorIndex({ maxVectors: Number.POSITIVE_INFINITY })).toThrow(/options\.maxVectors/);
    expect(() => memoryVectorIndex({ probes: 0 })).toThrow(/options\.probes/);
    expect(() => memoryVectorIndex({ maxVector: 10 } as never)).toThrow(ConfigError);
  });

  it("refuses a namespace whose vectors could not all fit in one index's memory", async () => {
    const index = memoryVectorIndex({ maxVectors: 10_000_000 });
    await expect(index.upsert("ns", "a", randomUnit(1536, normal))).rejects.toThrow(/lower maxVectors/);
    await index.upsert("small", "a", randomUnit(16, normal)); // 10M x 16 dims fits
  });
});
