import type { Pool } from "pg";
import { z } from "zod";
import type { CostRecord } from "../../core/cost-record.js";
import { parseOptions } from "../../core/options.js";
import type { Ledger, LedgerQuery } from "../ledger.js";
import { parseLedgerQuery } from "../ledger-query.js";
import { type SpendQuery, type SpendRow, spendBy } from "./spend.js";

export interface PostgresLedgerOptions {
  /** The host's `pg.Pool`. The ledger borrows connections for single statements and never ends the pool. */
  pool: Pool;
  /**
   * Table name, interpolated into SQL, so it must match `/^[a-z_][a-z0-9_]*$/i`
   * (no schema prefix; use the connection's `search_path`) and be at most 47
   * characters, which keeps the derived index names within PostgreSQL's
   * 63-character limit. Unquoted, so it is folded to lower case. Default `frugal_cost_records`.
   */
  table?: string;
}

/** A durable, queryable ledger: a `Ledger` plus its migration and SQL spend reports. */
export interface PostgresLedger extends Ledger {
  /** Creates the table and its indexes if missing. Safe to call from many instances at once. */
  migrate(): Promise<void>;
  /** Spend between two instants, grouped in SQL. See {@link SpendQuery}. */
  spendBy(query: SpendQuery): Promise<SpendRow[]>;
}

const optionsSchema = z
  .object({
    pool: z.custom<Pool>(
      (p) => typeof (p as Pool)?.query === "function" && typeof (p as Pool)?.connect === "function",
      "expected a pg.Pool",
    ),
    table: z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/i, "expected a plain SQL identifier: letters, digits and '_'")
      .max(47)
      .default("frugal_cost_records"),
  })
  .strict();

/**
 * Creates a ledger in a PostgreSQL table. Each `write` is one
 * `INSERT ... SELECT FROM unnest(...) ON CONFLICT (id) DO NOTHING`: one
 * statement whatever the batch size (arrays, not one parameter per value,
 * so a large batch never hits the 65,535-parameter limit), committed before
 * it resolves, and idempotent: re-writing a record keeps the first copy.
 *
 * The full record is kept in `record jsonb` and returned as written; the
 * other columns exist for indexes and SQL reports. PostgreSQL refuses the
 * NUL character in text and jsonb, so NULs are stored as U+FFFD rather than
 * letting one odd string block every later batch.
 *
 * @example
 * import pg from "pg";
 * const ledger = postgresLedger({ pool: new pg.Pool({ connectionString: process.env.DATABASE_URL }) });
 * await ledger.migrate();
 * await ledger.write(records);
 * const rows = await ledger.spendBy({ from, to, groupBy: ["tenant", "day"], timeZone: "Europe/Paris" });
 */
export function postgresLedger(options: PostgresLedgerOptions): PostgresLedger {
  const { pool, table } = parseOptions(optionsSchema, options, "postgresLedger");

  return {
    name: "postgres",
    async migrate() {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        // Concurrent CREATE TABLE IF NOT EXISTS can still collide in the catalog; a lock per table
        // name lets many instances migrate at start-up.
        await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`frugal-llm:${table}`]);
        await client.query(createTableSql(table));
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    async write(records) {
      if (records.length === 0) return;
      await pool.query(insertSql(table), columnArrays(records));
    },
    async read(query?: LedgerQuery) {
      const q = parseLedgerQuery(query);
      const where: string[] = [];
      const params: unknown[] = [];
      if (Number.isFinite(q.fromMs)) where.push(`time >= $${params.push(new Date(q.fromMs))}`);
      if (Number.isFinite(q.toMs)) where.push(`time < $${params.push(new Date(q.toMs))}`);
      if (q.tenant !== undefined) where.push(`tenant = $${params.push(q.tenant)}`);
      const limit = Number.isFinite(q.limit) ? ` LIMIT $${params.push(q.limit)}` : "";
      const sql =
        `SELECT record FROM ${table}` +
        (where.length ? ` WHERE ${where.join(" AND ")}` : "") +
        // COLLATE "C": byte order for ties, the same order the other adapters use.
        ` ORDER BY time, id COLLATE "C"${limit}`;
      const { rows } = await pool.query<{ record: CostRecord }>(sql, params);
      return rows.map((row) => row.record);
    },
    spendBy: (query) => spendBy(pool, table, query),
    async close() {
      // Nothing to release: the pool is the host's.
    },
  };
}

function createTableSql(table: string): string {
  return `
    CREATE TABLE IF NOT EXISTS ${table} (
      id text PRIMARY KEY,
      time timestamptz NOT NULL,
      tenant text,
      user_id text,
      task text,
      provider text,
      model text,
      status text NOT NULL,
      cost_usd numeric,
      priced boolean NOT NULL,
      input_tokens integer NOT NULL,
      cache_read_tokens integer NOT NULL,
      cache_write_tokens integer NOT NULL,
      output_tokens integer NOT NULL,
      reasoning_tokens integer NOT NULL,
      savings_usd numeric,
      latency_ms integer NOT NULL,
      record jsonb NOT NULL
    );
    CREATE INDEX IF NOT EXISTS ${table}_tenant_time_idx ON ${table} (tenant, time);
    CREATE INDEX IF NOT EXISTS ${table}_time_idx ON ${table} (time);`;
}

const COLUMNS: readonly [name: string, type: string][] = [
  ["id", "text"],
  ["time", "timestamptz"],
  ["tenant", "text"],
  ["user_id", "text"],
  ["task", "text"],
  ["provider", "text"],
  ["model", "text"],
  ["status", "text"],
  ["cost_usd", "numeric"],
  ["priced", "boolean"],
  ["input_tokens", "integer"],
  ["cache_read_tokens", "integer"],
  ["cache_write_tokens", "integer"],
  ["output_tokens", "integer"],
  ["reasoning_tokens", "integer"],
  ["savings_usd", "numeric"],
  ["latency_ms", "integer"],
  ["record", "jsonb"],
];

function insertSql(table: string): string {
  const names = COLUMNS.map(([name]) => name).join(", ");
  const arrays = COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(", ");
  return `INSERT INTO ${table} (${names}) SELECT * FROM unnest(${arrays}) ON CONFLICT (id) DO NOTHING`;
}

/** One array per column, in `COLUMNS` order. */
function columnArrays(records: readonly CostRecord[]): unknown[][] {
  const arrays: unknown[][] = COLUMNS.map(() => []);
  for (const r of records) {
    const u = r.usage;
    const row = [
      clean(r.id),
      r.time,
      clean(r.tenant),
      clean(r.user),
      clean(r.task),
      clean(r.provider),
      clean(r.model),
      clean(r.status),
      r.cost.priced ? r.cost.usd : null,
      r.cost.priced,
      // Integer columns: estimated usage may be fractional; the exact figures stay in `record`.
      Math.round(u.inputTokens),
      Math.round(u.cacheReadTokens),
      Math.round(u.cacheWrite5mTokens + u.cacheWrite1hTokens),
      Math.round(u.outputTokens),
      Math.round(u.reasoningTokens),
      r.savingsUsd,
      Math.round(r.latencyMs),
      JSON.stringify(r, (_key, value) => (typeof value === "string" ? clean(value) : value)),
    ];
    for (const [i, value] of row.entries()) arrays[i]!.push(value);
  }
  return arrays;
}

function clean<T extends string | null>(text: T): T {
  return (text === null ? text : text.replaceAll("\u0000", "\uFFFD")) as T;
}
