import type { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/core/errors.js";
import { memoryCounters } from "../../src/storage/index.js";
import type { SpendWindow } from "../../src/storage/memory/counters.js";
import { redisCounters } from "../../src/storage/redis/index.js";
import { redisAvailable, redisClient, requireOrSkip, uniqueName } from "../services.js";
import { CONTRACT_SCOPE, countersContract } from "./counters-contract.js";

const redisUp = requireOrSkip("Redis", await redisAvailable());
const DAY: SpendWindow = { id: "day:2025-03-09", limitMicros: 1_000_000, ttlMs: 120_000 };
const NOW = Date.now();

countersContract("memory", () => memoryCounters());

describe("memoryCounters", () => {
  it("forgets the least recently used scope beyond maxScopes", async () => {
    const counters = memoryCounters({ maxScopes: 2 });
    await counters.settle("a", [DAY], "1", 1_000_000, NOW);
    await counters.settle("b", [DAY], "2", 1_000_000, NOW);
    await counters.settle("c", [DAY], "3", 1_000_000, NOW);
    expect(counters.stats().scopes).toBe(2);
    expect((await counters.status("a", [DAY], NOW)).settledMicros).toEqual([0]);
    expect((await counters.status("c", [DAY], NOW)).settledMicros).toEqual([1_000_000]);
  });

  it("refuses bad options, naming the option", () => {
    expect(() => memoryCounters({ maxScopes: 0 })).toThrow(ConfigError);
    expect(() => memoryCounters({ maxScopes: Number.POSITIVE_INFINITY })).toThrow(/options\.maxScopes/);
    expect(() => memoryCounters({ dedupeMs: -1 })).toThrow(/options\.dedupeMs/);
    expect(() => memoryCounters({ ttl: 1 } as never)).toThrow(/ttl/);
  });
});

describe.skipIf(!redisUp)("with Redis", () => {
  const client = redisUp ? redisClient() : undefined;
  const run = uniqueName(CONTRACT_SCOPE);
  afterAll(async () => {
    if (!client) return;
    await sweep(client, `*${run}*`);
    await sweep(client, `*${CONTRACT_SCOPE}_${process.pid}_*`);
    await client.quit();
  });

  countersContract("redis", () => redisCounters({ client: client! }));
  countersContract("redis with a keyPrefix", () =>
    redisCounters({ client: client!, keyPrefix: `${run}:p:` }),
  );

  it("keeps every key of a scope under one hash tag (one Cluster slot per script), with expiries", async () => {
    const counters = redisCounters({ client: client!, keyPrefix: `${run}:tags:` });
    const scope = "tenant:acme%7Bx%7D";
    await counters.reserve(scope, [DAY], { id: "h1", amountMicros: 10, ttlMs: 5_000 }, NOW);
    await counters.settle(scope, [DAY], "h0", 20, NOW);
    const keys = await scan(client!, `${run}:tags:*`);
    expect(keys.sort()).toEqual(
      ["held", "holds", "settled", `w:${DAY.id}`].map((k) => `${run}:tags:{frugal:budget:${scope}}:${k}`),
    );
    for (const key of keys) {
      const pttl = await client!.pttl(key);
      expect(pttl, key).toBeGreaterThan(0);
      expect(pttl, key).toBeLessThanOrEqual(3_600_000);
    }
    expect(await client!.hget(`${run}:tags:{frugal:budget:${scope}}:w:${DAY.id}`, "s")).toBe("20");
    await expect(
      counters.reserve("a{b}", [DAY], { id: "x", amountMicros: 1, ttlMs: 1 }, NOW),
    ).rejects.toThrow(/may not hold/);
  });

  it("makes one round trip per reserve and per settle", async () => {
    const counters = redisCounters({ client: client!, keyPrefix: `${run}:trips:` });
    await counters.status("warm", [DAY], NOW); // loads the scripts
    await counters.reserve("warm", [DAY], { id: "w", amountMicros: 1, ttlMs: 5_000 }, NOW);
    await counters.settle("warm", [DAY], "w", 1, NOW);
    const sent = countCommands(client!);
    await counters.reserve(
      "tenant:t",
      [DAY, { ...DAY, id: "month:2025-03" }],
      { id: "a", amountMicros: 5, ttlMs: 5_000 },
      NOW,
    );
    expect(sent.count()).toBe(1);
    await counters.settle("tenant:t", [DAY, { ...DAY, id: "month:2025-03" }], "a", 3, NOW);
    expect(sent.count()).toBe(2);
    sent.restore();
  });

  it("B2: after a Redis restart forgets its scripts (SCRIPT FLUSH), operations load them again and go on", async () => {
    const counters = redisCounters({ client: client!, keyPrefix: `${run}:restart:` });
    await counters.reserve("s", [DAY], { id: "before", amountMicros: 400_000, ttlMs: 60_000 }, NOW);
    await client!.script("FLUSH");
    expect(
      (await counters.reserve("s", [DAY], { id: "after", amountMicros: 600_001, ttlMs: 60_000 }, NOW)).ok,
    ).toBe(false);
    await client!.script("FLUSH");
    expect(await counters.settle("s", [DAY], "before", 100_000, NOW)).toBe(true);
    await client!.script("FLUSH");
    expect(await counters.status("s", [DAY], NOW)).toEqual({ settledMicros: [100_000], heldMicros: 0 });
  });

  it("two connections (two processes' worth) share one limit atomically", async () => {
    const other = redisClient();
    try {
      const a = redisCounters({ client: client!, keyPrefix: `${run}:shared:` });
      const b = redisCounters({ client: other, keyPrefix: `${run}:shared:` });
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          (i % 2 ? a : b).reserve(
            "tenant:x",
            [DAY],
            { id: `r${i}`, amountMicros: 100_000, ttlMs: 60_000 },
            NOW,
          ),
        ),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(10);
    } finally {
      await other.quit();
    }
  });

  it("refuses fractional amounts and bad options", async () => {
    const counters = redisCounters({ client: client!, keyPrefix: `${run}:bad:` });
    await expect(counters.settle("s", [DAY], "f", 1.5, NOW)).rejects.toThrow(RangeError);
    expect(() => redisCounters({ client: {} as never })).toThrow(/options\.client/);
    expect(() => redisCounters({ client: client!, dedupeMs: 0 })).toThrow(/options\.dedupeMs/);
  });

  it("rejects every operation when the connection is gone", async () => {
    const gone = redisClient();
    await gone.quit();
    const counters = redisCounters({ client: gone });
    await expect(
      counters.reserve("s", [DAY], { id: "x", amountMicros: 1, ttlMs: 1_000 }, NOW),
    ).rejects.toThrow();
    await expect(counters.settle("s", [DAY], "x", 1, NOW)).rejects.toThrow();
    await expect(counters.status("s", [DAY], NOW)).rejects.toThrow();
  });
});

/** Counts the commands a client sends (each is one round trip here: nothing is pipelined). */
function countCommands(client: Redis): { count(): number; restore(): void } {
  const original = client.sendCommand.bind(client);
  let sent = 0;
  client.sendCommand = ((...args: Parameters<Redis["sendCommand"]>) => {
    sent++;
    return original(...args);
  }) as Redis["sendCommand"];
  return {
    count: () => sent,
    restore: () => {
      client.sendCommand = original;
    },
  };
}

async function scan(node: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1_000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== "0");
  return found;
}

async function sweep(node: Redis, pattern: string): Promise<void> {
  for (const key of await scan(node, pattern)) await node.unlink(key);
}
