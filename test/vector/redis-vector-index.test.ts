import type { Redis } from "ioredis";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/core/errors.js";
import type { Logger } from "../../src/core/logger.js";
import { type RedisVectorIndex, redisVectorIndex } from "../../src/storage/redis/vector-index.js";
import type { VectorIndex } from "../../src/storage/vector-index.js";
import { redisAvailable, redisClient, requireOrSkip, uniqueName } from "../services.js";
import { vectorIndexContract } from "./contract.js";
import { gaussian, randomUnit } from "./data.js";

const redisUp = requireOrSkip("Redis", await redisAvailable());

/** Every connection and index a test opened, closed after it; every key under its prefixes, deleted. */
class Instances {
  readonly #clients: Redis[] = [];
  readonly #indexes: RedisVectorIndex[] = [];
  readonly #prefixes: string[] = [];

  client(): Redis {
    const client = redisClient();
    this.#clients.push(client);
    return client;
  }

  prefix(): string {
    const prefix = uniqueName("vec");
    this.#prefixes.push(prefix);
    return prefix;
  }

  /** An index on its own pair of connections, like one service instance. */
  index(keyPrefix: string, options: { maxVectors?: number; streamMaxLen?: number; logger?: Logger } = {}) {
    const index = redisVectorIndex({
      client: this.client(),
      subscriber: this.client(),
      keyPrefix,
      ...options,
    });
    this.#indexes.push(index);
    return index;
  }

  async dispose(): Promise<void> {
    await Promise.all(this.#indexes.splice(0).map((index) => index.close()));
    const admin = this.#clients[0];
    for (const prefix of this.#prefixes.splice(0)) {
      const keys = (await admin?.keys(`{${prefix}*`)) ?? [];
      if (keys.length > 0) await admin!.del(...keys);
    }
    await Promise.all(this.#clients.splice(0).map((client) => client.quit().catch(() => {})));
  }
}

/** Polls `check` until it passes or `ms` elapse; the acceptance bound, not a timing measurement. */
async function within(ms: number, check: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

const quietLogger = (): Logger & { warnings: string[] } => {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, warn: (m) => void warnings.push(m), error() {} };
};

describe.skipIf(!redisUp)("with Redis", () => {
  const instances = new Instances();
  afterAll(() => instances.dispose());

  vectorIndexContract("redis", async () => {
    const own = new Instances();
    const index = own.index(own.prefix());
    return { index, dispose: () => own.dispose() };
  });

  describe("redisVectorIndex", () => {
    afterEach(() => instances.dispose());
    const normal = gaussian(31);
    const unit = () => randomUnit(64, normal);
    const expectFound = async (index: VectorIndex, namespace: string, id: string, v: Float32Array) =>
      expect(await index.query(namespace, v, 1, 1)).toEqual([{ id, score: 1 }]);

    it("shows a write on one instance to another instance's search within 1 s", async () => {
      const prefix = instances.prefix();
      const [a, b] = [instances.index(prefix), instances.index(prefix)];
      await Promise.all([a.ready(), b.ready()]);
      const [v, w] = [unit(), unit()];
      await a.upsert("tenant:acme", "from-a", v);
      await within(1_000, () => expectFound(b, "tenant:acme", "from-a", v));
      await b.upsert("tenant:acme", "from-b", w);
      await within(1_000, () => expectFound(a, "tenant:acme", "from-b", w));

      await a.upsert("tenant:acme", "from-b", v); // a rewrite reaches the other side too
      await within(1_000, async () => expect(await b.query("tenant:acme", w, 1, 1)).toEqual([]));
      expect(await a.delete("tenant:acme", "from-a")).toBe(1);
      await within(1_000, async () =>
        expect((await b.query("tenant:acme", v, 5, 1)).map((m) => m.id)).toEqual(["from-b"]),
      );
      expect(await b.deleteNamespaces("tenant:")).toBe(1);
      await within(1_000, async () => expect(await a.query("tenant:acme", v, 5, -1)).toEqual([]));
    });

    it("loads the vectors already in Redis when it starts (cold start)", async () => {
      const prefix = instances.prefix();
      const writer = instances.index(prefix);
      const vectors = Array.from({ length: 300 }, unit);
      await Promise.all(vectors.map((v, i) => writer.upsert(`ns-${i % 3}`, `id-${i}`, v)));
      await writer.close();

      const late = instances.index(prefix);
      expect(late.size).toBe(0);
      await late.ready();
      expect(late.size).toBe(300);
      for (const [i, v] of vectors.entries()) await expectFound(late, `ns-${i % 3}`, `id-${i}`, v);
      // Lazily too: a first query loads without ready().
      const lazy = instances.index(prefix);
      await expectFound(lazy, "ns-1", "id-1", vectors[1]!);
    });

    it("stores vectors under the documented, Cluster-safe keys", async () => {
      const prefix = instances.prefix();
      const index = instances.index(prefix);
      const v = unit();
      await index.upsert("tenant:acme|m", "e1", v);
      const admin = instances.client();
      expect((await admin.keys(`{${prefix}*`)).sort()).toEqual(
        [`{${prefix}:tenant:acme|m}:v`, `{${prefix}}:changes`, `{${prefix}}:ns`].sort(),
      );
      expect(await admin.hget(`{${prefix}:tenant:acme|m}:v`, "e1")).toBe(
        Buffer.from(v.buffer).toString("base64"),
      );
      expect(await admin.smembers(`{${prefix}}:ns`)).toEqual(["tenant:acme|m"]);
    });

    it("keeps Redis within maxVectors too: what the bound evicts leaves every instance", async () => {
      const prefix = instances.prefix();
      const [a, b] = [
        instances.index(prefix, { maxVectors: 10 }),
        instances.index(prefix, { maxVectors: 10 }),
      ];
      await Promise.all([a.ready(), b.ready()]);
      const vectors = Array.from({ length: 15 }, unit);
      for (const [i, v] of vectors.entries()) await a.upsert("ns", `id-${i}`, v);
      expect(a.size).toBe(10);
      const admin = instances.client();
      expect(await admin.hlen(`{${prefix}:ns}:v`)).toBe(10);
      await within(1_000, async () => {
        expect(b.size).toBe(10);
        await expectFound(b, "ns", "id-14", vectors[14]!);
        expect(await b.query("ns", vectors[0]!, 1, 1)).toEqual([]);
      });
    });

    it("reloads everything when the stream was trimmed past what it had read", async () => {
      const prefix = instances.prefix();
      const log = quietLogger();
      const writer = instances.index(prefix);
      const subscriber = instances.client();
      const reader = redisVectorIndex({
        client: instances.client(),
        subscriber,
        keyPrefix: prefix,
        logger: log,
      });
      await Promise.all([writer.ready(), reader.ready()]);
      // The reader's connection drops; meanwhile writes land and the stream loses them.
      subscriber.disconnect(true);
      const vectors = Array.from({ length: 20 }, unit);
      for (const [i, v] of vectors.entries()) await writer.upsert("ns", `id-${i}`, v);
      await instances.client().xtrim(`{${prefix}}:changes`, "MAXLEN", 0);
      await within(5_000, async () => {
        for (const [i, v] of vectors.entries()) await expectFound(reader, "ns", `id-${i}`, v);
      });
      await reader.close();
    });

    it("refuses a vector of other dimensions before it reaches Redis and the other instances", async () => {
      const prefix = instances.prefix();
      const log = quietLogger();
      const a = instances.index(prefix);
      const b = instances.index(prefix, { logger: log });
      await Promise.all([a.ready(), b.ready()]);
      const v = unit();
      await a.upsert("ns", "ok", v);
      await expect(a.upsert("ns", "wide", randomUnit(128, normal))).rejects.toThrow(/holds 64-dimension/);
      expect(await instances.client().hkeys(`{${prefix}:ns}:v`)).toEqual(["ok"]);
      await within(1_000, () => expectFound(b, "ns", "ok", v));
      expect(log.warnings).toEqual([]);
    });

    it("refuses to start without a connection of its own for the blocking read", () => {
      const client = instances.client();
      expect(() => redisVectorIndex({ client })).toThrow(ConfigError);
      expect(() => redisVectorIndex({ client })).toThrow(/options\.subscriber/);
      expect(() => redisVectorIndex({ client, subscriber: client })).toThrow(/other than options\.client/);
      expect(() => redisVectorIndex({ client, subscriber: instances.client(), keyPrefix: "{x}" })).toThrow(
        /options\.keyPrefix/,
      );
      expect(() => redisVectorIndex({ client, allowDuplicate: true, streamMaxLen: 10 })).toThrow(
        /options\.streamMaxLen/,
      );
    });

    it("with allowDuplicate, opens its own reading connection and closes it", async () => {
      const client = instances.client();
      const prefix = instances.prefix();
      const index = redisVectorIndex({ client, allowDuplicate: true, keyPrefix: prefix });
      const writer = instances.index(prefix);
      const v = unit();
      await index.ready();
      await writer.upsert("ns", "x", v);
      await within(1_000, () => expectFound(index, "ns", "x", v));
      await index.close();
      await expect(index.query("ns", v, 1, 1)).rejects.toThrow(/closed/);
      expect(await client.ping()).toBe("PONG"); // the host's client is untouched
    });
  });
});
