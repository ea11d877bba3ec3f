import { describe, expect, it } from "vitest";
import {
  changeFields,
  compareStreamIds,
  missedEntries,
  parseChange,
} from "../../src/storage/vector/changes.js";
import { VectorHeap } from "../../src/storage/vector/heap.js";
import { LocalVectorIndex } from "../../src/storage/vector/local-index.js";
import { TopK } from "../../src/storage/vector/top-k.js";
import { decodeVector, encodeVector, unitVector } from "../../src/storage/vector/vectors.js";
import { clustered, dot, gaussian, perturb, randomUnit, uniform } from "./data.js";

describe("the approximate index", () => {
  it("finds the exact nearest neighbour for >= 98% of queries on clustered data (20k x 128)", () => {
    const vectors = clustered({ count: 20_000, dims: 128, clusters: 500, spread: 1, seed: 1 });
    const index = new LocalVectorIndex({ maxVectors: 20_000 });
    for (const [i, v] of vectors.entries()) index.upsert("ns", `id-${i}`, v);
    // Large enough that a query probes a few lists instead of scanning them all.
    expect(20_000 * 128).toBeGreaterThan(index.tuning.exactMaxFloats);
    expect(index.stats().lists).toBeGreaterThan(4 * index.tuning.probes);

    const normal = gaussian(2);
    const pick = uniform(3);
    let agree = 0;
    const queries = 500;
    for (let q = 0; q < queries; q++) {
      const query = perturb(vectors[Math.floor(pick() * vectors.length)]!, 0.5, normal);
      const [exact] = index.query("ns", query, 1, -1, Number.POSITIVE_INFINITY);
      const [approximate] = index.query("ns", query, 1, -1);
      if (approximate?.id === exact?.id || approximate?.score === exact?.score) agree++;
    }
    expect(agree / queries).toBeGreaterThanOrEqual(0.98);
  });

  it("stays consistent through random upserts, rewrites and deletes (against brute force)", () => {
    // Small lists: many splits, moves between lists and emptied lists.
    const index = new LocalVectorIndex({ maxVectors: 10_000, tuning: { maxListRows: 8, probes: 2 } });
    const model = new Map<string, Float32Array>();
    const normal = gaussian(4);
    const pick = uniform(5);
    const centres = Array.from({ length: 6 }, () => randomUnit(24, normal));
    for (let step = 0; step < 3_000; step++) {
      const id = `id-${Math.floor(pick() * 400)}`;
      if (pick() < 0.3) {
        expect(index.delete("ns", [id])).toBe(model.delete(id) ? 1 : 0);
      } else {
        const v = perturb(centres[Math.floor(pick() * centres.length)]!, 0.7, normal);
        index.upsert("ns", id, v);
        model.set(id, v);
      }
      if (step % 100 !== 99) continue;
      expect(index.size).toBe(model.size);
      for (const [key, v] of model) expect(index.get("ns", key), key).toEqual(v);
      const query = randomUnit(24, normal);
      const expected = [...model]
        .map(([key, v]) => ({ id: key, score: dot(query, v) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, 5);
      const got = index.query("ns", query, 5, -1, Number.POSITIVE_INFINITY);
      expect(got.map((m) => m.id)).toEqual(expected.map((m) => m.id));
      for (const [i, m] of got.entries()) expect(m.score).toBeCloseTo(expected[i]!.score, 5);
    }
  });

  it("evicts the oldest write across namespaces and gives their memory back", () => {
    const index = new LocalVectorIndex({ maxVectors: 1_000 });
    const normal = gaussian(6);
    const fill = (round: number) => {
      for (let i = 0; i < 1_000; i++) index.upsert(`ns-${i % 7}`, `r${round}-${i}`, randomUnit(256, normal));
    };
    fill(0);
    const reserved = index.heap.reservedBytes;
    for (let round = 1; round <= 4; round++) fill(round);
    expect(index.size).toBe(1_000);
    expect(index.evicted).toBe(4_000);
    expect(index.get("ns-0", "r3-0")).toBeUndefined();
    expect(index.get("ns-0", "r4-0")).toBeDefined();
    // Freed blocks are reused: four more rounds of the same size do not grow the memory much.
    expect(index.heap.reservedBytes).toBeLessThanOrEqual(reserved * 2);
    index.deleteNamespaces("ns-");
    expect(index.size).toBe(0);
    expect(index.heap.usedBytes).toBeLessThan(64 * 1024); // the scratch block only
  });
});

describe("the kernel", () => {
  it("computes the same scores with WebAssembly SIMD and in JavaScript, whole rows and prefixes", () => {
    const simd = new VectorHeap();
    const plain = new VectorHeap({ simd: false });
    expect(simd.kernel.simd).toBe(true);
    expect(plain.kernel.simd).toBe(false);
    const normal = gaussian(8);
    const [rows, stride] = [37, 96];
    for (const heap of [simd, plain]) {
      const base = heap.alloc(rows * stride * 4);
      const query = heap.alloc(stride * 4);
      const out = heap.alloc(rows * 4);
      const source = gaussian(9);
      for (let i = 0; i < rows * stride; i++) heap.f32[(base >> 2) + i] = source();
      for (let i = 0; i < stride; i++) heap.f32[(query >> 2) + i] = normal();
      heap.kernel.scores(query, base, rows, stride, stride, out);
      const whole = heap.f32.slice(out >> 2, (out >> 2) + rows);
      heap.kernel.scores(query, base, rows, 32, stride, out);
      const prefix = heap.f32.slice(out >> 2, (out >> 2) + rows);
      for (let j = 0; j < rows; j++) {
        let full = 0;
        let part = 0;
        for (let i = 0; i < stride; i++) {
          const p = heap.f32[(base >> 2) + j * stride + i]! * heap.f32[(query >> 2) + i]!;
          full += p;
          if (i < 32) part += p;
        }
        expect(whole[j]).toBeCloseTo(full, 3);
        expect(prefix[j]).toBeCloseTo(part, 3);
      }
    }
  });

  it("answers the same queries the same way on the JavaScript fallback", () => {
    const vectors = clustered({ count: 3_000, dims: 200, clusters: 30, spread: 1, seed: 10 });
    const withSimd = new LocalVectorIndex({ maxVectors: 5_000 });
    const without = new LocalVectorIndex({ maxVectors: 5_000, simd: false });
    for (const [i, v] of vectors.entries()) {
      withSimd.upsert("ns", `${i}`, v);
      without.upsert("ns", `${i}`, v);
    }
    for (let q = 0; q < 20; q++) {
      const query = vectors[q * 100]!;
      const a = withSimd.query("ns", query, 3, 0, Number.POSITIVE_INFINITY);
      const b = without.query("ns", query, 3, 0, Number.POSITIVE_INFINITY);
      expect(b.map((m) => m.id)).toEqual(a.map((m) => m.id));
      expect(a[0]).toEqual({ id: `${q * 100}`, score: 1 });
    }
  });
});

describe("the pieces", () => {
  it("TopK keeps the k best, best first", () => {
    const top = new TopK(3);
    for (const [score, item] of [
      [0.1, 1],
      [0.9, 2],
      [0.5, 3],
      [0.7, 4],
      [0.2, 5],
      [0.95, 6],
    ] as const) {
      top.push(score, item);
    }
    expect(top.sorted()).toEqual([
      { item: 6, score: 0.95 },
      { item: 2, score: 0.9 },
      { item: 4, score: 0.7 },
    ]);
    expect(top.floor).toBe(0.7);
    expect(top.clear().size).toBe(0);
  });

  it("unitVector normalizes once: a unit vector keeps its exact bits", () => {
    const v = unitVector(Float32Array.of(3, 4), "v");
    expect(Array.from(v)).toEqual([Math.fround(0.6), Math.fround(0.8)]);
    expect(unitVector(v, "v")).toEqual(v);
    expect(unitVector(v, "v")).not.toBe(v);
  });

  it("encodes vectors as base64 float32 and back, bit for bit", () => {
    const v = randomUnit(1536, gaussian(12));
    const text = encodeVector(v);
    expect(text).toBe(Buffer.from(v.buffer).toString("base64"));
    expect(decodeVector(text)).toEqual(v);
    expect(decodeVector("abc")).toBeUndefined();
    expect(decodeVector("")).toBeUndefined();
  });

  it("reads back the change entries it writes, and orders stream ids numerically", () => {
    const changed = { op: "changed", namespace: "t:a|m", ids: ["x", "y"] } as const;
    expect(parseChange(changeFields(changed))).toEqual(changed);
    expect(parseChange(changeFields({ op: "dropped", namespace: "t:a" }))).toEqual({
      op: "dropped",
      namespace: "t:a",
    });
    expect(parseChange(["record", "{}"])).toBeUndefined();
    expect(compareStreamIds("9-0", "10-0")).toBeLessThan(0);
    expect(compareStreamIds("10-2", "10-10")).toBeLessThan(0);
    expect(compareStreamIds("10-2", "10-2")).toBe(0);
  });

  it("tells when stream entries past the last one read were trimmed", () => {
    const info = (first: string | undefined, last: string, maxDeleted = "0-0") => [
      "length",
      first ? 5 : 0,
      "last-generated-id",
      last,
      "max-deleted-entry-id",
      maxDeleted,
      "first-entry",
      first ? [first, ["op", "c"]] : null,
    ];
    expect(missedEntries(info("20-0", "30-0"), "30-0")).toBe(false); // caught up
    expect(missedEntries(info("20-0", "40-0"), "30-0")).toBe(false); // behind, nothing lost
    expect(missedEntries(info("35-0", "40-0"), "30-0")).toBe(true); // trimmed past what was read
    expect(missedEntries(info(undefined, "40-0"), "30-0")).toBe(true); // trimmed empty
    expect(missedEntries(info(undefined, "30-0"), "30-0")).toBe(false); // trimmed empty, nothing new
    expect(missedEntries(info("20-0", "40-0", "31-0"), "30-0")).toBe(true); // an XDEL after it
    expect(missedEntries(info("10-0", "40-0"), "0-0")).toBe(true); // may have lost what came before 10-0
  });
});
