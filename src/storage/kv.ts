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
