/**
 * Money is summed as integer nano-dollars, never as floating-point USD:
 * adding a million $0.0000001 costs as floats drifts away from $0.1, while
 * adding a million 100-nano-dollar integers is exact. Integers stay exact up
 * to 2^53 nano-dollars (about $9 million) per sum; a figure is converted back
 * to USD once, when the sum is done. Sub-nano-dollar fractions of a single
 * figure are rounded away.
 */
export function toNanoUsd(usd: number): number {
  return Math.round(usd * 1e9);
}

/** The USD value of a nano-dollar sum. */
export function fromNanoUsd(nano: number): number {
  return nano / 1e9;
}
