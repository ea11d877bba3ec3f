import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, InvalidRequestError } from "../../src/core/errors.js";
import { type PostgresLedger, postgresLedger } from "../../src/storage/postgres/index.js";
import { postgresAvailable, postgresPool, requireOrSkip, uniqueName } from "../services.js";
import { at, costRecord, pricedCost, unpricedCost } from "./records.js";

const postgresUp = requireOrSkip("PostgreSQL", await postgresAvailable());

describe.skipIf(!postgresUp)("postgresLedger", () => {
  const pool = postgresUp ? postgresPool() : undefined;
  const tables: string[] = [];
  const ledgerFor = async (): Promise<PostgresLedger> => {
    const table = uniqueName("ledger_pg");
    tables.push(table);
    const ledger = postgresLedger({ pool: pool!, table });
    await ledger.migrate();
    return ledger;
  };
  afterAll(async () => {
    for (const table of tables) await pool!.query(`DROP TABLE IF EXISTS ${table}`);
    await pool?.end();
  });

  describe("spendBy", () => {
    let ledger: PostgresLedger;
    // Micro-dollar amounts whose float sum is inexact (0.1 + 0.2): the SQL sum must be exact.
    const spend = [
      { tenant: "acme", model: "gpt-4o-mini", task: "chat", t: 0, usd: 0.1 },
      { tenant: "acme", model: "gpt-4o-mini", task: "chat", t: 60, usd: 0.2 },
      { tenant: "acme", model: "gpt-4o", task: "summary", t: 3600 * 23.5, usd: 1.000001 },
      { tenant: "acme", model: "mystery", task: "chat", t: 3600 * 24.5, usd: null },
      { tenant: "globex", model: "gpt-4o", task: "chat", t: 3600 * 25, usd: 0.000003 },
      { tenant: "globex", model: "mystery", task: "summary", t: 3600 * 26, usd: null },
      { tenant: null, model: "gpt-4o-mini", task: null, t: 3600 * 30, usd: 0.5 },
      // Outside [from, to): never counted.
      { tenant: "acme", model: "gpt-4o", task: "chat", t: 3600 * 48, usd: 100 },
    ];
    const from = at(0);
    const to = at(3600 * 48);

    beforeAll(async () => {
      ledger = await ledgerFor();
      await ledger.write(
        spend.map((s) =>
          costRecord({
            tenant: s.tenant,
            model: s.model,
            task: s.task,
            time: at(s.t).toISOString(),
            cost: s.usd === null ? unpricedCost : pricedCost(s.usd),
          }),
        ),
      );
    });

    it("sums spend by tenant exactly, counting unpriced requests apart", async () => {
      expect(await ledger.spendBy({ from, to, groupBy: ["tenant"] })).toEqual([
        { tenant: "acme", costUsd: 1.300001, requests: 4, unpricedRequests: 1 },
        { tenant: "globex", costUsd: 0.000003, requests: 2, unpricedRequests: 1 },
        { tenant: null, costUsd: 0.5, requests: 1, unpricedRequests: 0 },
      ]);
    });

    it("groups by model and task together, and filters by tenant", async () => {
      expect(await ledger.spendBy({ from, to, groupBy: ["model", "task"], tenant: "acme" })).toEqual([
        { model: "gpt-4o", task: "summary", costUsd: 1.000001, requests: 1, unpricedRequests: 0 },
        { model: "gpt-4o-mini", task: "chat", costUsd: 0.3, requests: 2, unpricedRequests: 0 },
        { model: "mystery", task: "chat", costUsd: 0, requests: 1, unpricedRequests: 1 },
      ]);
    });

    it("buckets days in UTC by default", async () => {
      expect(await ledger.spendBy({ from, to, groupBy: ["day"] })).toEqual([
        { day: "2025-03-01", costUsd: 1.300001, requests: 3, unpricedRequests: 0 },
        { day: "2025-03-02", costUsd: 0.500003, requests: 4, unpricedRequests: 2 },
      ]);
    });

    it("buckets days at the host's midnight with timeZone", async () => {
      // In Tokyo (UTC+9) 23:30Z is already the next day; 00:00Z and 00:01Z are 09:00 and 09:01.
      const rows = await ledger.spendBy({ from, to, groupBy: ["day"], timeZone: "Asia/Tokyo" });
      expect(rows).toEqual([
        { day: "2025-03-01", costUsd: 0.3, requests: 2, unpricedRequests: 0 },
        { day: "2025-03-02", costUsd: 1.500004, requests: 5, unpricedRequests: 2 },
      ]);
    });

    it("gives one total row without grouping", async () => {
      expect(await ledger.spendBy({ from, to, groupBy: [] })).toEqual([
        { costUsd: 1.800004, requests: 7, unpricedRequests: 2 },
      ]);
    });

    it("rejects a bad report query, naming the field", async () => {
      await expect(ledger.spendBy({ from, to, groupBy: ["day"], timeZone: "Mars/Olympus" })).rejects.toThrow(
        /query\.timeZone/,
      );
      await expect(ledger.spendBy({ from, to, groupBy: ["tenant", "tenant"] })).rejects.toBeInstanceOf(
        InvalidRequestError,
      );
      await expect(ledger.spendBy({ from, to, groupBy: ["user" as "tenant"] })).rejects.toThrow(
        /query\.groupBy\[0\]/,
      );
    });
  });

  it("fills the report columns from the record", async () => {
    const ledger = await ledgerFor();
    const priced = costRecord({ latencyMs: 812.6, savingsUsd: 0.02 });
    const unpriced = costRecord({ cost: unpricedCost, savingsUsd: null, tenant: null });
    await ledger.write([priced, unpriced]);
    const { rows } = await pool!.query(
      `SELECT id, tenant, user_id, cost_usd, priced, input_tokens, cache_read_tokens, cache_write_tokens,
              output_tokens, reasoning_tokens, savings_usd, latency_ms FROM ${tables.at(-1)} ORDER BY priced DESC`,
    );
    expect(rows).toEqual([
      {
        id: priced.id,
        tenant: "acme",
        user_id: "user-42",
        cost_usd: "0.001234",
        priced: true,
        input_tokens: 1200,
        cache_read_tokens: 800,
        cache_write_tokens: 42,
        output_tokens: 350,
        reasoning_tokens: 120,
        savings_usd: "0.02",
        latency_ms: 813,
      },
      expect.objectContaining({
        id: unpriced.id,
        tenant: null,
        cost_usd: null,
        priced: false,
        savings_usd: null,
      }),
    ]);
  });

  it("stores a record holding a NUL character instead of failing the batch", async () => {
    const ledger = await ledgerFor();
    const record = costRecord({ task: "a\u0000b", prompt: "x\u0000y" });
    await ledger.write([record]);
    expect(await ledger.read()).toStrictEqual([{ ...record, task: "a\uFFFDb", prompt: "x\uFFFDy" }]);
  });

  it("migrates idempotently, from several callers at once", async () => {
    const table = uniqueName("ledger_pg_migrate");
    tables.push(table);
    const ledgers = Array.from({ length: 4 }, () => postgresLedger({ pool: pool!, table }));
    await Promise.all(ledgers.map((l) => l.migrate()));
    await ledgers[0]!.migrate();
    const { rows } = await pool!.query("SELECT indexname FROM pg_indexes WHERE tablename = $1 ORDER BY 1", [
      table,
    ]);
    expect(rows.map((r) => r.indexname)).toEqual([
      `${table}_pkey`,
      `${table}_tenant_time_idx`,
      `${table}_time_idx`,
    ]);
  });

  it("refuses a table name that is not a plain identifier, since it is interpolated into SQL", () => {
    for (const table of ["x; DROP TABLE users", "public.ledger", "1abc", "a".repeat(48), ""]) {
      expect(() => postgresLedger({ pool: pool!, table })).toThrow(ConfigError);
    }
    expect(() => postgresLedger({ pool: pool!, table: "bad-name" })).toThrow(/options\.table/);
  });
});
