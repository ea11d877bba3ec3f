/**
 * The `k` best (score, item) pairs seen, without sorting everything: a binary
 * min-heap of size k, so a pass over n scores costs O(n log k) at worst and
 * O(n) once the heap is full and most scores fall below its floor.
 */
export class TopK {
  readonly #scores: Float64Array;
  readonly #items: Int32Array;
  #size = 0;

  constructor(readonly k: number) {
    this.#scores = new Float64Array(k);
    this.#items = new Int32Array(k);
  }

  /** Empties the heap for reuse; returns it. */
  clear(): this {
    this.#size = 0;
    return this;
  }

  get size(): number {
    return this.#size;
  }

  /** The score a new pair must beat to enter: the worst kept when full, else -Infinity. */
  get floor(): number {
    return this.#size === this.k ? this.#scores[0]! : Number.NEGATIVE_INFINITY;
  }

  push(score: number, item: number): void {
    const scores = this.#scores;
    const items = this.#items;
    if (this.#size < this.k) {
      // sift up
      let i = this.#size++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (scores[parent]! <= score) break;
        scores[i] = scores[parent]!;
        items[i] = items[parent]!;
        i = parent;
      }
      scores[i] = score;
      items[i] = item;
      return;
    }
    if (this.k === 0 || score <= scores[0]!) return;
    // replace the root, sift down
    const n = this.#size;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && scores[right]! < scores[left]! ? right : left;
      if (scores[child]! >= score) break;
      scores[i] = scores[child]!;
      items[i] = items[child]!;
      i = child;
    }
    scores[i] = score;
    items[i] = item;
  }

  /** The item at heap position `i` (< size), in no particular order: no allocation. */
  itemAt(i: number): number {
    return this.#items[i]!;
  }

  /** The kept pairs, best first. */
  sorted(): { item: number; score: number }[] {
    const out: { item: number; score: number }[] = [];
    for (let i = 0; i < this.#size; i++) out.push({ item: this.#items[i]!, score: this.#scores[i]! });
    return out.sort((a, b) => b.score - a.score);
  }
}
