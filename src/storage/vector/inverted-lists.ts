import { bisect } from "./bisect.js";
import type { VectorHeap } from "./heap.js";
import { STRIDE_GRANULE } from "./kernel.js";
import { TopK } from "./top-k.js";

/** Centroids re-scored in full after the prefix pass that places a row (see `nearest`). */
const PREFILTER_CANDIDATES = 16;

interface List {
  /** Byte offset of row 0 in the heap; rows are contiguous, `stride` floats each. */
  ptr: number;
  capacity: number;
  size: number;
  /** The slot of the row at each position. */
  slots: Int32Array;
  /** Sum of the rows: the centroid is the running mean direction of what the list holds now. */
  sum: Float64Array;
  /** Rows added or removed since the centroid was last written. */
  changes: number;
}

/**
 * The storage of an inverted file: lists of rows, each contiguous in the
 * heap so the kernel scores a list in one call, and the unit centroid of
 * each list (its running mean direction) in one contiguous matrix. Rows are
 * known by slot; `listOf` / `posOf` say where a slot's row is, and rows move
 * (swap-remove, splits, moves between lists) without their slot changing.
 */
export class InvertedLists {
  readonly stride: number;
  readonly rowBytes: number;
  readonly lists: List[] = [];
  listOf = new Int32Array(16);
  posOf = new Int32Array(16);
  /** Byte offset of the centroid matrix (row i is list i's); meaningful once there are two lists. */
  centroids = 0;
  #centroidCapacity = 0;
  /** Floats of the centroid prefix scored first when placing a row. */
  readonly #prefix: number;
  readonly #candidates = new TopK(PREFILTER_CANDIDATES);

  constructor(
    readonly heap: VectorHeap,
    readonly dims: number,
    readonly maxListRows: number,
  ) {
    this.stride = Math.ceil(dims / STRIDE_GRANULE) * STRIDE_GRANULE;
    this.rowBytes = this.stride * 4;
    this.#prefix = Math.max(128, Math.ceil(this.stride / 6 / STRIDE_GRANULE) * STRIDE_GRANULE);
  }

  /** Makes room for slot numbers below `slots`. */
  reserveSlots(slots: number): void {
    if (slots <= this.listOf.length) return;
    const length = Math.max(slots, this.listOf.length * 2);
    const listOf = new Int32Array(length);
    const posOf = new Int32Array(length);
    listOf.set(this.listOf);
    posOf.set(this.posOf);
    this.listOf = listOf;
    this.posOf = posOf;
  }

  /** Byte offset of the row of `slot`. */
  rowPtr(slot: number): number {
    return this.lists[this.listOf[slot]!]!.ptr + this.posOf[slot]! * this.rowBytes;
  }

  /**
   * Writes `vector` (zero-padded to the stride) at the start of the scratch
   * block, with room for `scores` floats after it; returns its byte offset.
   */
  stage(vector: Float32Array, scores: number): number {
    const scratch = this.heap.scratch(this.rowBytes + scores * 4);
    const f32 = this.heap.f32;
    f32.set(vector, scratch >> 2);
    f32.fill(0, (scratch >> 2) + this.dims, (scratch >> 2) + this.stride);
    return scratch;
  }

  /**
   * The list whose centroid is nearest `vector` (or the row of a slot). With many lists, a prefix
   * of every centroid is scored first and only the best few in full: placing
   * a row then costs about a sixth of a full pass over the centroids, and
   * the final choice is still made on full dot products.
   */
  nearest(vector: Float32Array | number): number {
    const lists = this.lists;
    if (lists.length === 0) lists.push(this.#newList(1));
    if (lists.length === 1) return 0;
    let scratch: number;
    if (typeof vector === "number") {
      // A stored row (by slot): copied within the heap, padding included.
      scratch = this.heap.scratch(this.rowBytes + lists.length * 4);
      this.heap.copy(scratch, this.rowPtr(vector), this.rowBytes);
    } else {
      scratch = this.stage(vector, lists.length);
    }
    const out = scratch + this.rowBytes;
    const kernel = this.heap.kernel;
    if (lists.length <= 4 * PREFILTER_CANDIDATES || this.#prefix * 2 > this.stride) {
      kernel.scores(scratch, this.centroids, lists.length, this.stride, this.stride, out);
      const f32 = this.heap.f32;
      let best = 0;
      for (let i = 1, o = out >> 2; i < lists.length; i++) if (f32[o + i]! > f32[o + best]!) best = i;
      return best;
    }
    kernel.scores(scratch, this.centroids, lists.length, this.#prefix, this.stride, out);
    const candidates = this.#candidates.clear();
    let f32 = this.heap.f32;
    for (let i = 0, o = out >> 2; i < lists.length; i++) {
      const score = f32[o + i]!;
      if (score > candidates.floor) candidates.push(score, i);
    }
    let best = 0;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < candidates.size; k++) {
      const item = candidates.itemAt(k);
      kernel.scores(scratch, this.centroids + item * this.rowBytes, 1, this.stride, this.stride, out);
      f32 = this.heap.f32;
      if (f32[out >> 2]! > bestScore) {
        bestScore = f32[out >> 2]!;
        best = item;
      }
    }
    return best;
  }

  /** Appends `vector` as the row of `slot` to list `index`, which must have fewer than `maxListRows` rows. */
  append(index: number, slot: number, vector: Float32Array): void {
    const list = this.lists[index]!;
    if (list.size === list.capacity) this.#resize(list, this.#capacityFor(list.size + 1));
    const pos = list.size++;
    const row = (list.ptr + pos * this.rowBytes) >> 2;
    const f32 = this.heap.f32;
    f32.set(vector, row);
    f32.fill(0, row + this.dims, row + this.stride);
    list.slots[pos] = slot;
    this.listOf[slot] = index;
    this.posOf[slot] = pos;
    const sum = list.sum;
    for (let i = 0; i < this.dims; i++) sum[i]! += vector[i]!;
    this.#touch(index);
  }

  /** Takes the row of `slot` out of its list; an emptied list is dropped (unless it is the only one). */
  detach(slot: number): void {
    const index = this.listOf[slot]!;
    const list = this.lists[index]!;
    const pos = this.posOf[slot]!;
    const last = list.size - 1;
    const f32 = this.heap.f32;
    const row = (list.ptr + pos * this.rowBytes) >> 2;
    for (let i = 0; i < this.dims; i++) list.sum[i]! -= f32[row + i]!;
    if (pos !== last) {
      // Swap-remove: the last row takes the hole, so the list stays contiguous.
      this.heap.copy(list.ptr + pos * this.rowBytes, list.ptr + last * this.rowBytes, this.rowBytes);
      const moved = list.slots[last]!;
      list.slots[pos] = moved;
      this.posOf[moved] = pos;
    }
    list.size--;
    if (list.size === 0 && this.lists.length > 1) {
      this.#removeList(index);
      return;
    }
    this.#touch(index);
    if (list.capacity > 16 && list.size <= list.capacity >> 2)
      this.#resize(list, this.#capacityFor(list.size * 2));
  }

  /** Moves the row of `slot` to list `target` (which has room); false when that would empty its list. */
  move(slot: number, target: number): boolean {
    if (this.lists[this.listOf[slot]!]!.size <= 1 || this.lists[target]!.size >= this.maxListRows)
      return false;
    const row = this.rowPtr(slot) >> 2;
    const vector = this.heap.f32.slice(row, row + this.dims);
    this.detach(slot);
    this.append(target, slot, vector);
    return true;
  }

  /** Splits list `index` in two (`bisect`): it keeps one half, the other is appended; returns the new list's index. */
  split(index: number, random: () => number): number {
    const list = this.lists[index]!;
    const { side, sums } = bisect(this.heap, list.ptr, list.size, this.stride, this.dims, list.sum, random);
    const halves = [0, 1].map((s) => {
      let count = 0;
      for (let j = 0; j < list.size; j++) if (side[j] === s) count++;
      return this.#newList(this.#capacityFor(count + 1));
    }) as [List, List];
    const added = this.lists.length;
    for (let j = 0; j < list.size; j++) {
      const half = halves[side[j]!]!;
      const slot = list.slots[j]!;
      const pos = half.size++;
      this.heap.copy(half.ptr + pos * this.rowBytes, list.ptr + j * this.rowBytes, this.rowBytes);
      half.slots[pos] = slot;
      this.listOf[slot] = side[j] === 0 ? index : added;
      this.posOf[slot] = pos;
    }
    halves[0].sum = sums[0];
    halves[1].sum = sums[1];
    this.heap.free(list.ptr, list.capacity * this.rowBytes);
    this.lists[index] = halves[0];
    this.lists.push(halves[1]);
    this.#ensureCentroids(this.lists.length);
    this.#writeCentroid(index);
    this.#writeCentroid(added);
    return added;
  }

  /** Each row's score against its own list's centroid (one kernel pass). */
  ownScores(index: number): Float32Array {
    const list = this.lists[index]!;
    const scratch = this.heap.scratch(this.rowBytes + list.size * 4);
    this.heap.copy(scratch, this.centroids + index * this.rowBytes, this.rowBytes);
    const out = scratch + this.rowBytes;
    this.heap.kernel.scores(scratch, list.ptr, list.size, this.stride, this.stride, out);
    return this.heap.f32.slice(out >> 2, (out >> 2) + list.size);
  }

  /** Returns every block to the heap. */
  release(): void {
    for (const list of this.lists) this.heap.free(list.ptr, list.capacity * this.rowBytes);
    this.lists.length = 0;
    if (this.#centroidCapacity > 0) this.heap.free(this.centroids, this.#centroidCapacity * this.rowBytes);
    this.#centroidCapacity = 0;
  }

  /**
   * Counts a change to list `index` and rewrites its centroid once the rows
   * changed since the last write are a sixteenth of the list: one row moves
   * the mean direction of 100 by ~1%, and renormalizing on every insert
   * was a tenth of the build time at 1,536 dimensions.
   */
  #touch(index: number): void {
    const list = this.lists[index]!;
    if (++list.changes * 16 >= list.size) this.#writeCentroid(index);
  }

  /** Writes list `index`'s unit mean direction into the centroid matrix (while there are several lists). */
  #writeCentroid(index: number): void {
    if (this.lists.length < 2) return;
    const list = this.lists[index]!;
    list.changes = 0;
    const sum = list.sum;
    let norm = 0;
    for (let i = 0; i < this.dims; i++) norm += sum[i]! * sum[i]!;
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    const f32 = this.heap.f32;
    const row = (this.centroids + index * this.rowBytes) >> 2;
    for (let i = 0; i < this.dims; i++) f32[row + i] = sum[i]! * scale;
    f32.fill(0, row + this.dims, row + this.stride);
  }

  /** Drops an empty list: the last list takes its index (and centroid). */
  #removeList(index: number): void {
    const lists = this.lists;
    this.heap.free(lists[index]!.ptr, lists[index]!.capacity * this.rowBytes);
    const last = lists.length - 1;
    if (index !== last) {
      const moved = lists[last]!;
      lists[index] = moved;
      this.heap.copy(
        this.centroids + index * this.rowBytes,
        this.centroids + last * this.rowBytes,
        this.rowBytes,
      );
      for (let j = 0; j < moved.size; j++) this.listOf[moved.slots[j]!] = index;
    }
    lists.pop();
  }

  #newList(capacity: number): List {
    const ptr = this.heap.alloc(capacity * this.rowBytes);
    return {
      ptr,
      capacity,
      size: 0,
      slots: new Int32Array(capacity),
      sum: new Float64Array(this.dims),
      changes: 0,
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
      this.heap.copy(ptr, this.centroids, this.#centroidCapacity * this.rowBytes);
      this.heap.free(this.centroids, this.#centroidCapacity * this.rowBytes);
    }
    this.centroids = ptr;
    this.#centroidCapacity = capacity;
  }

  /**
   * List capacities, in rows: powers of two up to 16, then steps of a half
   * rounded up to 16 rows (16, 32, 48, 80, 128, 192...), capped at the list
   * bound. Few distinct sizes, so freed blocks get reused, and a growing
   * list is copied a few times, not once per row.
   */
  #capacityFor(rows: number): number {
    let capacity = 2 ** Math.ceil(Math.log2(Math.max(rows, 1)));
    if (capacity > 16) {
      capacity = 16;
      while (capacity < rows) capacity = Math.ceil((capacity * 1.5) / 16) * 16;
    }
    return Math.min(capacity, Math.max(rows, this.maxListRows));
  }
}
