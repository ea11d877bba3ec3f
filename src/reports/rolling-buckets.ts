/**
 * Integer sums of a few figures per fixed-length time bucket, over a bounded
 * span: at most `retain` buckets are kept, older ones are dropped, and a
 * running total of the kept buckets makes a "whole span" sum O(1). Figures
 * are integers (nano-dollars, counts) so adding and removing never drifts.
 */
export class RollingBuckets {
  private readonly buckets = new Map<number, number[]>();
  private readonly totals: number[];
  private oldest = Number.POSITIVE_INFINITY;
  private newest = Number.NEGATIVE_INFINITY;
  /** The first bucket ever written: how far back the observed history reaches. */
  private first = Number.POSITIVE_INFINITY;

  constructor(
    readonly bucketMs: number,
    readonly retain: number,
    private readonly fields: number,
  ) {
    this.totals = new Array<number>(fields).fill(0);
  }

  /** The bucket index of an instant. */
  index(ms: number): number {
    return Math.floor(ms / this.bucketMs);
  }

  /**
   * Adds `values` at time `ms`, seen at `now`. A time after `now` (clock skew)
   * counts as `now`; a time too old for any kept bucket is dropped.
   */
  add(ms: number, now: number, values: readonly number[]): void {
    const current = this.index(now);
    const at = Number.isFinite(ms) ? Math.min(this.index(ms), current) : current;
    this.prune(current);
    if (at <= current - this.retain) return;
    let bucket = this.buckets.get(at);
    if (!bucket) {
      bucket = new Array<number>(this.fields).fill(0);
      this.buckets.set(at, bucket);
      if (at < this.oldest) this.oldest = at;
      if (at > this.newest) this.newest = at;
      if (at < this.first) this.first = at;
    }
    for (let i = 0; i < this.fields; i++) {
      const v = values[i] ?? 0;
      bucket[i]! += v;
      this.totals[i]! += v;
    }
  }

  /** Drops the buckets that fall out of the span ending at bucket `current`. */
  prune(current: number): void {
    const floor = current - this.retain + 1;
    if (this.first < floor) this.first = floor;
    if (this.oldest >= floor) return;
    this.oldest = Number.POSITIVE_INFINITY;
    for (const [at, bucket] of this.buckets) {
      if (at < floor) {
        this.buckets.delete(at);
        for (let i = 0; i < this.fields; i++) this.totals[i]! -= bucket[i]!;
      } else if (at < this.oldest) this.oldest = at;
    }
    if (this.buckets.size === 0) this.newest = Number.NEGATIVE_INFINITY;
  }

  /** Sums of the buckets from index `from` on (those after `current` included). */
  sumFrom(from: number): number[] {
    const sums = new Array<number>(this.fields).fill(0);
    if (this.newest - from + 1 > this.buckets.size) {
      for (const [at, bucket] of this.buckets) if (at >= from) addInto(sums, bucket);
    } else {
      for (let at = from; at <= this.newest; at++) {
        const bucket = this.buckets.get(at);
        if (bucket) addInto(sums, bucket);
      }
    }
    return sums;
  }

  /** Sums of every kept bucket. */
  total(): number[] {
    return [...this.totals];
  }

  /** The earliest bucket of observed history still in the span; `Infinity` before any record. */
  firstIndex(): number {
    return this.first;
  }

  get size(): number {
    return this.buckets.size;
  }
}

function addInto(sums: number[], bucket: readonly number[]): void {
  for (let i = 0; i < sums.length; i++) sums[i]! += bucket[i]!;
}
