import type { VectorHeap } from "./heap.js";

/** Lloyd iterations at most: two clusters settle within a few; the split only has to be good, not optimal. */
const MAX_ITERATIONS = 6;
/** A split smaller than this share on one side is redone as a balanced (median) split. */
const MIN_SIDE_SHARE = 1 / 8;

export interface Bisection {
  /** 0 or 1 per row. */
  readonly side: Uint8Array;
  /** Unit mean direction of each side. */
  readonly centroids: readonly [Float32Array, Float32Array];
}

/**
 * Splits `rows` contiguous rows (at byte offset `base`, `stride` floats each)
 * in two by spherical 2-means: seeds are a random row and the row least
 * like it, then Lloyd iterations with unit centroids. This is how a list of
 * the inverted file splits when full: the coarse clustering grows with the
 * data, one small split at a time, instead of a k-means over everything
 * that would stall the event loop for seconds at 100k rows.
 *
 * A lopsided result (duplicates, one outlier) falls back to a median split
 * along the direction that separates the two centroids, so each side gets half.
 */
export function bisect(
  heap: VectorHeap,
  base: number,
  rows: number,
  stride: number,
  random: () => number,
): Bisection {
  const side = new Uint8Array(rows);
  const seed = Math.floor(random() * rows);
  let a = copyRow(heap, base + seed * stride * 4, stride);
  let scoresA = score(heap, a, base, rows, stride);
  let b = copyRow(heap, base + argMin(scoresA) * stride * 4, stride);
  let scoresB = score(heap, b, base, rows, stride);
  for (let iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
    let changed = 0;
    for (let j = 0; j < rows; j++) {
      const s = scoresA[j]! >= scoresB[j]! ? 0 : 1;
      if (side[j] !== s) changed++;
      side[j] = s;
    }
    if (iteration > 0 && changed === 0) break;
    a = meanDirection(heap, base, rows, stride, side, 0) ?? a;
    b = meanDirection(heap, base, rows, stride, side, 1) ?? b;
    scoresA = score(heap, a, base, rows, stride);
    scoresB = score(heap, b, base, rows, stride);
  }
  let ones = 0;
  for (let j = 0; j < rows; j++) ones += side[j]!;
  const smaller = Math.min(ones, rows - ones);
  if (smaller < rows * MIN_SIDE_SHARE) {
    // Median split on the margin: the half most like `a` against the rest.
    const margin = scoresA.map((s, j) => s - scoresB[j]!);
    const order = Array.from({ length: rows }, (_, j) => j).sort((x, y) => margin[y]! - margin[x]! || x - y);
    order.forEach((j, rank) => {
      side[j] = rank < rows >> 1 ? 0 : 1;
    });
    a = meanDirection(heap, base, rows, stride, side, 0) ?? a;
    b = meanDirection(heap, base, rows, stride, side, 1) ?? b;
  }
  return { side, centroids: [a, b] };
}

function copyRow(heap: VectorHeap, ptr: number, stride: number): Float32Array {
  return heap.f32.slice(ptr >> 2, (ptr >> 2) + stride);
}

/** Scores of every row against `vector`, through the kernel. */
function score(
  heap: VectorHeap,
  vector: Float32Array,
  base: number,
  rows: number,
  stride: number,
): Float32Array {
  const scratch = heap.scratch((stride + rows) * 4);
  const out = scratch + stride * 4;
  heap.f32.set(vector, scratch >> 2);
  heap.kernel.scores(scratch, base, rows, stride, out);
  return heap.f32.slice(out >> 2, (out >> 2) + rows);
}

function argMin(values: Float32Array): number {
  let best = 0;
  for (let j = 1; j < values.length; j++) if (values[j]! < values[best]!) best = j;
  return best;
}

/** The normalized sum of the rows on `which` side, or undefined when there are none (or they cancel out). */
function meanDirection(
  heap: VectorHeap,
  base: number,
  rows: number,
  stride: number,
  side: Uint8Array,
  which: number,
): Float32Array | undefined {
  const f32 = heap.f32;
  const sum = new Float64Array(stride);
  let count = 0;
  for (let j = 0, r = base >> 2; j < rows; j++, r += stride) {
    if (side[j] !== which) continue;
    count++;
    for (let i = 0; i < stride; i++) sum[i]! += f32[r + i]!;
  }
  let norm = 0;
  for (let i = 0; i < stride; i++) norm += sum[i]! * sum[i]!;
  if (count === 0 || !(norm > 0)) return undefined;
  const scale = 1 / Math.sqrt(norm);
  return Float32Array.from(sum, (x) => x * scale);
}
