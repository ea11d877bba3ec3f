import type { Cluster, Redis } from "ioredis";
import { z } from "zod";
import { ConfigError, FrugalError } from "../../core/errors.js";
import { type Logger, redactingLogger } from "../../core/logger.js";
import { parseOptions } from "../../core/options.js";
import {
  type Change,
  changeFields,
  IDS_PER_ENTRY,
  missedEntries,
  parseChange,
  streamInfoField,
} from "../vector/changes.js";
import { type Evicted, LocalVectorIndex } from "../vector/local-index.js";
import { checkKeys, decodeVector, encodeVector, unitVector } from "../vector/vectors.js";
import type { VectorIndex, VectorMatch } from "../vector-index.js";

export interface RedisVectorIndexOptions {
  /** The host's ioredis client (`Redis` or `Cluster`) for every command but the blocking read. Never connected, quit or disconnected here. */
  client: Redis | Cluster;
  /**
   * A second connection, for `XREAD BLOCK` on the change stream: a blocking
   * read holds its connection, so it must not be `client` nor one the host
   * uses for anything else, and its `commandTimeout` (if any) must exceed
   * 1 s (one read blocks up to 1 s). Required unless `allowDuplicate` is
   * set. Never quit here either.
   */
  subscriber?: Redis | Cluster;
  /** Without `subscriber`, lets the index open one with `client.duplicate()` (and quit it on `close()`). Default false. */
  allowDuplicate?: boolean;
  /**
   * Start of every key. Default `frugal:vec`. Keys: `{<prefix>:<namespace>}:v`
   * (a hash id -> base64 of the little-endian float32 unit vector; one slot
   * per namespace on Redis Cluster), `{<prefix>}:ns` (the set of namespaces)
   * and `{<prefix>}:changes` (the change stream). No `{` or `}`: the key
   * design places the hash tags.
   */
  keyPrefix?: string;
  /**
   * Approximate cap on the change stream (`XADD ... MAXLEN ~`). An instance
   * that falls further behind than this (a long disconnect) reloads every
   * vector. Default 100,000 (a few MB of Redis memory); at least 1,000.
   */
  streamMaxLen?: number;
  /**
   * Vectors this instance holds in memory at most; past it the oldest
   * written is evicted, here and from Redis (so the shared store stays
   * bounded too: give every instance the same value). Default 100,000.
   */
  maxVectors?: number;
  /** Lists scanned per query in a large namespace (see `memoryVectorIndex`). Default 16. */
  probes?: number;
  /** Where background failures (a lost connection, an unreadable stored vector) are reported, redacted. Default `console`. */
  logger?: Logger;
}

/** A vector index shared through Redis; `ready()` loads it, `close()` stops following Redis. */
export interface RedisVectorIndex extends VectorIndex {
  /**
   * Loads the vectors stored in Redis into this instance (the cold start)
   * and starts following the change stream. Every other method awaits it
   * first, so calling it is only a way to pay the load before the first query.
   */
  ready(): Promise<void>;
  /** Stops following the stream (and quits the duplicated connection, if any). Later calls reject. */
  close(): Promise<void>;
  /** Vectors held in this instance now. */
  readonly size: number;
}

const isClient = (c: unknown): boolean =>
  typeof (c as Redis)?.hset === "function" && typeof (c as Redis)?.xadd === "function";
const optionsSchema = z
  .object({
    client: z.custom<Redis | Cluster>(
      isClient,
      "expected an ioredis client (new Redis(...) or new Cluster(...))",
    ),
    subscriber: z
      .custom<Redis | Cluster>(isClient, "expected a second ioredis client, for the blocking stream read")
      .optional(),
    allowDuplicate: z.boolean().default(false),
    keyPrefix: z
      .string()
      .min(1)
      .regex(/^[^{}]*$/, "expected no { or }: the key design places the hash tags")
      .default("frugal:vec"),
    streamMaxLen: z.number().int().min(1_000).default(100_000),
    maxVectors: z.number().int().positive().default(100_000),
    probes: z.number().int().positive().default(16),
    logger: z
      .custom<Logger>((l) => typeof (l as Logger)?.warn === "function", "expected a logger")
      .optional(),
  })
  .strict();

/** Entries per XREAD; a reply this full means the reader is behind, so it checks for trimmed entries. */
const READ_COUNT = 1_000;
/** How long one XREAD blocks: bounds how long `close()` waits where the read cannot be unblocked (Cluster). */
const BLOCK_MS = 1_000;
/** Fields per HSCAN / HMGET call: replies of a few MB at 1,536 dimensions, never a stalled server. */
const PAGE = 200;
/** Evaluated on the namespace's hash alone (one slot): its size, then the hash gone, atomically. */
const DELETE_HASH = "local n = redis.call('HLEN', KEYS[1]); redis.call('DEL', KEYS[1]); return n";

/**
 * Creates a vector index whose vectors live in Redis, so that every instance
 * of a service shares them, and whose search runs in process: each instance
 * keeps a `memoryVectorIndex`-like copy, loaded from Redis on start (HSCAN)
 * and kept in step by the change stream (XREAD BLOCK from the last entry
 * seen). A write on one instance reaches the others' search within a few
 * milliseconds on a healthy network. Writes go to Redis first (HSET, then
 * SADD and XADD); a write that Redis refuses rejects and changes nothing here.
 *
 * @example
 * import { Redis } from "ioredis";
 * const client = new Redis(process.env.REDIS_URL);
 * const index = redisVectorIndex({ client, subscriber: new Redis(process.env.REDIS_URL) });
 * await index.ready(); // optional: load now rather than on the first call
 * await index.upsert("tenant:acme|text-embedding-3-small", "entry-1", embedding);
 * process.on("SIGTERM", () => index.close());
 */
export function redisVectorIndex(options: RedisVectorIndexOptions): RedisVectorIndex {
  const o = parseOptions(optionsSchema, options, "redisVectorIndex");
  if (!o.subscriber && !o.allowDuplicate) {
    throw new ConfigError(
      "invalid redisVectorIndex options:\n  options.subscriber: expected a second ioredis client for the blocking stream read (or set allowDuplicate: true)",
    );
  }
  if (o.subscriber === o.client) {
    throw new ConfigError(
      "invalid redisVectorIndex options:\n  options.subscriber: expected a connection other than options.client (a blocking read would hold it)",
    );
  }
  return new SharedVectorIndex(o);
}

type Parsed = z.output<typeof optionsSchema>;

class SharedVectorIndex implements RedisVectorIndex {
  readonly name = "redis";
  readonly #o: Parsed;
  readonly #client: Redis | Cluster;
  readonly #log: Logger;
  readonly #setKey: string;
  readonly #streamKey: string;
  #local: LocalVectorIndex;
  #subscriber: Redis | Cluster | undefined;
  #subscriberId: number | undefined;
  #lastId = "0-0";
  #ready: Promise<void> | undefined;
  #reader: Promise<void> | undefined;
  #closed = false;

  constructor(options: Parsed) {
    this.#o = options;
    this.#client = options.client;
    this.#log = redactingLogger(options.logger ?? console);
    this.#setKey = `{${options.keyPrefix}}:ns`;
    this.#streamKey = `{${options.keyPrefix}}:changes`;
    this.#local = this.#newLocal();
  }

  get size(): number {
    return this.#local.size;
  }

  ready(): Promise<void> {
    if (this.#closed) return Promise.reject(new FrugalError("redisVectorIndex: closed"));
    this.#ready ??= this.#start().catch((error: unknown) => {
      this.#ready = undefined; // the next call tries again
      throw error;
    });
    return this.#ready;
  }

  async upsert(namespace: string, id: string, vector: Float32Array): Promise<void> {
    checkKeys(namespace, id);
    const unit = unitVector(vector, "vector");
    await this.ready();
    this.#local.checkWrite(namespace, unit.length); // before Redis: a refused vector must not reach the others
    await this.#client.hset(this.#hashKey(namespace), id, encodeVector(unit));
    await Promise.all([
      this.#client.sadd(this.#setKey, namespace),
      this.#publish({ op: "changed", namespace, ids: [id] }),
    ]);
    await this.#evict(this.#local.upsert(namespace, id, unit));
  }

  async query(
    namespace: string,
    vector: Float32Array,
    topK: number,
    minScore: number,
  ): Promise<VectorMatch[]> {
    checkKeys(namespace);
    const unit = unitVector(vector, "vector");
    await this.ready();
    return this.#local.query(namespace, unit, topK, minScore);
  }

  async delete(namespace: string, ...ids: string[]): Promise<number> {
    checkKeys(namespace, ...ids);
    if (ids.length === 0) return 0;
    await this.ready();
    let removed = 0;
    for (let i = 0; i < ids.length; i += IDS_PER_ENTRY) {
      const chunk = ids.slice(i, i + IDS_PER_ENTRY);
      removed += await this.#client.hdel(this.#hashKey(namespace), ...chunk);
      await this.#publish({ op: "changed", namespace, ids: chunk });
    }
    this.#local.delete(namespace, ids);
    return removed;
  }

  async deleteNamespaces(prefix: string): Promise<number> {
    checkKeys(prefix);
    await this.ready();
    let removed = 0;
    for (const namespace of await this.#namespaces()) {
      if (!namespace.startsWith(prefix)) continue;
      // SREM before DEL: a concurrent upsert (HSET, then SADD) can then never leave a hash the set forgets.
      await this.#client.srem(this.#setKey, namespace);
      removed += Number(await this.#client.eval(DELETE_HASH, 1, this.#hashKey(namespace)));
      await this.#publish({ op: "dropped", namespace });
      this.#local.dropNamespace(namespace);
    }
    this.#local.deleteNamespaces(prefix); // anything Redis no longer listed
    return removed;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#ready?.catch(() => {});
    let stopped = false;
    const reader = this.#reader?.then(() => {
      stopped = true;
    });
    // The blocked XREAD returns at once instead of at the end of its BLOCK time (standalone Redis only).
    // Until it is blocking at the server, UNBLOCK finds nothing to unblock: ask again, briefly.
    for (let tries = 0; reader && !stopped && this.#subscriberId !== undefined && tries < 20; tries++) {
      await (this.#client as Redis).client("UNBLOCK", this.#subscriberId).catch(() => {});
      await Promise.race([reader, sleep(50)]);
    }
    await reader;
    if (!this.#o.subscriber) await this.#subscriber?.quit().catch(() => {});
    this.#local.clear();
  }

  // --- the cold start and the change stream ---

  async #start(): Promise<void> {
    if (!this.#subscriber) {
      // Redis and Cluster both have duplicate(); the union of their signatures is not callable as such.
      const subscriber = this.#o.subscriber ?? (this.#client as Redis).duplicate();
      this.#subscriber = subscriber;
      if (!isCluster(subscriber)) this.#subscriberId = Number(await (subscriber as Redis).client("ID"));
    }
    await this.#load();
    this.#reader = this.#follow();
  }

  /** Loads every stored vector into a fresh local index, then swaps it in: queries meanwhile see the old one. */
  async #load(): Promise<void> {
    // The stream position first: whatever is written during the load is then replayed after it. The
    // last id generated, not the last entry left: the stream may have been trimmed empty.
    const lastId = await this.#streamPosition();
    const local = this.#newLocal();
    const evicted: Evicted[] = [];
    for (const namespace of await this.#namespaces()) {
      const key = this.#hashKey(namespace);
      let cursor = "0";
      do {
        const [next, flat] = await this.#client.hscan(key, cursor, "COUNT", PAGE);
        cursor = next;
        for (let i = 0; i + 1 < flat.length; i += 2) {
          const vector = this.#decode(namespace, flat[i]!, flat[i + 1]!);
          if (vector) evicted.push(...this.#tryUpsert(local, namespace, flat[i]!, vector));
        }
      } while (cursor !== "0");
    }
    this.#local = local;
    this.#lastId = lastId;
    await this.#evict(evicted);
  }

  /** Follows the change stream until `close()`, reloading everything if entries were trimmed unread. */
  async #follow(): Promise<void> {
    let backoff = 0;
    let checkGap = false;
    while (!this.#closed) {
      try {
        if (backoff > 0) await sleep(backoff);
        const reply = await (this.#subscriber as Redis).xread(
          "COUNT",
          READ_COUNT,
          "BLOCK",
          BLOCK_MS,
          "STREAMS",
          this.#streamKey,
          this.#lastId,
        );
        if (this.#closed) break;
        const entries = reply?.[0]?.[1] ?? [];
        // A full batch means this reader is behind; an idle second is a cheap moment to look anyway
        // (an operator's XTRIM or DEL, a reconnect that resent the read): both ask whether entries
        // past the last one read were trimmed unread.
        if (checkGap || entries.length === READ_COUNT || entries.length === 0) {
          checkGap = false;
          if (await this.#missed()) {
            this.#log.warn(
              "redisVectorIndex: change stream entries were trimmed before this instance read them; reloading",
              {
                stream: this.#streamKey,
              },
            );
            await this.#load();
            continue;
          }
        }
        if (entries.length > 0) {
          await this.#apply(entries.map(([, fields]) => parseChange(fields)));
          this.#lastId = entries[entries.length - 1]![0];
        }
        backoff = 0;
      } catch (error) {
        if (this.#closed) break;
        backoff = Math.min(Math.max(backoff * 2, 100), 5_000);
        checkGap = true;
        this.#log.warn("redisVectorIndex: reading the change stream failed; retrying", {
          error,
          retryInMs: backoff,
        });
      }
    }
  }

  async #streamPosition(): Promise<string> {
    const info = await this.#streamInfo();
    const id = info && streamInfoField(info, "last-generated-id");
    return typeof id === "string" ? id : "0-0";
  }

  /** `XINFO STREAM`, or undefined when there is no stream (yet, or any more). */
  async #streamInfo(): Promise<unknown[] | undefined> {
    try {
      return (await this.#client.xinfo("STREAM", this.#streamKey)) as unknown[];
    } catch (error) {
      if (/no such key/i.test(String((error as Error)?.message))) return undefined;
      throw error;
    }
  }

  async #missed(): Promise<boolean> {
    const info = await this.#streamInfo();
    // No stream any more while this reader had read some: it was deleted under us.
    return info ? missedEntries(info, this.#lastId) : this.#lastId !== "0-0";
  }

  /** Applies a batch of changes with the values Redis holds now (one HMGET per namespace and page). */
  async #apply(changes: (Change | undefined)[]): Promise<void> {
    const wanted = new Map<string, Set<string>>();
    for (const change of changes) {
      if (change?.op !== "changed") continue;
      const ids = wanted.get(change.namespace) ?? new Set<string>();
      for (const id of change.ids) ids.add(id);
      wanted.set(change.namespace, ids);
    }
    const values = new Map<string, Map<string, string | null>>();
    await Promise.all(
      [...wanted].map(async ([namespace, idSet]) => {
        const ids = [...idSet];
        const found = new Map<string, string | null>();
        for (let i = 0; i < ids.length; i += PAGE) {
          const page = ids.slice(i, i + PAGE);
          const got = await this.#client.hmget(this.#hashKey(namespace), ...page);
          for (const [k, id] of page.entries()) found.set(id, got[k] ?? null);
        }
        values.set(namespace, found);
      }),
    );
    const evicted: Evicted[] = [];
    for (const change of changes) {
      if (!change) continue;
      if (change.op === "dropped") {
        this.#local.dropNamespace(change.namespace);
        continue;
      }
      for (const id of change.ids) {
        const text = values.get(change.namespace)?.get(id);
        const vector = text ? this.#decode(change.namespace, id, text) : undefined;
        if (vector) evicted.push(...this.#tryUpsert(this.#local, change.namespace, id, vector));
        else this.#local.delete(change.namespace, [id]);
      }
    }
    await this.#evict(evicted);
  }

  /**
   * Removes from Redis what the bound evicted here, and tells the other
   * instances. A failure is logged, not thrown: the write that caused the
   * eviction succeeded, and the next eviction of a vector still in Redis
   * will try again when another instance re-sends it.
   */
  async #evict(evicted: readonly Evicted[]): Promise<void> {
    try {
      await this.#removeEvicted(evicted);
    } catch (error) {
      this.#log.warn("redisVectorIndex: removing evicted vectors from Redis failed", {
        error,
        count: evicted.length,
      });
    }
  }

  async #removeEvicted(evicted: readonly Evicted[]): Promise<void> {
    const byNamespace = new Map<string, string[]>();
    for (const { namespace, id } of evicted)
      byNamespace.set(namespace, [...(byNamespace.get(namespace) ?? []), id]);
    for (const [namespace, ids] of byNamespace) {
      for (let i = 0; i < ids.length; i += IDS_PER_ENTRY) {
        const chunk = ids.slice(i, i + IDS_PER_ENTRY);
        await this.#client.hdel(this.#hashKey(namespace), ...chunk);
        await this.#publish({ op: "changed", namespace, ids: chunk });
      }
    }
  }

  async #publish(change: Change): Promise<void> {
    await this.#client.xadd(
      this.#streamKey,
      "MAXLEN",
      "~",
      this.#o.streamMaxLen,
      "*",
      ...changeFields(change),
    );
  }

  async #namespaces(): Promise<string[]> {
    const all = new Set<string>();
    let cursor = "0";
    do {
      const [next, members] = await this.#client.sscan(this.#setKey, cursor, "COUNT", 1_000);
      cursor = next;
      for (const member of members) all.add(member);
    } while (cursor !== "0");
    return [...all];
  }

  /** A stored vector, or undefined (logged) when the text is not one or does not fit its namespace. */
  #decode(namespace: string, id: string, text: string): Float32Array | undefined {
    const vector = decodeVector(text);
    if (vector) {
      try {
        return unitVector(vector, "stored vector");
      } catch {}
    }
    this.#log.warn("redisVectorIndex: skipping a stored value that is not a vector", { namespace, id });
    return undefined;
  }

  #tryUpsert(local: LocalVectorIndex, namespace: string, id: string, vector: Float32Array): Evicted[] {
    try {
      return local.upsert(namespace, id, vector);
    } catch (error) {
      this.#log.warn("redisVectorIndex: skipping a stored vector", { namespace, id, error });
      return [];
    }
  }

  #hashKey(namespace: string): string {
    return `{${this.#o.keyPrefix}:${namespace}}:v`;
  }

  #newLocal(): LocalVectorIndex {
    return new LocalVectorIndex({ maxVectors: this.#o.maxVectors, tuning: { probes: this.#o.probes } });
  }
}

function isCluster(client: Redis | Cluster): boolean {
  return (client as { isCluster?: boolean }).isCluster === true;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
