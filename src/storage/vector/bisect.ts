import type { VectorHeap } from "./heap.js";

/** Lloyd iterations at most: two clusters settle within a few; the split only has to be good, not optimal. */
const MAX_ITERATIONS = 6;
/** A split smaller than this share on one side is redone as a balanced (median) split. */
const MIN_SIDE_SHARE = 1 / 8;

export interface Bisection {
  /** 0 or 1 per row. */
  readonly side: Uint8Array;
  /** Sum of the rows on each side (the centroid is its direction). */
  readonly sums: readonly [Float64Array, Float64Array];
}

/**
 * Splits `rows` contiguous rows (at byte offset `base`, `stride` floats
 * each, the first `dims` significant) in two by spherical 2-means: seeds
 * are a random row and the row least like it, then Lloyd iterations with
 * unit centroids. `total` is the sum of all the rows: side 1's sum is
 * `total - side 0's`, and each iteration only adds up the rows that changed
 * sides, so a split costs a few kernel passes, not a few passes in JavaScript.
 *
 * A lopsided result (duplicates, one outlier) falls back to a median split
 * along the direction that separates the two centroids, so each side gets half.
 */
export function bisect(
  heap: VectorHeap,
  base: number,
  rows: number,
  stride: number,
  dims: number,
  total: Float64Array,
  random: () => number,
): Bisection {
  const side = new Uint8Array(rows).fill(2); // 2: not assigned yet
  const sum0 = new Float64Array(dims);
  const sum1 = new Float64Array(dims);
  const centroid = new Float32Array(stride);
  const rowAt = (j: number) => (base >> 2) + j * stride;
  let scores0 = score(heap, copyRow(heap, rowAt(Math.floor(random() * rows)), stride), base, rows, stride);
  let scores1 = score(heap, copyRow(heap, rowAt(argMin(scores0)), stride), base, rows, stride);
  const assign = (j: number, s: 0 | 1): number => {
    if (side[j] === s) return 0;
    const f32 = heap.f32;
    const row = rowAt(j);
    if (s === 0) for (let i = 0; i < dims; i++) sum0[i]! += f32[row + i]!;
    else if (side[j] === 0) for (let i = 0; i < dims; i++) sum0[i]! -= f32[row + i]!;
    side[j] = s;
    return 1;
  };
  for (let iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
    let changed = 0;
    for (let j = 0; j < rows; j++) changed += assign(j, scores0[j]! >= scores1[j]! ? 0 : 1);
    if (iteration > 0 && changed === 0) break;
    for (let i = 0; i < dims; i++) sum1[i] = total[i]! - sum0[i]!;
    // An empty side keeps its previous scores: nothing is drawn to a centroid that does not exist.
    if (direction(sum0, centroid)) scores0 = score(heap, centroid, base, rows, stride);
    if (direction(sum1, centroid)) scores1 = score(heap, centroid, base, rows, stride);
  }
  let ones = 0;
  for (let j = 0; j < rows; j++) ones += side[j]!;
  if (Math.min(ones, rows - ones) < rows * MIN_SIDE_SHARE) {
    // Median split on the margin: the half most like side 0 against the rest.
    const margin = scores0.map((s, j) => s - scores1[j]!);
    const order = Array.from({ length: rows }, (_, j) => j).sort((x, y) => margin[y]! - margin[x]! || x - y);
    for (const [rank, j] of order.entries()) assign(j, rank < rows >> 1 ? 0 : 1);
  }
  for (let i = 0; i < dims; i++) sum1[i] = total[i]! - sum0[i]!;
  return { side, sums: [sum0, sum1] };
}

function copyRow(heap: VectorHeap, row: number, stride: number): Float32Array {
  return heap.f32.slice(row, row + stride);
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
  heap.kernel.scores(scratch, base, rows, stride, stride, out);
  return heap.f32.slice(out >> 2, (out >> 2) + rows);
}

function argMin(values: Float32Array): number {
  let best = 0;
  for (let j = 1; j < values.length; j++) if (values[j]! < values[best]!) best = j;
  return best;
}

/** Writes `sum` scaled to unit length into `into`; false (and nothing written) when the sum is zero. */
function direction(sum: Float64Array, into: Float32Array): boolean {
  let norm = 0;
  for (let i = 0; i < sum.length; i++) norm += sum[i]! * sum[i]!;
  if (!(norm > 0)) return false;
  const scale = 1 / Math.sqrt(norm);
  for (let i = 0; i < sum.length; i++) into[i] = sum[i]! * scale;
  return true;
}
