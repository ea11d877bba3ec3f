import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { scopedKey, tenantPrefix } from "../../src/caching/scope.js";
import type { KeyValueStore } from "../../src/storage/kv.js";
import { uniqueName } from "../services.js";

/** A store for one test, and how to release what the fixture itself created. */
export interface KvFixture {
  store: KeyValueStore;
  dispose(): Promise<void>;
}

/** Every contract namespace starts with this, so a suite can sweep what a failed run left behind. */
export const CONTRACT_NAMESPACE = "frugal-kv-test";

const TTL = 50;
/** The only timing the suite relies on: an entry is gone after three times its TTL. */
const EXPIRED = 3 * TTL;
const LONG_TTL = 60_000;

/**
 * The behaviour every key-value adapter owes its users, run against each of
 * them. Keys are built the way the caches build them (`scopedKey`,
 * `tenantPrefix`) under a namespace unique to each test, and each test purges
 * its namespace when it ends, so a shared server stays clean.
 */
export function kvContract(name: string, makeStore: () => Promise<KvFixture>): void {
  describe(`${name} key-value store (contract)`, () => {
    let fixture: KvFixture | undefined;
    let ns = "";
    const fresh = async (): Promise<KeyValueStore> => {
      ns = uniqueName(CONTRACT_NAMESPACE);
      fixture = await makeStore();
      return fixture.store;
    };
    const key = (tenant: string, rest: string) => scopedKey(ns, tenant, rest);
    afterEach(async () => {
      await fixture?.store.deletePrefix(`${ns}:`);
      await fixture?.dispose();
      fixture = undefined;
    });

    it("reads back what was written: empty, unicode and 100 KB values", async () => {
      const store = await fresh();
      const values = {
        plain: "v",
        empty: "",
        unicode: 'héllo — 世界 🌍 \u0000 \n\t «quotes» "json" \' \\',
        large: "x".repeat(50_000) + "é".repeat(50_000),
        json: JSON.stringify({ content: [{ type: "text", text: "Hi 👋" }], usage: { input: 3 } }),
      };
      for (const [rest, value] of Object.entries(values)) await store.set(key("t", rest), value);
      for (const [rest, value] of Object.entries(values)) expect(await store.get(key("t", rest))).toBe(value);
      expect(await store.get(key("t", "never-written"))).toBeUndefined();
      expect(await store.get(key("other", "plain"))).toBeUndefined();
    });

    it("replaces a value on a second write", async () => {
      const store = await fresh();
      await store.set(key("t", "k"), "first");
      await store.set(key("t", "k"), "second");
      expect(await store.get(key("t", "k"))).toBe("second");
    });

    it("expires an entry after its TTL, and only that entry", async () => {
      const store = await fresh();
      await store.set(key("t", "short"), "v", TTL);
      await store.set(key("t", "long"), "v", LONG_TTL);
      await store.set(key("t", "none"), "v");
      await sleep(EXPIRED);
      expect(await store.get(key("t", "short"))).toBeUndefined();
      expect(await store.get(key("t", "long"))).toBe("v");
      expect(await store.get(key("t", "none"))).toBe("v");
    });

    it("keeps an entry written without a TTL, even over one that had a TTL", async () => {
      const store = await fresh();
      await store.set(key("t", "k"), "with ttl", TTL);
      await store.set(key("t", "k"), "without");
      await sleep(EXPIRED);
      expect(await store.get(key("t", "k"))).toBe("without");
    });

    it("expires an entry rewritten with a TTL that had none", async () => {
      const store = await fresh();
      await store.set(key("t", "k"), "forever");
      await store.set(key("t", "k"), "brief", TTL);
      await sleep(EXPIRED);
      expect(await store.get(key("t", "k"))).toBeUndefined();
    });

    it("refuses a TTL of 0, negative, NaN or Infinity instead of reading it as 'no expiry'", async () => {
      const store = await fresh();
      for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(store.set(key("t", "k"), "v", ttl)).rejects.toThrow(RangeError);
        await expect(store.setIfAbsent(key("t", "lock"), "v", ttl)).rejects.toThrow(/ttlMs/);
      }
      expect(await store.get(key("t", "k"))).toBeUndefined();
      expect(await store.get(key("t", "lock"))).toBeUndefined();
    });

    it("lets exactly one of 50 concurrent setIfAbsent callers win, and keeps the winner's value", async () => {
      const store = await fresh();
      const lock = key("t", "lock");
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => store.setIfAbsent(lock, `caller-${i}`, LONG_TTL)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.get(lock)).toBe(`caller-${results.indexOf(true)}`);
    });

    it("grants setIfAbsent again once the previous holder's TTL has passed", async () => {
      const store = await fresh();
      const lock = key("t", "lock");
      expect(await store.setIfAbsent(lock, "first", TTL)).toBe(true);
      expect(await store.setIfAbsent(lock, "second", TTL)).toBe(false);
      await sleep(EXPIRED);
      expect(await store.setIfAbsent(lock, "third", LONG_TTL)).toBe(true);
      expect(await store.get(lock)).toBe("third");
    });

    it("does not overwrite a value that set() wrote", async () => {
      const store = await fresh();
      await store.set(key("t", "k"), "cached");
      expect(await store.setIfAbsent(key("t", "k"), "lock", LONG_TTL)).toBe(false);
      expect(await store.get(key("t", "k"))).toBe("cached");
    });

    it("counts only the keys that existed when deleting", async () => {
      const store = await fresh();
      // Keys of different tenants live in different Cluster slots: delete must still take them together.
      const keys = [key("a", "1"), key("b", "2"), key("c", "3")];
      for (const k of keys) await store.set(k, "v");
      await store.set(key("a", "expired"), "v", TTL);
      await sleep(EXPIRED);
      expect(await store.delete(...keys, key("a", "missing"), key("a", "expired"))).toBe(3);
      for (const k of keys) expect(await store.get(k)).toBeUndefined();
      expect(await store.delete(...keys)).toBe(0);
      expect(await store.delete()).toBe(0);
    });

    it("purges one tenant and leaves tenants whose ids share its prefix untouched", async () => {
      const store = await fresh();
      const tenants = ["a", "ab", "b", "a:b", "-"];
      for (const tenant of tenants) {
        for (const rest of ["1", "2", "3"]) await store.set(key(tenant, rest), tenant);
      }
      expect(await store.deletePrefix(tenantPrefix(ns, "a"))).toBe(3);
      for (const rest of ["1", "2", "3"]) expect(await store.get(key("a", rest))).toBeUndefined();
      for (const tenant of tenants.filter((t) => t !== "a")) {
        for (const rest of ["1", "2", "3"]) expect(await store.get(key(tenant, rest))).toBe(tenant);
      }
      expect(await store.deletePrefix(tenantPrefix(ns, "a"))).toBe(0);
      expect(await store.deletePrefix(tenantPrefix(ns, "nobody"))).toBe(0);
    });

    it("treats glob characters in a tenant id literally", async () => {
      const store = await fresh();
      // encodeURIComponent keeps `*`, so `{a*}` reaches the store; unescaped, `…:{a*}:*` would match
      // `{a}`, `{ab}` and `{a*b}` as well.
      const tenants = ["a*", "a", "ab", "a*b", "a?", "[a]", "a\\", "*"];
      for (const tenant of tenants) await store.set(key(tenant, "k"), tenant);
      expect(await store.deletePrefix(tenantPrefix(ns, "a*"))).toBe(1);
      expect(await store.deletePrefix(tenantPrefix(ns, "*"))).toBe(1);
      expect(await store.get(key("a*", "k"))).toBeUndefined();
      expect(await store.get(key("*", "k"))).toBeUndefined();
      for (const tenant of tenants.filter((t) => t !== "a*" && t !== "*")) {
        expect(await store.get(key(tenant, "k"))).toBe(tenant);
      }
    });

    it("treats every glob character in a raw prefix literally", async () => {
      const store = await fresh();
      const prefix = `${ns}:g[ab]?*\\`;
      const inside = [`${prefix}1`, `${prefix}X`, `${prefix}*`];
      // Each of these matches the prefix read as a glob pattern (`g`, one of a/b, any, anything, `*`).
      const outside = [`${ns}:gaXY*`, `${ns}:gb??*`, `${ns}:g[ab]?*`, `${ns}:ga\\*`];
      for (const k of [...inside, ...outside]) await store.set(k, "v");
      expect(await store.deletePrefix(prefix)).toBe(inside.length);
      for (const k of inside) expect(await store.get(k)).toBeUndefined();
      for (const k of outside) expect(await store.get(k)).toBe("v");
    });

    it("purges a tenant of 2,500 keys and leaves its neighbours whole", async () => {
      const store = await fresh();
      const big = Array.from({ length: 2_500 }, (_, i) => key("big", `entry-${i}`));
      const neighbours = Array.from({ length: 20 }, (_, i) => key(i % 2 ? "bigger" : "bi", `entry-${i}`));
      await Promise.all([...big, ...neighbours].map((k) => store.set(k, "v", LONG_TTL)));
      expect(await store.deletePrefix(tenantPrefix(ns, "big"))).toBe(big.length);
      const left = await Promise.all(big.map((k) => store.get(k)));
      expect(left.filter((v) => v !== undefined)).toHaveLength(0);
      for (const k of neighbours) expect(await store.get(k)).toBe("v");
    });
  });
}
