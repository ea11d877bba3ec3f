import { setTimeout as sleep } from "node:timers/promises";
import { Cluster, Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { scopedKey, tenantPrefix } from "../../src/caching/scope.js";
import { ConfigError } from "../../src/core/errors.js";
import { memoryKv } from "../../src/storage/index.js";
import { redisKv } from "../../src/storage/redis/index.js";
import { redisAvailable, redisClient, redisUrl, requireOrSkip, uniqueName } from "../services.js";
import { CONTRACT_NAMESPACE, kvContract } from "./contract.js";

const redisUp = requireOrSkip("Redis", await redisAvailable());
/**
 * Optional: a Redis Cluster seed such as `redis://127.0.0.1:7000` runs the contract against a
 * Cluster too. It is not one of the required services, so without it the suite is only skipped.
 */
const clusterUrl = process.env.REDIS_CLUSTER_URL;
if (!clusterUrl) console.info("[services] REDIS_CLUSTER_URL unset: skipping the Redis Cluster kv suite");

/** Every key this file writes contains this, so afterAll can sweep what a failed test left. */
const run = uniqueName(CONTRACT_NAMESPACE);

kvContract("memory", async () => ({ store: memoryKv(), dispose: async () => {} }));

describe("memoryKv", () => {
  it("evicts the oldest entry beyond maxEntries, and a read makes an entry recent", async () => {
    const kv = memoryKv({ maxEntries: 3 });
    for (const k of ["k1", "k2", "k3", "k4"]) await kv.set(k, "v");
    expect(await kv.get("k1")).toBeUndefined();
    expect(kv.stats().entries).toBe(3);

    await kv.get("k2");
    await kv.set("k5", "v");
    expect(await kv.get("k2")).toBe("v");
    expect(await kv.get("k3")).toBeUndefined();
  });

  it("evicts the oldest entries to stay within maxBytes, counting keys and values as UTF-16", async () => {
    const kv = memoryKv({ maxBytes: 1_000 });
    const value = "v".repeat(98); // with a 2-character key: 200 bytes
    for (let i = 0; i < 5; i++) await kv.set(`k${i}`, value);
    expect(kv.stats()).toEqual({ entries: 5, bytes: 1_000 });

    await kv.set("k5", value);
    expect(await kv.get("k0")).toBeUndefined();
    expect(await kv.get("k5")).toBe(value);
    expect(kv.stats()).toEqual({ entries: 5, bytes: 1_000 });

    await kv.set("k6", "é".repeat(298)); // 600 bytes: three older entries make room
    expect(kv.stats()).toEqual({ entries: 3, bytes: 1_000 });
    expect(await kv.get("k3")).toBeUndefined();
    expect(await kv.get("k4")).toBe(value);
  });

  it("does not store a single entry larger than maxBytes, and drops the value it would replace", async () => {
    const kv = memoryKv({ maxBytes: 1_000 });
    await kv.set("k", "small");
    await kv.set("k", "x".repeat(600));
    expect(await kv.get("k")).toBeUndefined();
    expect(await kv.setIfAbsent("lock", "x".repeat(600), 60_000)).toBe(false);
    expect(await kv.get("lock")).toBeUndefined();
    expect(kv.stats()).toEqual({ entries: 0, bytes: 0 });
  });

  it("leaves expired entries out of its stats", async () => {
    const kv = memoryKv();
    await kv.set("brief", "v", 50);
    await kv.set("kept", "v");
    await sleep(150);
    expect(kv.stats()).toEqual({ entries: 1, bytes: 2 * "keptv".length });
  });

  it("purges every key with an empty prefix, and stores do not share entries", async () => {
    const one = memoryKv();
    const two = memoryKv();
    await one.set(scopedKey("exact", "a", "1"), "v");
    await one.set(scopedKey("lock", "b", "1"), "v");
    await two.set(scopedKey("exact", "a", "1"), "other");
    expect(await one.deletePrefix("")).toBe(2);
    expect(one.stats().entries).toBe(0);
    expect(await two.get(scopedKey("exact", "a", "1"))).toBe("other");
  });

  it("refuses bad bounds and unknown options, naming the option", () => {
    expect(() => memoryKv({ maxEntries: 0 })).toThrow(ConfigError);
    expect(() => memoryKv({ maxEntries: 0 })).toThrow(/options\.maxEntries/);
    expect(() => memoryKv({ maxEntries: 1.5 })).toThrow(/options\.maxEntries/);
    expect(() => memoryKv({ maxEntries: Number.POSITIVE_INFINITY })).toThrow(/options\.maxEntries/);
    expect(() => memoryKv({ maxBytes: -1 })).toThrow(/options\.maxBytes/);
    expect(() => memoryKv({ maxBytes: Number.POSITIVE_INFINITY })).toThrow(/options\.maxBytes/);
    expect(() => memoryKv({ maxByte: 10 } as never)).toThrow(/maxByte/);
    expect(memoryKv().name).toBe("memory");
  });
});

describe.skipIf(!redisUp)("with Redis", () => {
  const client = redisUp ? redisClient() : undefined;
  const prefixed = redisUp
    ? new Redis(redisUrl, { keyPrefix: `${run}:client:`, maxRetriesPerRequest: 1, connectTimeout: 2_000 })
    : undefined;
  afterAll(async () => {
    if (!client) return;
    await sweep(client, `*${run}*`);
    await sweep(client, `*${CONTRACT_NAMESPACE}_${process.pid}_*`);
    await Promise.all([client.quit(), prefixed?.quit()]);
  });

  kvContract("redis", async () => ({ store: redisKv({ client: client! }), dispose: async () => {} }));

  kvContract("redis with a keyPrefix holding glob characters", async () => {
    const store = redisKv({ client: client!, keyPrefix: `${uniqueName(run)}:[x]*?\\:` });
    return { store, dispose: async () => void (await store.deletePrefix("")) };
  });

  kvContract("redis over a client with its own ioredis keyPrefix", async () => ({
    store: redisKv({ client: prefixed!, keyPrefix: "kv:" }),
    dispose: async () => {},
  }));

  describe("redisKv", () => {
    it("isolates two stores with different key prefixes, purges included", async () => {
      const one = redisKv({ client: client!, keyPrefix: `${run}:one:` });
      const two = redisKv({ client: client!, keyPrefix: `${run}:two:` });
      const key = scopedKey("exact", "acme", "q");
      await one.set(key, "from one");
      await two.set(key, "from two");
      expect(await one.get(key)).toBe("from one");
      expect(await two.get(key)).toBe("from two");
      expect(await one.setIfAbsent(scopedKey("lock", "acme", "q"), "1", 60_000)).toBe(true);
      expect(await two.setIfAbsent(scopedKey("lock", "acme", "q"), "2", 60_000)).toBe(true);

      expect(await one.deletePrefix(tenantPrefix("exact", "acme"))).toBe(1);
      expect(await one.get(key)).toBeUndefined();
      expect(await two.get(key)).toBe("from two");
      expect(await one.deletePrefix("")).toBe(1); // the lock: everything of `one`, nothing of `two`
      expect(await two.get(scopedKey("lock", "acme", "q"))).toBe("2");
      expect(await two.deletePrefix("")).toBe(2);
    });

    it("shares entries and locks between two connections, as between two instances of a service", async () => {
      const other = redisClient();
      try {
        const keyPrefix = `${run}:shared:`;
        const here = redisKv({ client: client!, keyPrefix });
        const there = redisKv({ client: other, keyPrefix });
        const key = scopedKey("exact", "acme", "q");
        await here.set(key, "answer", 60_000);
        expect(await there.get(key)).toBe("answer");

        const lock = scopedKey("lock", "acme", "q");
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => (i % 2 ? here : there).setIfAbsent(lock, `${i}`, 60_000)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await there.delete(key, lock)).toBe(2);
        expect(await here.get(key)).toBeUndefined();
      } finally {
        await other.quit();
      }
    });

    it("stores under keyPrefix + key with the TTL in milliseconds, rounded up", async () => {
      const keyPrefix = `${run}:raw:`;
      const kv = redisKv({ client: client!, keyPrefix });
      await kv.set("ttl", "v", 59_999.2);
      await kv.set("forever", "v");
      expect(await client!.get(`${keyPrefix}ttl`)).toBe("v");
      const pttl = await client!.pttl(`${keyPrefix}ttl`);
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(60_000);
      expect(await client!.pttl(`${keyPrefix}forever`)).toBe(-1);
      await kv.deletePrefix("");
    });

    it("rejects when Redis answers an error, instead of reporting a miss", async () => {
      const keyPrefix = `${run}:errors:`;
      const kv = redisKv({ client: client!, keyPrefix });
      await client!.hset(`${keyPrefix}hash`, "field", "v");
      await expect(kv.get("hash")).rejects.toThrow(/WRONGTYPE/);
      await kv.delete("hash");
    });

    it("rejects every operation when the connection is gone", async () => {
      const gone = redisClient();
      await gone.quit();
      const kv = redisKv({ client: gone, keyPrefix: `${run}:gone:` });
      await expect(kv.get("k")).rejects.toThrow();
      await expect(kv.set("k", "v", 1_000)).rejects.toThrow();
      await expect(kv.setIfAbsent("k", "v", 1_000)).rejects.toThrow();
      await expect(kv.delete("k")).rejects.toThrow();
      await expect(kv.deletePrefix("p")).rejects.toThrow();
    });

    it("refuses to purge the whole database when it has no keyPrefix", async () => {
      const kv = redisKv({ client: client! });
      await expect(kv.deletePrefix("")).rejects.toThrow(/every key of the database/);
    });

    it("leaves the host's connection open", async () => {
      const kv = redisKv({ client: client!, keyPrefix: `${run}:open:` });
      await kv.set("k", "v");
      await kv.deletePrefix("");
      expect(client!.status).toBe("ready");
      expect(kv.name).toBe("redis");
    });

    it("refuses a missing client or a bad keyPrefix, naming the option", () => {
      expect(() => redisKv({ client: {} as never })).toThrow(ConfigError);
      expect(() => redisKv({ client: {} as never })).toThrow(/options\.client/);
      expect(() => redisKv({ client: client!, keyPrefix: 1 as never })).toThrow(/options\.keyPrefix/);
      expect(() => redisKv({ client: client!, prefix: "x" } as never)).toThrow(/prefix/);
    });
  });
});

describe.skipIf(!clusterUrl)("with Redis Cluster", () => {
  const cluster = clusterUrl
    ? new Cluster([clusterUrl], { redisOptions: { maxRetriesPerRequest: 1, connectTimeout: 2_000 } })
    : undefined;
  afterAll(async () => {
    if (!cluster) return;
    for (const node of cluster.nodes("master")) await sweep(node, `*${CONTRACT_NAMESPACE}_${process.pid}_*`);
    await cluster.quit();
  });

  kvContract("redis cluster", async () => ({
    store: redisKv({ client: cluster! }),
    dispose: async () => {},
  }));

  it("purges keys held by every master", async () => {
    const kv = redisKv({ client: cluster!, keyPrefix: `${run}:` });
    const tenants = Array.from({ length: 30 }, (_, i) => `tenant-${i}`);
    await Promise.all(tenants.map((t) => kv.set(scopedKey("exact", t, "q"), "v")));
    const holders = await Promise.all(cluster!.nodes("master").map((node) => node.dbsize()));
    expect(holders.filter((n) => n > 0).length).toBeGreaterThan(1);
    expect(await kv.deletePrefix("exact:")).toBe(tenants.length);
    expect(await kv.deletePrefix("")).toBe(0);
  });
});

/** Deletes every key matching `pattern` on one server: the safety net behind each test's own cleanup. */
async function sweep(node: Redis, pattern: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1_000);
    cursor = next;
    // Keys come back as stored; a client without keyPrefix sends them unchanged.
    for (const key of keys) await node.unlink(key);
  } while (cursor !== "0");
}
