import { LRUCache } from "lru-cache";

/** How often a prefix came back: gaps between its sightings, counted by length. */
export interface Reuse {
  /** Gaps of at most five minutes (a 5-minute cache entry would still have been there). */
  within5m: number;
  /** Gaps of at most an hour (five-minute ones included). */
  within1h: number;
  /** Every gap counted, so `total - within1h` came back after more than an hour. */
  total: number;
}

export const NO_REUSE: Reuse = Object.freeze({ within5m: 0, within1h: 0, total: 0 });

const FIVE_MINUTES = 5 * 60_000;
const ONE_HOUR = 60 * 60_000;
/** Sightings kept per prefix: enough to tell a habit from a coincidence, small enough to bound memory. */
const SIGHTINGS_KEPT = 16;

interface Entry {
  times: number[];
  lastRequest: string;
  /** What `observe` answered for `lastRequest`, so a second look by the same request sees the same. */
  answered: Reuse;
}

/**
 * A bounded, in-process memory of when each prefix (by hash) was last sent:
 * the evidence behind the TTL and the "does this breakpoint pay" decisions.
 * Bounded by count (least recently used prefixes are forgotten first) and by
 * sightings per prefix.
 */
export class PrefixHistory {
  readonly #entries: LRUCache<string, Entry>;

  constructor(maxPrefixes: number) {
    this.#entries = new LRUCache({ max: maxPrefixes });
  }

  /**
   * Records that request `requestId` sends the prefix `hash` at `now`, and
   * returns how the prefix came back before this sighting. Idempotent per
   * request: a second call for the same request records nothing and answers
   * the same, so placing breakpoints twice gives the same result as once.
   */
  observe(hash: string, now: number, requestId: string): Reuse {
    const entry = this.#entries.get(hash);
    if (!entry) {
      this.#entries.set(hash, { times: [now], lastRequest: requestId, answered: NO_REUSE });
      return NO_REUSE;
    }
    if (entry.lastRequest === requestId) return entry.answered;
    const answered = reuseOf(entry.times, now);
    entry.times.push(now);
    if (entry.times.length > SIGHTINGS_KEPT) entry.times.shift();
    entry.lastRequest = requestId;
    entry.answered = answered;
    return answered;
  }

  get size(): number {
    return this.#entries.size;
  }
}

function reuseOf(times: readonly number[], now: number): Reuse {
  let within5m = 0;
  let within1h = 0;
  for (let i = 0; i < times.length; i++) {
    // A clock that steps back (a test clock, NTP) counts as no gap at all.
    const gap = Math.max(0, (times[i + 1] ?? now) - times[i]!);
    if (gap <= FIVE_MINUTES) within5m++;
    if (gap <= ONE_HOUR) within1h++;
  }
  return { within5m, within1h, total: times.length };
}

/**
 * Expected reads of one write that lives `ttl`: with `p` the chance that the
 * prefix comes back before the entry expires (smoothed with `prior` as one
 * pseudo-sighting, so a prefix never seen has `p = prior`), each read renews
 * the entry, so the reads form a geometric chain: `p / (1 - p)`.
 */
export function expectedReads(reuse: Reuse, ttl: "5m" | "1h", prior: number): number {
  const hits = ttl === "1h" ? reuse.within1h : reuse.within5m;
  const p = (hits + prior) / (reuse.total + 1);
  return Math.min(p / (1 - p), MAX_EXPECTED_READS);
}

/** A cap so that a prefix seen every second does not promise infinite reads. */
const MAX_EXPECTED_READS = 100;

/**
 * Whether the evidence favours the one-hour TTL: more of the prefix's
 * returns came after five minutes (when a 5-minute entry is gone) than
 * within them.
 */
export function favoursOneHour(reuse: Reuse): boolean {
  return reuse.within1h - reuse.within5m > reuse.within5m;
}
