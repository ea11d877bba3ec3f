import type { NamespaceIndex } from "./namespace-index.js";

/**
 * Every row of an index in the order it was written, across namespaces, so
 * that the bound evicts the oldest in O(1). Entries are never removed in the
 * middle: a deleted, rewritten or dropped row leaves a stale entry (its
 * slot's write number no longer matches) that is skipped when reached, and
 * the queue is compacted once stale entries outnumber live ones.
 */
export class WriteOrder {
  #namespaces: NamespaceIndex[] = [];
  #slots: number[] = [];
  #seqs: number[] = [];
  #head = 0;

  get length(): number {
    return this.#slots.length - this.#head;
  }

  push(namespace: NamespaceIndex, slot: number, seq: number): void {
    this.#namespaces.push(namespace);
    this.#slots.push(slot);
    this.#seqs.push(seq);
  }

  /** Removes and returns the oldest entry still live, or undefined when none is. */
  shift(): { namespace: NamespaceIndex; slot: number } | undefined {
    while (this.#head < this.#slots.length) {
      const i = this.#head++;
      const namespace = this.#namespaces[i]!;
      const slot = this.#slots[i]!;
      if (isLive(namespace, slot, this.#seqs[i]!)) {
        this.#trimHead();
        return { namespace, slot };
      }
    }
    this.clear();
    return undefined;
  }

  /** Drops stale entries when they are more than half the queue (call after writes). */
  compact(live: number): void {
    if (this.length < 2 * live + 1_024) return;
    const namespaces: NamespaceIndex[] = [];
    const slots: number[] = [];
    const seqs: number[] = [];
    for (let i = this.#head; i < this.#slots.length; i++) {
      const namespace = this.#namespaces[i]!;
      const slot = this.#slots[i]!;
      const seq = this.#seqs[i]!;
      if (!isLive(namespace, slot, seq)) continue;
      namespaces.push(namespace);
      slots.push(slot);
      seqs.push(seq);
    }
    this.#namespaces = namespaces;
    this.#slots = slots;
    this.#seqs = seqs;
    this.#head = 0;
  }

  clear(): void {
    this.#namespaces = [];
    this.#slots = [];
    this.#seqs = [];
    this.#head = 0;
  }

  /** Releases the consumed front once it is a large part of the arrays. */
  #trimHead(): void {
    if (this.#head < 1_024 || this.#head * 2 < this.#slots.length) return;
    this.#namespaces = this.#namespaces.slice(this.#head);
    this.#slots = this.#slots.slice(this.#head);
    this.#seqs = this.#seqs.slice(this.#head);
    this.#head = 0;
  }
}

function isLive(namespace: NamespaceIndex, slot: number, seq: number): boolean {
  return !namespace.dropped && namespace.seqOf[slot] === seq;
}
