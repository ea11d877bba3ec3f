import { bisect } from "./bisect.js";
import type { VectorHeap } from "./heap.js";
import { STRIDE_GRANULE } from "./kernel.js";
import { TopK } from "./top-k.js";

export interface SearchTuning {
  /** Rows per list at most; a full list splits in two. */
  readonly maxListRows: number;
  /** Lists scanned per query once the namespace is past `exactMaxFloats`. */
  readonly probes: number;
  /** While rows x dimensions stays at or below this, every list is scanned: the search is exact. */
  readonly exactMaxFloats: number;
}

interface List {
  /** Byte offset of row 0 in the heap; rows are contiguous, `stride` floats each. */
  ptr: number;
  capacity: number;
  size: number;
  /** The slot of the row at each position. */
  slots: Int32Array;
}

/**
 * The vectors of one namespace: an inverted file (IVF) whose lists hold the
 * rows themselves, contiguous in the heap, and are scored exactly by the
 * kernel. A namespace starts as one list; a list that fills up splits in two
 * (`bisect`), so the coarse clustering grows with the data at a small,
 * bounded cost per insert. A query scans every list while the namespace is
 * small (exact search), then only the `probes` lists whose centroids are
 * nearest the query (approximate search, measured in bench/vector-index.ts).
 *
 * Slots are stable handles for rows: a deleted slot is reused, and a row
 * moves within or between lists without its slot changing.
 */
export class NamespaceIndex {
  readonly stride: number;
  readonly rowBytes: number;
  size = 0;
  /** Set when the namespace was dropped: its slots are gone, whatever still points at them. */
  dropped = false;
  readonly slotOf = new Map<string, number>();
  ids: (string | undefined)[] = [];
  /** Write order of each slot's row (0: free); the eviction queue checks it. */
  seqOf = new Float64Array(16);
  #listOf = new Int32Array(16);
  #posOf = new Int32Array(16);
  readonly #freeSlots: number[] = [];
  readonly #lists: List[] = [];
  /** Unit centroid of each list, contiguous (row i is list i's); unused while there is one list. */
  #centroids = 0;
  #centroidCapacity = 0;
  #random: () => number;

  constructor(
    private readonly heap: VectorHeap,
    readonly dims: number,
    private readonly tuning: SearchTuning,
    seed: number,
  ) {
    this.stride = Math.ceil(dims / STRIDE_GRANULE) * STRIDE_GRANULE;
    this.rowBytes = this.stride * 4;
    this.#random = mulberry32(seed);
  }

  get listCount(): number {
    return this.#lists.length;
  }

  /** Adds a row for an id not present. `vector` is unit length, `dims` long. */
  insert(id: string, vector: Float32Array, seq: number): number {
    const slot = this.#freeSlots.pop() ?? this.ids.length;
    if (slot >= this.seqOf.length) this.#growSlots();
    this.ids[slot] = id;
    this.slotOf.set(id, slot);
    this.seqOf[slot] = seq;
    for (;;) {
      const list = this.#nearestList(vector);
      if (this.#lists[list]!.size < this.tuning.maxListRows) {
        this.#append(list, slot, vector);
        break;
      }
      this.#split(list);
    }
    this.size++;
    return slot;
  }

  /** Removes the row in `slot`. */
  remove(slot: number): void {
    const listIndex = this.#listOf[slot]!;
    const list = this.#lists[listIndex]!;
    const pos = this.#posOf[slot]!;
    const last = list.size - 1;
    if (pos !== last) {
      // Swap-remove: the last row takes the hole, so the list stays contiguous.
      this.heap.copy(list.ptr + pos * this.rowBytes, list.ptr + last * this.rowBytes, this.rowBytes);
      const moved = list.slots[last]!;
      list.slots[pos] = moved;
      this.#posOf[moved] = pos;
    }
    list.size--;
    if (list.size === 0 && this.#lists.length > 1) this.#removeList(listIndex);
    else if (list.capacity > 16 && list.size <= list.capacity >> 2)
      this.#resize(list, this.#capacityFor(list.size * 2));
    this.slotOf.delete(this.ids[slot]!);
    this.ids[slot] = undefined;
    this.seqOf[slot] = 0;
    this.#freeSlots.push(slot);
    this.size--;
  }

  /** True when the stored row of `slot` is exactly `vector` (bit for bit, as floats). */
  rowEquals(slot: number, vector: Float32Array): boolean {
    const f32 = this.heap.f32;
    const row = this.#rowPtr(slot) >> 2;
    for (let i = 0; i < this.dims; i++) if (f32[row + i] !== vector[i]) return false;
    return true;
  }

  /** A copy of the stored row of `slot`. */
  row(slot: number): Float32Array {
    const row = this.#rowPtr(slot) >> 2;
    return this.heap.f32.slice(row, row + this.dims);
  }

  /**
   * The `topK` best rows scoring at least `floor`, best first, as slots and
   * kernel scores. `exact` scans every list whatever the size.
   */
  search(
    query: Float32Array,
    topK: number,
    floor: number,
    exact: boolean,
  ): { item: number; score: number }[] {
    const lists = this.#lists;
    const scratch = this.#stage(query, Math.max(this.tuning.maxListRows, lists.length));
    const out = (scratch + this.rowBytes) >> 2;
    let chosen: number[];
    if (exact || lists.length <= this.tuning.probes || this.size * this.dims <= this.tuning.exactMaxFloats) {
      chosen = lists.map((_, i) => i);
    } else {
      this.heap.kernel.scores(scratch, this.#centroids, lists.length, this.stride, out << 2);
      const nearest = new TopK(this.tuning.probes);
      const f32 = this.heap.f32;
      for (let i = 0; i < lists.length; i++) nearest.push(f32[out + i]!, i);
      chosen = nearest.sorted().map((p) => p.item);
    }
    const top = new TopK(topK);
    for (const index of chosen) {
      const list = lists[index]!;
      if (list.size === 0) continue;
      this.heap.kernel.scores(scratch, list.ptr, list.size, this.stride, out << 2);
      const f32 = this.heap.f32;
      const slots = list.slots;
      for (let j = 0; j < list.size; j++) {
        const score = f32[out + j]!;
        if (score >= floor && score > top.floor) top.push(score, slots[j]!);
      }
    }
    return top.sorted();
  }

  /** Returns every block to the heap. The index must not be used afterwards. */
  release(): void {
    for (const list of this.#lists) this.heap.free(list.ptr, list.capacity * this.rowBytes);
    this.#lists.length = 0;
    if (this.#centroidCapacity > 0) this.heap.free(this.#centroids, this.#centroidCapacity * this.rowBytes);
    this.#centroidCapacity = 0;
    this.dropped = true;
  }

  /** Writes `vector` (zero-padded) at the start of the scratch block, with room for `scores` floats after it. */
  #stage(vector: Float32Array, scores: number): number {
    const scratch = this.heap.scratch(this.rowBytes + scores * 4);
    const f32 = this.heap.f32;
    f32.set(vector, scratch >> 2);
    f32.fill(0, (scratch >> 2) + this.dims, (scratch >> 2) + this.stride);
    return scratch;
  }

  #nearestList(vector: Float32Array): number {
    const lists = this.#lists;
    if (lists.length === 0) {
      this.#lists.push(this.#newList(1));
      return 0;
    }
    if (lists.length === 1) return 0;
    const scratch = this.#stage(vector, lists.length);
    const out = scratch + this.rowBytes;
    this.heap.kernel.scores(scratch, this.#centroids, lists.length, this.stride, out);
    const f32 = this.heap.f32;
    let best = 0;
    for (let i = 1, o = out >> 2; i < lists.length; i++) if (f32[o + i]! > f32[o + best]!) best = i;
    return best;
  }

  #append(listIndex: number, slot: number, vector: Float32Array): void {
    const list = this.#lists[listIndex]!;
    if (list.size === list.capacity) this.#resize(list, this.#capacityFor(list.size + 1));
    const pos = list.size++;
    const row = (list.ptr + pos * this.rowBytes) >> 2;
    const f32 = this.heap.f32;
    f32.set(vector, row);
    f32.fill(0, row + this.dims, row + this.stride);
    list.slots[pos] = slot;
    this.#listOf[slot] = listIndex;
    this.#posOf[slot] = pos;
  }

  /** Replaces list `index` by two lists (it keeps one half, the other is appended). */
  #split(index: number): void {
    const list = this.#lists[index]!;
    const { side, centroids } = bisect(this.heap, list.ptr, list.size, this.stride, this.#random);
    const halves = [0, 1].map((s) => {
      let count = 0;
      for (let j = 0; j < list.size; j++) if (side[j] === s) count++;
      return this.#newList(this.#capacityFor(count + 1));
    }) as [List, List];
    const added = this.#lists.length;
    for (let j = 0; j < list.size; j++) {
      const half = halves[side[j]!]!;
      const slot = list.slots[j]!;
      const pos = half.size++;
      this.heap.copy(half.ptr + pos * this.rowBytes, list.ptr + j * this.rowBytes, this.rowBytes);
      half.slots[pos] = slot;
      this.#listOf[slot] = side[j] === 0 ? index : added;
      this.#posOf[slot] = pos;
    }
    this.heap.free(list.ptr, list.capacity * this.rowBytes);
    this.#lists[index] = halves[0];
    this.#lists.push(halves[1]);
    this.#ensureCentroids(this.#lists.length);
    this.heap.f32.set(centroids[0], (this.#centroids + index * this.rowBytes) >> 2);
    this.heap.f32.set(centroids[1], (this.#centroids + added * this.rowBytes) >> 2);
  }

  /** Drops an empty list: the last list takes its index (and centroid). */
  #removeList(index: number): void {
    const lists = this.#lists;
    this.heap.free(lists[index]!.ptr, lists[index]!.capacity * this.rowBytes);
    const last = lists.length - 1;
    if (index !== last) {
      const moved = lists[last]!;
      lists[index] = moved;
      this.heap.copy(
        this.#centroids + index * this.rowBytes,
        this.#centroids + last * this.rowBytes,
        this.rowBytes,
      );
      for (let j = 0; j < moved.size; j++) this.#listOf[moved.slots[j]!] = index;
    }
    lists.pop();
  }

  #newList(capacity: number): List {
    return {
      ptr: this.heap.alloc(capacity * this.rowBytes),
      capacity,
      size: 0,
      slots: new Int32Array(capacity),
    };
  }

  #resize(list: List, capacity: number): void {
    const ptr = this.heap.alloc(capacity * this.rowBytes);
    this.heap.copy(ptr, list.ptr, list.size * this.rowBytes);
    this.heap.free(list.ptr, list.capacity * this.rowBytes);
    const slots = new Int32Array(capacity);
    slots.set(list.slots.subarray(0, list.size));
    list.ptr = ptr;
    list.capacity = capacity;
    list.slots = slots;
  }

  #ensureCentroids(count: number): void {
    if (count <= this.#centroidCapacity) return;
    const capacity = Math.max(16, this.#centroidCapacity * 2, count);
    const ptr = this.heap.alloc(capacity * this.rowBytes);
    if (this.#centroidCapacity > 0) {
      this.heap.copy(ptr, this.#centroids, this.#centroidCapacity * this.rowBytes);
      this.heap.free(this.#centroids, this.#centroidCapacity * this.rowBytes);
    }
    this.#centroids = ptr;
    this.#centroidCapacity = capacity;
  }

  #capacityFor(rows: number): number {
    return Math.min(capacityFor(rows), Math.max(rows, this.tuning.maxListRows));
  }

  #rowPtr(slot: number): number {
    return this.#lists[this.#listOf[slot]!]!.ptr + this.#posOf[slot]! * this.rowBytes;
  }

  #growSlots(): void {
    const length = this.seqOf.length * 2;
    const grow = <T extends Int32Array | Float64Array>(from: T, to: T): T => {
      to.set(from as never);
      return to;
    };
    this.seqOf = grow(this.seqOf, new Float64Array(length));
    this.#listOf = grow(this.#listOf, new Int32Array(length));
    this.#posOf = grow(this.#posOf, new Int32Array(length));
  }
}

/**
 * List capacities, in rows: powers of two up to 16, then steps of a quarter
 * rounded up to 16 rows. Few distinct sizes, so freed blocks get reused; at
 * most ~25% slack once a list is past 16 rows.
 */
function capacityFor(rows: number): number {
  if (rows <= 16) return 2 ** Math.ceil(Math.log2(Math.max(rows, 1)));
  let capacity = 16;
  while (capacity < rows) capacity = Math.ceil((capacity * 1.25) / 16) * 16;
  return capacity;
}

/** A small, fast, seeded generator: splits are reproducible from run to run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
