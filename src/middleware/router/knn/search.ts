import type { SparseQuery, SparseVector } from "./featurizer.js";

/** The nearest training examples of a query: ids and cosine similarities, best first, in reused buffers. */
export interface Neighbours {
  /** How many of `ids` / `similarities` are filled (at most k; fewer when fewer examples share a feature). */
  count: number;
  readonly ids: Int32Array;
  readonly similarities: Float64Array;
}

/**
 * k-nearest-neighbour search by cosine similarity (a dot product: every
 * vector is unit length). Sparse vectors are searched through an inverted
 * index (feature → examples that have it), so a query costs the total
 * length of its features' posting lists, not the number of examples times
 * the dimensions; the lists may be capped (`maxPostings`), which makes the
 * search approximate for common words. Dense vectors (a host's embedder)
 * are scanned exactly.
 */
export interface NeighbourIndex {
  readonly size: number;
  search(query: SparseVector | Float32Array, k: number): Neighbours;
}

/** Sparse vectors in compressed rows: example `i` owns `indices/values[offsets[i]..offsets[i+1])`. */
export interface SparseRows {
  readonly offsets: Uint32Array;
  readonly indices: Uint32Array;
  readonly values: Float32Array;
}

export class SparseIndex implements NeighbourIndex {
  readonly size: number;
  readonly #start: Uint32Array;
  /** Posting `p` is the example `ids[2p]` with the weight `weights[2p + 1]`: a list is one stream. */
  readonly #ids: Int32Array;
  readonly #weights: Float32Array;
  readonly #scores: Float32Array;
  readonly #touched: Int32Array;
  readonly #result: Neighbours;

  /**
   * @param maxPostings Each feature keeps the examples where it weighs most,
   *   at most this many (0: all). A common word then costs a search no more
   *   than a rare one; the examples it drops are those where it weighs
   *   least, which is where it adds least to a similarity.
   */
  constructor(rows: SparseRows, dimensions: number, maxK: number, maxPostings = 0) {
    this.size = rows.offsets.length - 1;
    // Transpose the rows into posting lists, by counting first.
    const counts = new Uint32Array(dimensions);
    for (const f of rows.indices) counts[f]!++;
    const full = new Uint32Array(dimensions + 1);
    for (let f = 0; f < dimensions; f++) full[f + 1] = full[f]! + counts[f]!;
    const fill = full.slice(0, dimensions);
    const allIds = new Int32Array(rows.indices.length);
    const allWeights = new Float32Array(rows.indices.length);
    for (let i = 0; i < this.size; i++) {
      for (let j = rows.offsets[i]!; j < rows.offsets[i + 1]!; j++) {
        const at = fill[rows.indices[j]!]!++;
        allIds[at] = i;
        allWeights[at] = rows.values[j]!;
      }
    }
    // Keep the heaviest postings of long lists, interleaved (id, weight) so that a list is one stream.
    const cap = maxPostings > 0 ? maxPostings : Number.POSITIVE_INFINITY;
    const start = new Uint32Array(dimensions + 1);
    for (let f = 0; f < dimensions; f++) start[f + 1] = start[f]! + Math.min(counts[f]!, cap);
    const buffer = new ArrayBuffer(start[dimensions]! * 8);
    const ids = new Int32Array(buffer);
    const weights = new Float32Array(buffer);
    for (let f = 0; f < dimensions; f++) {
      let from = full[f]!;
      const to = full[f + 1]!;
      let order: number[] | undefined;
      if (to - from > cap) {
        order = Array.from({ length: to - from }, (_, j) => from + j)
          .sort((a, b) => allWeights[b]! - allWeights[a]!)
          .slice(0, cap);
        from = 0;
      }
      let at = start[f]!;
      for (let p = from; p < (order ? order.length : to); p++) {
        const src = order ? order[p]! : p;
        ids[2 * at] = allIds[src]!;
        // Weights are positive (tf-idf), so a score above 0 marks an example already reached.
        weights[2 * at + 1] = Math.max(allWeights[src]!, 1e-30);
        at++;
      }
    }
    this.#start = start;
    this.#ids = ids;
    this.#weights = weights;
    this.#scores = new Float32Array(this.size);
    this.#touched = new Int32Array(this.size);
    this.#result = { count: 0, ids: new Int32Array(maxK), similarities: new Float64Array(maxK) };
  }

  search(query: SparseVector | Float32Array, k: number): Neighbours {
    if (query instanceof Float32Array) throw new TypeError("a sparse index takes sparse queries");
    return this.#search(query.indices, query.values, query.indices.length, k);
  }

  /** {@link search} for a query in reused buffers. */
  searchQuery(query: SparseQuery, k: number): Neighbours {
    return this.#search(query.indices, query.values, query.length, k);
  }

  #search(indices: Uint32Array, values: Float32Array, length: number, k: number): Neighbours {
    const scores = this.#scores;
    const touched = this.#touched;
    const start = this.#start;
    const postings = this.#ids;
    const weights = this.#weights;
    const features = start.length - 1;
    let reached = 0;
    for (let q = 0; q < length; q++) {
      const f = indices[q]!;
      if (f >= features) continue;
      const w = values[q]!;
      const end = 2 * start[f + 1]!;
      for (let p = 2 * start[f]!; p < end; p += 2) {
        const id = postings[p]!;
        const before = scores[id]!;
        // Branch-free: the id is kept only the first time it is reached (its score was 0).
        touched[reached] = id;
        reached += before === 0 ? 1 : 0;
        scores[id] = before + w * weights[p + 1]!;
      }
    }
    // One pass over the examples reached: take the k best and clear their scores.
    const out = this.#result;
    const ids = out.ids;
    const sims = out.similarities;
    const kk = Math.min(k, ids.length);
    let count = 0;
    let floor = 0;
    for (let j = 0; j < reached; j++) {
      const id = touched[j]!;
      const s = scores[id]!;
      scores[id] = 0;
      if (count === kk ? s <= floor : !(s > 0)) continue;
      let at = count < kk ? count++ : kk - 1;
      while (at > 0 && sims[at - 1]! < s) {
        sims[at] = sims[at - 1]!;
        ids[at] = ids[at - 1]!;
        at--;
      }
      sims[at] = s;
      ids[at] = id;
      floor = sims[count - 1]!;
    }
    out.count = count;
    return out;
  }
}

export class DenseIndex implements NeighbourIndex {
  readonly size: number;
  readonly #scores: Float64Array;
  readonly #result: Neighbours;

  constructor(
    readonly rows: Float32Array,
    readonly dimensions: number,
    maxK: number,
  ) {
    this.size = rows.length / dimensions;
    this.#scores = new Float64Array(this.size);
    this.#result = { count: 0, ids: new Int32Array(maxK), similarities: new Float64Array(maxK) };
  }

  search(query: SparseVector | Float32Array, k: number): Neighbours {
    if (!(query instanceof Float32Array) || query.length !== this.dimensions) {
      throw new TypeError(`a dense index takes vectors of ${this.dimensions} dimensions`);
    }
    const d = this.dimensions;
    for (let i = 0; i < this.size; i++) {
      let s = 0;
      const base = i * d;
      for (let j = 0; j < d; j++) s += query[j]! * this.rows[base + j]!;
      this.#scores[i] = s;
    }
    return topK(this.#result, k, this.size, undefined, this.#scores);
  }
}

/** The k best of `n` candidates (`candidates[0..n)`, or ids `0..n`) into `out`, by insertion into a short sorted array (k is small). */
function topK(
  out: Neighbours,
  k: number,
  n: number,
  candidates: Int32Array | undefined,
  scores: Float32Array | Float64Array,
): Neighbours {
  const kk = Math.min(k, out.ids.length);
  const ids = out.ids;
  const sims = out.similarities;
  let count = 0;
  for (let j = 0; j < n; j++) {
    const id = candidates ? candidates[j]! : j;
    const s = scores[id]!;
    if (!(s > 0)) continue; // shares nothing (or NaN): not a neighbour
    if (count === kk && s <= sims[kk - 1]!) continue;
    let at = count < kk ? count++ : kk - 1;
    while (at > 0 && sims[at - 1]! < s) {
      sims[at] = sims[at - 1]!;
      ids[at] = ids[at - 1]!;
      at--;
    }
    sims[at] = s;
    ids[at] = id;
  }
  out.count = count;
  return out;
}
