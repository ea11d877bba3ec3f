import type { Cluster, Redis } from "ioredis";
import { z } from "zod";
import { parseOptions } from "../../core/options.js";
import { checkTtl, type KeyValueStore } from "../kv.js";

export interface RedisKvOptions {
  /**
   * The host's ioredis client (`Redis` or `Cluster`). The store never
   * connects, quits or disconnects it. A `keyPrefix` set on the client itself
   * is honoured too, `deletePrefix` included.
   */
  client: Redis | Cluster;
  /**
   * Prepended to every key, so that several stores (or several services) can
   * share one database without seeing each other's keys. Default `""`. Glob
   * characters are allowed: `deletePrefix` escapes them. On Redis Cluster,
   * leave hash tags (`{...}`) out of it: the first `{...}` of a key picks its
   * slot, so a tag here would pin every tenant to one slot instead of the
   * per-tenant tag that the key design (`<prefix>:{<tenant>}:<rest>`) gives.
   */
  keyPrefix?: string;
}

const optionsSchema = z
  .object({
    client: z.custom<Redis | Cluster>(
      (c) => typeof (c as Redis)?.set === "function" && typeof (c as Redis)?.scan === "function",
      "expected an ioredis client (new Redis(...) or new Cluster(...))",
    ),
    keyPrefix: z.string().default(""),
  })
  .strict();

/** Keys asked of each SCAN call and deleted per batch: bounded replies, so a purge never stalls the server. */
const BATCH = 500;

/**
 * Creates a key-value store over the host's Redis, shared by every instance
 * of a service: `GET`, `SET ... PX ttl`, `SET ... PX ttl NX` (a lock that
 * expires if its holder dies) and `UNLINK` (freed off the main thread).
 *
 * `deletePrefix` walks the keyspace with `SCAN MATCH <escaped prefix>* COUNT 500`
 * and unlinks each batch as it goes; it never uses `KEYS`. It is not a
 * snapshot: a key written during the purge may survive it. On a Cluster it
 * scans every master, because SCAN only sees the keys of the node it runs
 * on; a tenant's keys share one slot (the `{tenant}` hash tag), so every
 * other command touches a single slot.
 *
 * Errors from Redis (down, timeout, wrong type) reject the returned promise:
 * the caches decide what an outage means (a miss, never a failed LLM call).
 *
 * @example
 * import { Redis } from "ioredis";
 * const kv = redisKv({ client: new Redis(process.env.REDIS_URL), keyPrefix: "myapp:" });
 * const won = await kv.setIfAbsent(scopedKey("lock", "acme", hash), requestId, 30_000);
 * await kv.deletePrefix(tenantPrefix("exact", "acme")); // purge one tenant
 */
export function redisKv(options: RedisKvOptions): KeyValueStore {
  const { client, keyPrefix } = parseOptions(optionsSchema, options, "redisKv");
  const cluster = isCluster(client);

  return {
    name: "redis",
    async get(key) {
      return (await client.get(keyPrefix + key)) ?? undefined;
    },
    async set(key, value, ttlMs) {
      if (ttlMs === undefined) await client.set(keyPrefix + key, value);
      else await client.set(keyPrefix + key, value, "PX", checkTtl(ttlMs, "redisKv"));
    },
    async setIfAbsent(key, value, ttlMs) {
      return (await client.set(keyPrefix + key, value, "PX", checkTtl(ttlMs, "redisKv"), "NX")) === "OK";
    },
    async delete(...keys) {
      const full = keys.map((key) => keyPrefix + key);
      if (cluster) {
        // One multi-key UNLINK across slots is a CROSSSLOT error: one command per key.
        const counts = await Promise.all(full.map((key) => client.unlink(key)));
        return counts.reduce((sum, n) => sum + n, 0);
      }
      let removed = 0;
      for (let i = 0; i < full.length; i += BATCH)
        removed += await client.unlink(...full.slice(i, i + BATCH));
      return removed;
    },
    async deletePrefix(prefix) {
      if (keyPrefix + prefix === "") {
        throw new RangeError(
          "redisKv: deletePrefix('') with no keyPrefix would delete every key of the database; refused",
        );
      }
      // SCAN MATCH patterns are not prefixed by ioredis, and SCAN returns the keys as stored.
      const stored = clientKeyPrefix(client) + keyPrefix + prefix;
      const pattern = `${escapeGlob(stored)}*`;
      const nodes = cluster ? (client as Cluster).nodes("master") : [client as Redis];
      const counts = await Promise.all(nodes.map((node) => purge(node, pattern, cluster)));
      return counts.reduce((sum, n) => sum + n, 0);
    },
  };
}

/** SCANs one node for `pattern` and unlinks each batch; resolves with how many keys were removed. */
async function purge(node: Redis, pattern: string, cluster: boolean): Promise<number> {
  // The node prepends its own keyPrefix to the keys we send, so strip it from what SCAN returned.
  const own = clientKeyPrefix(node);
  let removed = 0;
  let cursor = "0";
  do {
    const [next, found] = await node.scan(cursor, "MATCH", pattern, "COUNT", BATCH);
    cursor = next;
    // SCAN may return a key twice; the second UNLINK counts 0, so the total stays exact.
    const keys = found.map((key) => key.slice(own.length));
    if (keys.length === 0) continue;
    if (!cluster) {
      removed += await node.unlink(...keys);
      continue;
    }
    // A master holds many slots, and a multi-key UNLINK across them is refused: pipeline single ones.
    const pipeline = node.pipeline();
    for (const key of keys) pipeline.unlink(key);
    const results = (await pipeline.exec()) ?? [];
    for (const [error, count] of results) {
      if (error) throw error;
      removed += count as number;
    }
  } while (cursor !== "0");
  return removed;
}

/** Escapes the characters that SCAN MATCH reads as a glob (`*?[]\`), so a prefix matches only itself. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}

function isCluster(client: Redis | Cluster): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}

function clientKeyPrefix(client: Redis | Cluster): string {
  const prefix = (client as { options?: { keyPrefix?: unknown } }).options?.keyPrefix;
  return typeof prefix === "string"
    ? prefix
    : prefix instanceof Uint8Array
      ? Buffer.from(prefix).toString()
      : "";
}
