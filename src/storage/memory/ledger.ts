import { z } from "zod";
import type { CostRecord } from "../../core/cost-record.js";
import { parseOptions } from "../../core/options.js";
import type { Ledger, LedgerQuery } from "../ledger.js";
import { parseLedgerQuery, selectRecords } from "../ledger-query.js";

export interface MemoryLedgerOptions {
  /**
   * How many records to keep. When full, the oldest written record is evicted
   * and counted in `evicted`. Default 100,000; must be a positive integer
   * (`Infinity` is refused: a ledger that can grow without bound is a leak).
   */
  maxRecords?: number;
}

/** An in-process ledger: tests, development, and a host that only needs recent spend. */
export interface MemoryLedger extends Ledger {
  /** How many records were evicted to stay within `maxRecords`. */
  readonly evicted: number;
  /** How many records are held now. */
  readonly size: number;
}

const optionsSchema = z
  .object({ maxRecords: z.number().int().positive().default(100_000) })
  .strict()
  .default({ maxRecords: 100_000 });

/**
 * Creates a bounded in-memory ledger. Records are copied on the way in and
 * out, so neither the writer nor a reader can change what is stored.
 *
 * @example
 * const ledger = memoryLedger({ maxRecords: 10_000 });
 * await ledger.write([record]);
 * const today = await ledger.read({ from: startOfDay, tenant: "acme" });
 * console.log(ledger.evicted); // records dropped to stay within maxRecords
 */
export function memoryLedger(options?: MemoryLedgerOptions): MemoryLedger {
  const { maxRecords } = parseOptions(optionsSchema, options, "memoryLedger");
  // A Map keeps insertion order, so its first key is the oldest record: O(1) eviction and
  // O(1) duplicate detection (a retried batch must not store an id twice).
  const records = new Map<string, CostRecord>();
  let evicted = 0;

  return {
    name: "memory",
    get evicted() {
      return evicted;
    },
    get size() {
      return records.size;
    },
    async write(batch) {
      for (const record of batch) {
        if (records.has(record.id)) continue;
        if (records.size >= maxRecords) {
          records.delete(records.keys().next().value as string);
          evicted++;
        }
        records.set(record.id, structuredClone(record));
      }
    },
    async read(query?: LedgerQuery) {
      const selected = selectRecords(records.values(), parseLedgerQuery(query));
      return selected.map((r) => structuredClone(r));
    },
    async close() {},
  };
}
