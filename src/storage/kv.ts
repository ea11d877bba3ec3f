/**
 * A key-value store with TTL: what the exact cache, the semantic cache's
 * entries and the stampede locks use. Values are strings (callers serialize);
 * keys are opaque strings the caller builds, already scoped by tenant.
 * Implementations: memory (bounded), Redis (shared by every instance).
 */
export interface KeyValueStore {
  readonly name: string;
  get(key: string): Promise<string | undefined>;
  /** Stores `value`; `ttlMs` > 0 expires it (undefined: no expiry). */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Stores only when the key is absent (a lock); true when this call stored it. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Removes the keys; resolves with how many existed. */
  delete(...keys: string[]): Promise<number>;
  /**
   * Removes every key that starts with `prefix` (a purge by tenant), in
   * bounded batches; resolves with how many were removed.
   */
  deletePrefix(prefix: string): Promise<number>;
}

/** A TTL in whole milliseconds; 0, negative, NaN and Infinity are refused, never read as "no expiry". */
export function checkTtl(ttlMs: number, store: string): number {
  if (typeof ttlMs !== "number" || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`${store}: ttlMs must be a positive, finite number of milliseconds (got ${ttlMs})`);
  }
  return Math.ceil(ttlMs);
}
