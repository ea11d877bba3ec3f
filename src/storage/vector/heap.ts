import { FrugalError } from "../../core/errors.js";
import { createKernel, createMemory, type Kernel, type LinearMemory } from "./kernel.js";

/** Blocks start on a cache line, so every row is 64-byte aligned for the v128 loads. */
const ALIGN = 64;
const PAGE = 65_536;
/** A wasm32 memory addresses at most 4 GiB (65,536 pages). */
export const MAX_HEAP_BYTES = 65_536 * PAGE;

/**
 * The linear memory that holds every row of one index (all namespaces), so
 * that the SIMD kernel can read them, with a small allocator: blocks are
 * reused by exact size (lists grow through a fixed ladder of capacities, so
 * sizes recur) and the memory grows in place; it never shrinks, but every
 * freed block is reused, and the index bounds what it holds.
 */
export class VectorHeap {
  readonly memory: LinearMemory;
  readonly kernel: Kernel;
  /** A view of the whole memory; replaced when the memory grows (read it after any allocation). */
  f32: Float32Array;
  #top = ALIGN; // offset 0 is never handed out
  #used = 0;
  readonly #free = new Map<number, number[]>();
  #scratch = 0;
  #scratchBytes = 0;

  constructor(options: { simd?: boolean } = {}) {
    this.memory = createMemory(16, MAX_HEAP_BYTES / PAGE);
    this.kernel = createKernel(this.memory, options);
    this.f32 = new Float32Array(this.memory.buffer);
  }

  /** Bytes in live blocks. */
  get usedBytes(): number {
    return this.#used;
  }

  /** Bytes the memory has grown to (what the process holds, at most, for this index). */
  get reservedBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** A block of at least `bytes`, 64-byte aligned. Its content is whatever was there before. */
  alloc(bytes: number): number {
    const size = roundUp(bytes);
    this.#used += size;
    const reused = this.#free.get(size)?.pop();
    if (reused !== undefined) return reused;
    const ptr = this.#top;
    const end = ptr + size;
    if (end > this.memory.buffer.byteLength) this.#grow(end);
    this.#top = end;
    return ptr;
  }

  free(ptr: number, bytes: number): void {
    const size = roundUp(bytes);
    this.#used -= size;
    if (ptr + size === this.#top) {
      this.#top = ptr; // the topmost block goes back to the bump pointer
      return;
    }
    const list = this.#free.get(size);
    if (list) list.push(ptr);
    else this.#free.set(size, [ptr]);
  }

  /** Moves `bytes` from `src` to `dst` (overlap allowed). Both multiples of 4. */
  copy(dst: number, src: number, bytes: number): void {
    this.f32.copyWithin(dst >> 2, src >> 2, (src + bytes) >> 2);
  }

  /**
   * A block of at least `bytes` for one operation's temporary data (the query,
   * the kernel's scores). One per heap: a caller must not hold it across a
   * call that may use it too.
   */
  scratch(bytes: number): number {
    if (bytes > this.#scratchBytes) {
      if (this.#scratchBytes > 0) this.free(this.#scratch, this.#scratchBytes);
      this.#scratchBytes = roundUp(Math.max(bytes, this.#scratchBytes * 2, 4_096));
      this.#scratch = this.alloc(this.#scratchBytes);
    }
    return this.#scratch;
  }

  #grow(end: number): void {
    const current = this.memory.buffer.byteLength;
    // Grow by a quarter at least, so that a growing index does not grow page by page.
    const wanted = Math.min(MAX_HEAP_BYTES, Math.max(end, current + Math.ceil(current / 4)));
    try {
      this.memory.grow(Math.ceil((wanted - current) / PAGE));
    } catch (cause) {
      throw new FrugalError(
        `vector index: out of memory growing to ${Math.ceil(end / 2 ** 20)} MiB (the limit is 4 GiB per index; lower maxVectors)`,
        { cause },
      );
    }
    this.f32 = new Float32Array(this.memory.buffer);
  }
}

function roundUp(bytes: number): number {
  return Math.ceil(Math.max(bytes, 1) / ALIGN) * ALIGN;
}
