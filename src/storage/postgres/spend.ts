import type { Pool } from "pg";
import { z } from "zod";
import { describeZodError, InvalidRequestError } from "../../core/errors.js";

export type SpendDimension = "tenant" | "model" | "task" | "day";

export interface SpendQuery {
  /** Inclusive start. */
  from: Date;
  /** Exclusive end. */
  to: Date;
  /** Group by these, in this order (also the sort order). Empty: one row with the total. */
  groupBy: readonly SpendDimension[];
  /** Only this tenant's spend. */
  tenant?: string;
  /** IANA zone in which `day` is a calendar day (`Europe/Paris`). Default `UTC`. */
  timeZone?: string;
}

/**
 * One group's spend. A dimension's key is present only when grouped by it;
 * `tenant`, `model` and `task` are `null` for records without one.
 */
export interface SpendRow {
  tenant?: string | null;
  model?: string | null;
  task?: string | null;
  /** `YYYY-MM-DD` in the query's time zone. */
  day?: string;
  /** Sum of priced costs, summed exactly in SQL `numeric`. Unpriced requests add nothing here: see `unpricedRequests`. */
  costUsd: number;
  requests: number;
  /** Requests whose cost is unknown (`cost.priced: false`): their spend is missing from `costUsd`, never $0. */
  unpricedRequests: number;
}

const querySchema = z
  .object({
    from: z.date().refine((d) => !Number.isNaN(d.getTime()), "expected a valid Date"),
    to: z.date().refine((d) => !Number.isNaN(d.getTime()), "expected a valid Date"),
    groupBy: z
      .array(z.enum(["tenant", "model", "task", "day"]))
      .refine((dims) => new Set(dims).size === dims.length, "expected each dimension at most once"),
    tenant: z.string().optional(),
    timeZone: z
      .string()
      .refine(isTimeZone, "expected an IANA time zone such as 'UTC' or 'Europe/Paris'")
      .optional(),
  })
  .strict();

/**
 * Runs the spend report behind `PostgresLedger.spendBy`: one GROUP BY query,
 * with the day computed as `time AT TIME ZONE zone`, so a day boundary is
 * the host's midnight and not the server's.
 */
export async function spendBy(pool: Pool, table: string, query: SpendQuery): Promise<SpendRow[]> {
  const parsed = querySchema.safeParse(query);
  if (!parsed.success) {
    const issues = describeZodError(parsed.error, "query");
    throw new InvalidRequestError(`invalid spendBy query:\n  ${issues.join("\n  ")}`, issues);
  }
  const q = parsed.data;
  const params: unknown[] = [q.from, q.to];
  const where = ["time >= $1", "time < $2"];
  if (q.tenant !== undefined) where.push(`tenant = $${params.push(q.tenant)}`);
  const select = q.groupBy.map((dim) => {
    if (dim !== "day") return `${dim} AS "${dim}"`;
    return `to_char(time AT TIME ZONE $${params.push(q.timeZone ?? "UTC")}, 'YYYY-MM-DD') AS "day"`;
  });
  const positions = q.groupBy.map((_, i) => i + 1).join(", ");
  const sql =
    `SELECT ${[
      ...select,
      // numeric text, not a float: the sum is exact until the final conversion below.
      "coalesce(sum(cost_usd), 0)::text AS cost_usd",
      "count(*)::int AS requests",
      "(count(*) FILTER (WHERE NOT priced))::int AS unpriced_requests",
    ].join(", ")} FROM ${table} WHERE ${where.join(" AND ")}` +
    (positions ? ` GROUP BY ${positions} ORDER BY ${positions}` : "");
  const { rows } = await pool.query<Record<string, unknown>>(sql, params);
  return rows.map((row) => {
    const out: SpendRow = {
      costUsd: Number(row.cost_usd),
      requests: row.requests as number,
      unpricedRequests: row.unpriced_requests as number,
    };
    for (const dim of q.groupBy) (out as unknown as Record<string, unknown>)[dim] = row[dim];
    return out;
  });
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
