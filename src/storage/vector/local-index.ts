import { InvalidRequestError } from "../../core/errors.js";
import type { VectorMatch } from "../vector-index.js";
import { MAX_HEAP_BYTES, VectorHeap } from "./heap.js";
import { STRIDE_GRANULE } from "./kernel.js";
import { NamespaceIndex, type SearchTuning } from "./namespace-index.js";
import { WriteOrder } from "./write-order.js";

/**
 * Defaults, chosen by `npm run bench vector-index` (2-core AMD EPYC VM,
 * Node 20, WebAssembly SIMD kernel; 1,000 Gaussian clusters on the unit
 * sphere, queries = stored vectors + noise, cosine ~0.89):
 *
 * - Why an inverted file with float32 rows scored exactly, not an int8 scan:
 *   a full scan of 100k x 1536 costs ~27 ms even in SIMD (~170 us of CPU per
 *   million floats), and int8 would cut that by 4 at best, still 3x over the
 *   2 ms budget. Scanning 16 of ~620 lists (~3% of the rows) costs p50 0.83
 *   ms, p99 1.5 ms, recall@1 1.000; scores stay exact dot products, so
 *   thresholds and "score 1 = identical" hold with no re-ranking step.
 * - exactMaxFloats 2M: exact search of 2M floats (5,200 x 384, 1,300 x 1536)
 *   costs ~0.34 ms, what an approximate query costs (0.14-0.83 ms), with
 *   recall 1; past that the exact scan grows linearly (10k x 1536: 2.5 ms).
 * - probes 16: recall@1 at 100k x 384 on diffuse clusters (member-centre
 *   cosine ~0.55) is 0.955 / 0.985 / 0.990 / 1.000 at 4 / 8 / 16 / 32
 *   probes; on the main data set 4 already gives 1.000. 16 is the smallest
 *   with >= 0.99 on both; each doubling roughly doubles the query cost.
 * - maxListRows 256: ~160 rows per list on average after splits; a list
 *   scan is one kernel call over contiguous rows, and splitting one costs
 *   ~1 ms at 1,536 dimensions. Build: 45 us (384) to 77 us (1,536) per
 *   upsert at 100k, one at a time.
 */
export const DEFAULT_TUNING: SearchTuning = {
  maxListRows: 256,
  probes: 16,
  exactMaxFloats: 2_000_000,
};

/**
 * Score 1 means identical (FAILURES C3: a threshold of 1 is "exact
 * duplicates only"). A kernel score at or above NEAR_ONE may be an identical
 * vector, so it is checked element by element: identical scores exactly 1,
 * anything else at most NEAR_ONE. A caller that allows for rounding with a
 * slack below 1e-5 (`minScore: 1 - 1e-6`) still gets identical vectors only.
 */
const NEAR_ONE = 1 - 1e-5;

export interface LocalVectorIndexOptions {
  /** Vectors held at most, over all namespaces; the oldest written is evicted. */
  readonly maxVectors: number;
  readonly tuning?: Partial<SearchTuning>;
  /** false forces the JavaScript kernel (tests, and runtimes without WebAssembly SIMD). */
  readonly simd?: boolean;
}

export interface Evicted {
  readonly namespace: string;
  readonly id: string;
}

/**
 * The in-process vector index behind `memoryVectorIndex` and
 * `redisVectorIndex`: namespaces of unit vectors in one heap, bounded by
 * count with the oldest written evicted. Synchronous: the adapters wrap it.
 * Vectors passed in must already be unit length (see `unitVector`).
 */
export class LocalVectorIndex {
  readonly heap: VectorHeap;
  readonly maxVectors: number;
  readonly tuning: SearchTuning;
  #namespaces = new Map<string, NamespaceIndex>();
  readonly #order = new WriteOrder();
  #seq = 0;
  #size = 0;
  #evicted = 0;
  /** Namespaces created so far: seeds each one's splits, so that runs are reproducible. */
  #created = 0;

  constructor(options: LocalVectorIndexOptions) {
    this.maxVectors = options.maxVectors;
    this.tuning = { ...DEFAULT_TUNING, ...options.tuning };
    this.heap = new VectorHeap(options.simd === undefined ? {} : { simd: options.simd });
  }

  /** Vectors held. */
  get size(): number {
    return this.#size;
  }

  /** Vectors evicted so far to stay within `maxVectors`. */
  get evicted(): number {
    return this.#evicted;
  }

  namespaces(): string[] {
    return [...this.#namespaces.keys()];
  }

  /**
   * Inserts or replaces a vector, then evicts the oldest written while over
   * the bound; returns what it evicted. Rewriting an identical vector only
   * marks it as the newest.
   */
  upsert(namespace: string, id: string, unit: Float32Array): Evicted[] {
    let index = this.#namespaces.get(namespace);
    if (!index) {
      index = this.#createNamespace(namespace, unit.length);
    } else {
      this.#checkDims(index, namespace, unit.length, "vector");
    }
    const seq = ++this.#seq;
    const existing = index.slotOf.get(id);
    if (existing !== undefined && index.rowEquals(existing, unit)) {
      index.seqOf[existing] = seq;
      this.#order.push(index, existing, seq);
    } else {
      if (existing !== undefined) {
        index.remove(existing);
        this.#size--;
      }
      this.#order.push(index, index.insert(id, unit, seq), seq);
      this.#size++;
    }
    const evicted: Evicted[] = [];
    while (this.#size > this.maxVectors) {
      const oldest = this.#order.shift();
      if (!oldest) break;
      const { namespace: victim, slot } = oldest;
      evicted.push({ namespace: victim.name, id: victim.ids[slot]! });
      this.#removeSlot(victim, slot);
      this.#evicted++;
    }
    this.#order.compact(this.#size);
    return evicted;
  }

  /** Throws what `upsert` would throw for this namespace and these dimensions, changing nothing. */
  checkWrite(namespace: string, dims: number): void {
    const index = this.#namespaces.get(namespace);
    if (index) this.#checkDims(index, namespace, dims, "vector");
    else this.#checkCapacity(dims);
  }

  /** Removes vectors by id; returns how many existed. */
  delete(namespace: string, ids: readonly string[]): number {
    const index = this.#namespaces.get(namespace);
    if (!index) return 0;
    let removed = 0;
    for (const id of ids) {
      const slot = index.slotOf.get(id);
      if (slot === undefined) continue;
      this.#removeSlot(index, slot);
      removed++;
    }
    return removed;
  }

  /** Removes one namespace; returns how many vectors it held. */
  dropNamespace(namespace: string): number {
    const index = this.#namespaces.get(namespace);
    if (!index) return 0;
    const held = index.size;
    this.#namespaces.delete(namespace);
    this.#size -= held;
    index.release();
    return held;
  }

  /** Removes every namespace starting with `prefix`; returns how many vectors they held. */
  deleteNamespaces(prefix: string): number {
    let removed = 0;
    for (const namespace of this.namespaces()) {
      if (namespace.startsWith(prefix)) removed += this.dropNamespace(namespace);
    }
    return removed;
  }

  clear(): void {
    for (const namespace of this.namespaces()) this.dropNamespace(namespace);
    this.#order.clear();
  }

  /** A copy of the stored (unit) vector, or undefined. */
  get(namespace: string, id: string): Float32Array | undefined {
    const index = this.#namespaces.get(namespace);
    const slot = index?.slotOf.get(id);
    return slot === undefined ? undefined : index!.row(slot);
  }

  /**
   * The `topK` vectors of `namespace` scoring at least `minScore` against
   * `unit`, best first (equal scores by id). A score is 1 only for a vector
   * identical to the query, so `minScore` 1 returns exact duplicates only.
   * `probes` overrides the tuning for this query (`Infinity`: exact search).
   */
  query(
    namespace: string,
    unit: Float32Array,
    topK: number,
    minScore: number,
    probes: number = this.tuning.probes,
  ): VectorMatch[] {
    checkQuery(topK, minScore);
    const index = this.#namespaces.get(namespace);
    if (!index || topK === 0) return [];
    this.#checkDims(index, namespace, unit.length, "query vector");
    const hits = index.search(unit, topK, Math.min(minScore, NEAR_ONE), probes);
    const matches: VectorMatch[] = [];
    for (const { item: slot, score: raw } of hits) {
      let score = Math.max(raw, -1);
      if (score >= NEAR_ONE) score = index.rowEquals(slot, unit) ? 1 : NEAR_ONE;
      if (score >= minScore) matches.push({ id: index.ids[slot]!, score });
    }
    return matches.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Figures for the bench and for a host's metrics. */
  stats(): { vectors: number; namespaces: number; lists: number; heapUsedBytes: number; heapBytes: number } {
    let lists = 0;
    for (const index of this.#namespaces.values()) lists += index.listCount;
    return {
      vectors: this.#size,
      namespaces: this.#namespaces.size,
      lists,
      heapUsedBytes: this.heap.usedBytes,
      heapBytes: this.heap.reservedBytes,
    };
  }

  #createNamespace(namespace: string, dims: number): NamespaceIndex {
    this.#checkCapacity(dims);
    const index = new NamespaceIndex(this.heap, namespace, dims, this.tuning, ++this.#created);
    this.#namespaces.set(namespace, index);
    return index;
  }

  /** Refuses dimensions that `maxVectors` rows could never fit in one heap, rather than failing later. */
  #checkCapacity(dims: number): void {
    const rowBytes = Math.ceil(dims / STRIDE_GRANULE) * STRIDE_GRANULE * 4;
    // Rows, plus list slack (capacities grow by half) and the centroids.
    const worst = this.maxVectors * rowBytes * 1.6;
    if (worst <= MAX_HEAP_BYTES) return;
    const issue = `vector: ${dims} dimensions x maxVectors ${this.maxVectors} needs up to ${Math.ceil(worst / 2 ** 30)} GiB; one index holds at most 4 GiB (lower maxVectors)`;
    throw new InvalidRequestError(issue, [issue]);
  }

  #removeSlot(index: NamespaceIndex, slot: number): void {
    index.remove(slot);
    this.#size--;
    if (index.size === 0) {
      // An empty namespace gives its memory back (and no longer fixes the dimensions).
      this.#namespaces.delete(index.name);
      index.release();
    }
  }

  #checkDims(index: NamespaceIndex, namespace: string, dims: number, field: string): void {
    if (dims === index.dims) return;
    const issue = `${field}: namespace ${JSON.stringify(namespace)} holds ${index.dims}-dimension vectors, got ${dims}`;
    throw new InvalidRequestError(issue, [issue]);
  }
}

/** Validates query parameters: a threshold outside [-1, 1] is a plumbing mistake, never "unset" (FAILURES C3). */
export function checkQuery(topK: number, minScore: number): void {
  if (!Number.isInteger(topK) || topK < 0) {
    const issue = `topK: expected an integer >= 0, got ${topK}`;
    throw new InvalidRequestError(issue, [issue]);
  }
  if (typeof minScore !== "number" || !(minScore >= -1 && minScore <= 1)) {
    const issue = `minScore: expected a cosine similarity in [-1, 1] (1 = identical vectors only), got ${minScore}`;
    throw new InvalidRequestError(issue, [issue]);
  }
}
