import { LRUCache } from "lru-cache";
import { z } from "zod";
import { parseOptions } from "../../core/options.js";
import { checkTtl, type KeyValueStore } from "../kv.js";

export interface MemoryKvOptions {
  /**
   * How many entries to hold. When full, the least recently used entry (read
   * or written longest ago) is evicted. Default 10,000; must be a positive
   * integer (`Infinity` is refused: a cache that can grow without bound is a
   * leak). lru-cache allocates its index for this many entries up front.
   */
  maxEntries?: number;
  /**
   * How many bytes the keys and values may take, counted as UTF-16: two bytes
   * per string unit of the key plus the value. When a write would exceed it,
   * the least recently used entries are evicted; a single entry larger than
   * `maxBytes` is not stored at all. Default 67,108,864 (64 MiB); must be a
   * positive integer.
   */
  maxBytes?: number;
}

/** An in-process key-value store: the embedded default of the caches and their locks. */
export interface MemoryKv extends KeyValueStore {
  /** What the store holds now, expired entries excluded. */
  stats(): { entries: number; bytes: number };
}

const DEFAULTS = { maxEntries: 10_000, maxBytes: 64 * 1024 * 1024 };

const optionsSchema = z
  .object({
    maxEntries: z.number().int().positive().default(DEFAULTS.maxEntries),
    maxBytes: z.number().int().positive().default(DEFAULTS.maxBytes),
  })
  .strict()
  .default(DEFAULTS);

/**
 * Creates a key-value store in this process, bounded by entry count and by
 * size, with a TTL per entry. `setIfAbsent` is atomic within the process
 * (the check and the write happen in one synchronous step), so it serves as
 * a stampede lock among the requests of one instance; use `redisKv` to share
 * locks and entries between instances. `deletePrefix` scans every key: a
 * purge costs O(entries).
 *
 * @example
 * const kv = memoryKv({ maxEntries: 5_000, maxBytes: 16 * 1024 * 1024 });
 * await kv.set(scopedKey("exact", "acme", hash), JSON.stringify(completion), 3_600_000);
 * await kv.deletePrefix(tenantPrefix("exact", "acme")); // purge one tenant
 * kv.stats(); // { entries, bytes }
 */
export function memoryKv(options?: MemoryKvOptions): MemoryKv {
  const { maxEntries, maxBytes } = parseOptions(optionsSchema, options, "memoryKv");
  const cache = new LRUCache<string, string>({
    max: maxEntries,
    maxSize: maxBytes,
    // lru-cache refuses a size of 0, which an empty key with an empty value would have.
    sizeCalculation: (value, key) => Math.max(1, 2 * (key.length + value.length)),
  });

  return {
    name: "memory",
    async get(key) {
      return cache.get(key);
    },
    async set(key, value, ttlMs) {
      // ttl 0 is lru-cache's "no expiry": an explicit undefined says the same without ambiguity.
      cache.set(key, value, { ttl: ttlMs === undefined ? 0 : checkTtl(ttlMs, "memoryKv") });
    },
    async setIfAbsent(key, value, ttlMs) {
      const ttl = checkTtl(ttlMs, "memoryKv");
      if (cache.has(key)) return false;
      cache.set(key, value, { ttl });
      // A value larger than maxBytes is silently not stored by lru-cache: then this call did not win.
      return cache.has(key);
    },
    async delete(...keys) {
      let removed = 0;
      for (const key of keys) {
        // `has` is false for an expired entry: like Redis, an expired key does not count as removed.
        if (cache.has(key)) removed++;
        cache.delete(key);
      }
      return removed;
    },
    async deletePrefix(prefix) {
      // Collect first: deleting while iterating lru-cache's linked list would skip entries.
      const matching: string[] = [];
      for (const key of cache.keys()) if (key.startsWith(prefix)) matching.push(key);
      for (const key of matching) cache.delete(key);
      return matching.length;
    },
    stats() {
      cache.purgeStale();
      return { entries: cache.size, bytes: cache.calculatedSize };
    },
  };
}
