import { afterEach, describe, expect, it } from "vitest";
import { InvalidRequestError } from "../../src/core/errors.js";
import type { Ledger } from "../../src/storage/ledger.js";
import { at, BASE_TIME, costRecord, costRecords, pricedCost, unpricedCost } from "./records.js";

/** A fresh, empty ledger for one test, and how to remove what it created. */
export interface LedgerFixture {
  ledger: Ledger;
  dispose(): Promise<void>;
}

/**
 * The behaviour every ledger adapter owes its users, run against each of
 * them. `makeLedger` is called once per test and must return an empty ledger.
 */
export function ledgerContract(name: string, makeLedger: () => Promise<LedgerFixture>): void {
  describe(`${name} ledger (contract)`, () => {
    let fixture: LedgerFixture | undefined;
    const fresh = async (): Promise<Ledger> => {
      fixture = await makeLedger();
      return fixture.ledger;
    };
    afterEach(async () => {
      await fixture?.dispose();
      fixture = undefined;
    });

    it("reads back exactly what was written, unpriced costs included", async () => {
      const ledger = await fresh();
      const records = [
        costRecord({ time: at(0).toISOString() }),
        costRecord({
          time: at(1).toISOString(),
          cost: unpricedCost,
          savingsUsd: null,
          baseline: null,
          route: null,
          cache: null,
          tenant: null,
          user: null,
          task: null,
          status: "error",
          error: { name: "ProviderError", message: "upstream 500", status: 500 },
          timeToFirstTokenMs: null,
        }),
        costRecord({ time: at(2).toISOString(), cost: { ...pricedCost(0.1), estimated: true } }),
      ];
      await ledger.write(records);
      const read = await ledger.read();
      expect(read).toStrictEqual(records);
      expect(read[1]!.cost).toStrictEqual({
        priced: false,
        usd: null,
        reason: unpricedCost.reason,
        estimated: false,
      });
    });

    it("returns records oldest first, whatever order they were written in", async () => {
      const ledger = await fresh();
      const records = costRecords(6);
      await ledger.write([records[3]!, records[0]!, records[5]!]);
      await ledger.write([records[1]!, records[4]!, records[2]!]);
      expect((await ledger.read()).map((r) => r.id)).toEqual(records.map((r) => r.id));
    });

    it("filters by time: from is inclusive, to is exclusive", async () => {
      const ledger = await fresh();
      const records = costRecords(10);
      await ledger.write(records);
      const read = await ledger.read({ from: at(3), to: at(7) });
      expect(read.map((r) => r.id)).toEqual(records.slice(3, 7).map((r) => r.id));
      expect(await ledger.read({ from: at(8) })).toHaveLength(2);
      expect(await ledger.read({ to: at(2) })).toHaveLength(2);
      expect(await ledger.read({ from: at(5), to: at(5) })).toEqual([]);
    });

    it("compares instants, not strings, when times carry different offsets", async () => {
      const ledger = await fresh();
      // 01:30+02:00 is 23:30Z the day before: earlier than the Z record, though its string sorts after.
      const early = costRecord({ time: "2025-03-01T01:30:00.000+02:00" });
      const late = costRecord({ time: "2025-03-01T00:00:00.000Z" });
      await ledger.write([late, early]);
      expect((await ledger.read()).map((r) => r.id)).toEqual([early.id, late.id]);
      expect((await ledger.read({ from: new Date(BASE_TIME) })).map((r) => r.id)).toEqual([late.id]);
    });

    it("filters by tenant, never matching records without one", async () => {
      const ledger = await fresh();
      const tenants = ["acme", "globex", null, "acme"];
      const records = costRecords(4, (i) => ({ tenant: tenants[i]! }));
      await ledger.write(records);
      const acme = await ledger.read({ tenant: "acme" });
      expect(acme.map((r) => r.id)).toEqual([records[0]!.id, records[3]!.id]);
      expect(await ledger.read({ tenant: "initech" })).toEqual([]);
    });

    it("limits to the oldest records, combined with the other filters", async () => {
      const ledger = await fresh();
      const records = costRecords(10, (i) => ({ tenant: i % 2 === 0 ? "acme" : "globex" }));
      await ledger.write(records);
      expect((await ledger.read({ limit: 3 })).map((r) => r.id)).toEqual(
        records.slice(0, 3).map((r) => r.id),
      );
      const some = await ledger.read({ tenant: "globex", from: at(2), limit: 2 });
      expect(some.map((r) => r.id)).toEqual([records[3]!.id, records[5]!.id]);
      expect(await ledger.read({ limit: 0 })).toEqual([]);
    });

    it("rejects a malformed query, naming the field", async () => {
      const ledger = await fresh();
      await expect(ledger.read({ limit: -1 })).rejects.toThrow(/query\.limit/);
      await expect(ledger.read({ limit: 1.5 })).rejects.toBeInstanceOf(InvalidRequestError);
      await expect(ledger.read({ from: new Date("nope") })).rejects.toThrow(/query\.from/);
    });

    it("stores a batch of 1,000 records", async () => {
      const ledger = await fresh();
      const records = costRecords(1000, (i) => ({ tenant: `t${i % 7}` }));
      await ledger.write(records);
      const read = await ledger.read();
      expect(read).toHaveLength(1000);
      expect(read).toStrictEqual(records);
    });

    it("accepts an empty batch", async () => {
      const ledger = await fresh();
      await ledger.write([]);
      expect(await ledger.read()).toEqual([]);
    });

    it("keeps one copy of a record written twice (a retried batch), the first", async () => {
      const ledger = await fresh();
      const records = costRecords(5);
      await ledger.write(records);
      await ledger.write([...records.slice(2), costRecord({ id: records[0]!.id, tenant: "other" })]);
      const read = await ledger.read();
      expect(read).toStrictEqual(records);
    });

    it("loses and mixes nothing under concurrent writes", async () => {
      const ledger = await fresh();
      const batches = Array.from({ length: 20 }, (_, b) =>
        costRecords(50, (i) => ({ task: `batch-${b}-${i}` }), BASE_TIME + b * 50_000),
      );
      await Promise.all(batches.map((batch) => ledger.write(batch)));
      const read = await ledger.read();
      expect(read).toHaveLength(1000);
      // Every record intact (no interleaved bytes), in time order across all batches.
      expect(read).toStrictEqual(batches.flat());
    });
  });
}
