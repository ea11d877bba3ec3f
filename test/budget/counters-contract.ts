import { describe, expect, it } from "vitest";
import type { SpendCounters, SpendWindow } from "../../src/storage/memory/counters.js";
import { uniqueName } from "../services.js";

/** Every contract scope starts with this, so a suite can sweep what a failed run left behind. */
export const CONTRACT_SCOPE = "frugal-counters-test";

const DAY: SpendWindow = { id: "day:2025-03-09", limitMicros: 1_000_000, ttlMs: 60_000 };
const T0 = Date.UTC(2025, 2, 9, 12);
const hold = (id: string, amountMicros: number, ttlMs = 60_000) => ({ id, amountMicros, ttlMs });

/**
 * The behaviour every spend-counter adapter owes the budget middleware, run
 * against each of them: atomic reserve against every window of a scope,
 * idempotent settle, expiring holds, rolling windows. Time is the caller's
 * `nowMs`, so no test sleeps.
 */
export function countersContract(name: string, make: () => SpendCounters): void {
  describe(`${name} spend counters (contract)`, () => {
    const fresh = () => ({ counters: make(), scope: `${uniqueName(CONTRACT_SCOPE)}:tenant:acme` });

    it("admits reservations up to the limit exactly, and refuses one micro-dollar more", async () => {
      const { counters, scope } = fresh();
      expect((await counters.reserve(scope, [DAY], hold("a", 600_000), T0)).ok).toBe(true);
      const refused = await counters.reserve(scope, [DAY], hold("b", 400_001), T0);
      expect(refused).toEqual({ ok: false, refusedBy: 0, settledMicros: [0], heldMicros: 600_000 });
      expect((await counters.reserve(scope, [DAY], hold("c", 400_000), T0)).ok).toBe(true);
      expect(await counters.status(scope, [DAY], T0)).toEqual({ settledMicros: [0], heldMicros: 1_000_000 });
    });

    it("B1: of 50 concurrent $0.10 reservations against $1, exactly 10 are admitted", async () => {
      const { counters, scope } = fresh();
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => counters.reserve(scope, [DAY], hold(`r${i}`, 100_000), T0)),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(10);
      expect((await counters.status(scope, [DAY], T0)).heldMicros).toBe(1_000_000);
    });

    it("checks every window of the scope and names the one that refused", async () => {
      const { counters, scope } = fresh();
      const month: SpendWindow = { id: "month:2025-03", limitMicros: 500_000, ttlMs: 60_000 };
      await counters.settle(scope, [DAY, month], "spent", 450_000, T0);
      const refused = await counters.reserve(scope, [DAY, month], hold("x", 100_000), T0);
      expect(refused).toMatchObject({ ok: false, refusedBy: 1, settledMicros: [450_000, 450_000] });
      expect((await counters.status(scope, [DAY, month], T0)).heldMicros).toBe(0);
      expect((await counters.reserve(scope, [DAY, month], hold("y", 50_000), T0)).ok).toBe(true);
    });

    it("settle releases the hold and counts the actual cost, so unused reservations are usable again", async () => {
      const { counters, scope } = fresh();
      for (let i = 0; i < 10; i++)
        expect((await counters.reserve(scope, [DAY], hold(`h${i}`, 100_000), T0)).ok).toBe(true);
      expect((await counters.reserve(scope, [DAY], hold("full", 1), T0)).ok).toBe(false);
      for (let i = 0; i < 10; i++)
        expect(await counters.settle(scope, [DAY], `h${i}`, 10_000, T0)).toBe(true);
      expect(await counters.status(scope, [DAY], T0)).toEqual({ settledMicros: [100_000], heldMicros: 0 });
      expect((await counters.reserve(scope, [DAY], hold("rest", 900_000), T0)).ok).toBe(true);
    });

    it("B2: a repeated settle is applied once, and a repeated reserve is not held twice", async () => {
      const { counters, scope } = fresh();
      await counters.reserve(scope, [DAY], hold("dup", 300_000), T0);
      const again = await counters.reserve(scope, [DAY], hold("dup", 300_000), T0);
      expect(again).toMatchObject({ ok: true, heldMicros: 0 });
      expect((await counters.status(scope, [DAY], T0)).heldMicros).toBe(300_000);
      const settles = await Promise.all(
        [1, 2, 3].map(() => counters.settle(scope, [DAY], "dup", 120_000, T0)),
      );
      expect(settles.filter(Boolean)).toHaveLength(1);
      expect(await counters.settle(scope, [DAY], "dup", 120_000, T0 + 1_000)).toBe(false);
      expect(await counters.status(scope, [DAY], T0)).toEqual({ settledMicros: [120_000], heldMicros: 0 });
      await expect(counters.reserve(scope, [DAY], hold("dup", 1), T0)).rejects.toThrow(/already settled/);
    });

    it("B2: a hold whose caller crashed expires after its TTL and frees the limit", async () => {
      const { counters, scope } = fresh();
      expect((await counters.reserve(scope, [DAY], hold("crashed", 1_000_000, 5_000), T0)).ok).toBe(true);
      expect((await counters.reserve(scope, [DAY], hold("blocked", 1), T0 + 4_999)).ok).toBe(false);
      expect((await counters.status(scope, [DAY], T0 + 5_000)).heldMicros).toBe(0);
      expect((await counters.reserve(scope, [DAY], hold("after", 1_000_000), T0 + 5_000)).ok).toBe(true);
    });

    it("a settle after its hold expired still counts the spend, once", async () => {
      const { counters, scope } = fresh();
      await counters.reserve(scope, [DAY], hold("slow", 200_000, 1_000), T0);
      await counters.reserve(scope, [DAY], hold("other", 100_000, 60_000), T0 + 2_000);
      expect(await counters.settle(scope, [DAY], "slow", 150_000, T0 + 3_000)).toBe(true);
      expect(await counters.status(scope, [DAY], T0 + 3_000)).toEqual({
        settledMicros: [150_000],
        heldMicros: 100_000,
      });
    });

    it("a rolling window counts spend for its span and forgets it within one bucket after", async () => {
      const { counters, scope } = fresh();
      const span = 6 * 3_600_000;
      const rolling: SpendWindow = {
        id: "rolling:6h",
        limitMicros: 1_000_000,
        ttlMs: span + 360_000,
        rolling: { spanMs: span, bucketMs: 360_000 },
      };
      await counters.settle(scope, [rolling], "early", 700_000, T0);
      await counters.settle(scope, [rolling], "later", 200_000, T0 + 3 * 3_600_000);
      expect((await counters.status(scope, [rolling], T0 + span - 1)).settledMicros).toEqual([900_000]);
      expect((await counters.reserve(scope, [rolling], hold("no", 200_000), T0 + span - 1)).ok).toBe(false);
      const gone = T0 + span + 360_000;
      expect((await counters.status(scope, [rolling], gone)).settledMicros).toEqual([200_000]);
      expect((await counters.reserve(scope, [rolling], hold("yes", 800_000), gone)).ok).toBe(true);
    });

    it("keeps scopes and windows apart", async () => {
      const { counters, scope } = fresh();
      const other = `${scope}-other`;
      const nextDay: SpendWindow = { ...DAY, id: "day:2025-03-10" };
      await counters.settle(scope, [DAY], "s1", 1_000_000, T0);
      expect((await counters.reserve(other, [DAY], hold("o1", 1_000_000), T0)).ok).toBe(true);
      expect((await counters.reserve(scope, [nextDay], hold("n1", 1_000_000), T0)).ok).toBe(true);
      expect((await counters.reserve(scope, [DAY], hold("d1", 1), T0)).ok).toBe(false);
    });

    it("a zero limit refuses any spend but admits a free call; a zero settle only releases", async () => {
      const { counters, scope } = fresh();
      const zero: SpendWindow = { ...DAY, limitMicros: 0 };
      expect((await counters.reserve(scope, [zero], hold("paid", 1), T0)).ok).toBe(false);
      expect((await counters.reserve(scope, [zero], hold("free", 0), T0)).ok).toBe(true);
      await counters.reserve(scope, [DAY], hold("released", 500_000), T0);
      await counters.settle(scope, [DAY], "released", 0, T0);
      expect(await counters.status(scope, [DAY], T0)).toEqual({ settledMicros: [0], heldMicros: 0 });
    });
  });
}
