/**
 * Counts over a sliding time window, kept in a fixed ring of buckets so that
 * memory does not grow with traffic. Each bucket spans `windowMs / buckets`;
 * a count leaves the window between `windowMs - windowMs / buckets` and
 * `windowMs` after it was added (the window slides a bucket at a time).
 * Several counters (`fields`) share one ring: calls, failures, slow calls.
 */
export class SlidingWindow {
  readonly #bucketMs: number;
  readonly #buckets: number;
  readonly #fields: number;
  /** The bucket period (`floor(now / bucketMs)`) each slot currently holds. */
  readonly #periods: Float64Array;
  /** `slot * fields + field`. */
  readonly #counts: Float64Array;

  constructor(windowMs: number, fields: number, buckets = 10) {
    this.#buckets = buckets;
    this.#fields = fields;
    this.#bucketMs = windowMs / buckets;
    this.#periods = new Float64Array(buckets).fill(Number.NEGATIVE_INFINITY);
    this.#counts = new Float64Array(buckets * fields);
  }

  /** Adds `n` to counter `field` at time `now` (ms). */
  add(now: number, field: number, n = 1): void {
    const period = Math.floor(now / this.#bucketMs);
    const slot = ((period % this.#buckets) + this.#buckets) % this.#buckets;
    if (this.#periods[slot] !== period) {
      this.#periods[slot] = period;
      this.#counts.fill(0, slot * this.#fields, (slot + 1) * this.#fields);
    }
    this.#counts[slot * this.#fields + field]! += n;
  }

  /** Every counter summed over the window that ends at `now`. */
  totals(now: number): number[] {
    const period = Math.floor(now / this.#bucketMs);
    const totals = new Array<number>(this.#fields).fill(0);
    for (let slot = 0; slot < this.#buckets; slot++) {
      const p = this.#periods[slot]!;
      if (p > period - this.#buckets && p <= period) {
        for (let f = 0; f < this.#fields; f++) totals[f]! += this.#counts[slot * this.#fields + f]!;
      }
    }
    return totals;
  }

  /** Forgets every count. */
  clear(): void {
    this.#periods.fill(Number.NEGATIVE_INFINITY);
    this.#counts.fill(0);
  }
}
