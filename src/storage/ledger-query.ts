import { z } from "zod";
import type { CostRecord } from "../core/cost-record.js";
import { describeZodError, InvalidRequestError } from "../core/errors.js";
import type { LedgerQuery } from "./ledger.js";

/** A {@link LedgerQuery} checked once, with its bounds as epoch milliseconds for cheap comparison. */
export interface ParsedLedgerQuery {
  fromMs: number;
  toMs: number;
  tenant: string | undefined;
  limit: number;
}

const validDate = z.date().refine((d) => !Number.isNaN(d.getTime()), "expected a valid Date");

const querySchema = z
  .object({
    from: validDate.optional(),
    to: validDate.optional(),
    tenant: z.string().optional(),
    limit: z.number().int().nonnegative().optional(),
  })
  .strict();

/**
 * Validates a query the same way for every adapter, so that a bad `limit` or
 * an invalid `Date` fails loudly instead of meaning "everything" in one
 * adapter and "nothing" in another.
 */
export function parseLedgerQuery(query: LedgerQuery = {}): ParsedLedgerQuery {
  const parsed = querySchema.safeParse(query);
  if (!parsed.success) {
    const issues = describeZodError(parsed.error, "query");
    throw new InvalidRequestError(`invalid ledger query:\n  ${issues.join("\n  ")}`, issues);
  }
  const q = parsed.data;
  return {
    fromMs: q.from?.getTime() ?? Number.NEGATIVE_INFINITY,
    toMs: q.to?.getTime() ?? Number.POSITIVE_INFINITY,
    tenant: q.tenant,
    limit: q.limit ?? Number.POSITIVE_INFINITY,
  };
}

/**
 * Applies a query to records held in JS (memory, JSONL, Redis): keeps the
 * first copy of each id (a retried write may have stored a record twice),
 * filters by instant (times may carry different offsets, so strings are not
 * compared), orders oldest first with ties broken by id, and cuts at `limit`.
 */
export function selectRecords(records: Iterable<CostRecord>, query: ParsedLedgerQuery): CostRecord[] {
  const seen = new Set<string>();
  const matched: { ms: number; record: CostRecord }[] = [];
  for (const record of records) {
    if (seen.has(record.id)) continue;
    seen.add(record.id);
    const ms = Date.parse(record.time);
    if (!(ms >= query.fromMs && ms < query.toMs)) continue;
    if (query.tenant !== undefined && record.tenant !== query.tenant) continue;
    matched.push({ ms, record });
  }
  matched.sort((a, b) => a.ms - b.ms || compareIds(a.record.id, b.record.id));
  const limited = Number.isFinite(query.limit) ? matched.slice(0, query.limit) : matched;
  return limited.map((m) => m.record);
}

/** Code-unit order: for ASCII ids (UUIDs) the same as PostgreSQL's `COLLATE "C"`, so adapters break ties alike. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** True when a parsed JSON value looks enough like a cost record to be returned (skips foreign data). */
export function isCostRecord(value: unknown): value is CostRecord {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as CostRecord).id === "string" &&
    typeof (value as CostRecord).time === "string"
  );
}
