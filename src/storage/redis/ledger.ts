import type { Cluster, Redis } from "ioredis";
import { z } from "zod";
import type { CostRecord } from "../../core/cost-record.js";
import { parseOptions } from "../../core/options.js";
import type { Ledger, LedgerQuery } from "../ledger.js";
import { isCostRecord, parseLedgerQuery, selectRecords } from "../ledger-query.js";

export interface RedisLedgerOptions {
  /** The host's ioredis client (`Redis` or `Cluster`). The ledger never connects, quits or disconnects it. */
  client: Redis | Cluster;
  /**
   * The stream key. Default `{frugal}:ledger`. A stream is one key, so every
   * command here touches a single hash slot and works on Redis Cluster under
   * any name; the `{frugal}` hash tag keeps the ledger in the same slot as
   * other `{frugal}` keys for a host that wants to script across them.
   */
  key?: string;
  /**
   * Approximate cap on stream entries (`XADD ... MAXLEN ~`): the oldest are
   * trimmed in whole stream nodes, so the stream may hold up to ~100 more.
   * Default 1,000,000. The stream is a recent window; use PostgreSQL for history.
   */
  maxLen?: number;
  /**
   * How far the Redis server's clock may lag the host's. Stream ids are the
   * server's arrival time, so `read({ from })` starts scanning this much
   * earlier than `from`, then filters by the record's own `time`. Default 300,000 (5 min).
   */
  maxClockSkewMs?: number;
}

const optionsSchema = z
  .object({
    client: z.custom<Redis | Cluster>(
      (c) => typeof (c as Redis)?.pipeline === "function" && typeof (c as Redis)?.xrange === "function",
      "expected an ioredis client (new Redis(...) or new Cluster(...))",
    ),
    key: z.string().min(1).default("{frugal}:ledger"),
    maxLen: z.number().int().positive().default(1_000_000),
    maxClockSkewMs: z.number().int().nonnegative().default(300_000),
  })
  .strict();

/** Entries fetched per XRANGE call: bounded replies, so one read never stalls the server. */
const PAGE = 1_000;
const FIELD = "record";

/**
 * Creates a ledger over a capped Redis stream, shared by every instance of a
 * service. Each `write` sends its batch in one pipeline of
 * `XADD key MAXLEN ~ maxLen * record <json>`.
 *
 * `read` scans by stream id (arrival time) from `from - maxClockSkewMs` to
 * the end of the stream, because a record can arrive long after its `time`
 * (a buffered retry), then filters precisely by the record's `time` and tenant.
 * A retried batch can append a record twice; `read` returns the first copy.
 *
 * @example
 * import { Redis } from "ioredis";
 * const ledger = redisLedger({ client: new Redis(process.env.REDIS_URL), maxLen: 500_000 });
 * await ledger.write(records);
 * const lastHour = await ledger.read({ from: new Date(Date.now() - 3_600_000), tenant: "acme" });
 */
export function redisLedger(options: RedisLedgerOptions): Ledger {
  const { client, key, maxLen, maxClockSkewMs } = parseOptions(optionsSchema, options, "redisLedger");

  return {
    name: "redis",
    async write(records) {
      if (records.length === 0) return;
      const pipeline = client.pipeline();
      for (const record of records) {
        pipeline.xadd(key, "MAXLEN", "~", maxLen, "*", FIELD, JSON.stringify(record));
      }
      const results = await pipeline.exec();
      // exec resolves even when single commands fail; any failure makes the batch fail so that
      // the writer retries it (duplicates are harmless: read keeps the first copy).
      if (!results) throw new Error(`redisLedger: the pipeline to ${key} was discarded`);
      const failed = results.find(([error]) => error);
      if (failed) throw failed[0];
    },
    async read(query?: LedgerQuery) {
      const q = parseLedgerQuery(query);
      const start = Number.isFinite(q.fromMs) ? String(Math.max(0, q.fromMs - maxClockSkewMs)) : "-";
      return selectRecords(await scan(client, key, start), q);
    },
    async close() {
      // Nothing to release: the connection is the host's.
    },
  };
}

async function scan(client: Redis | Cluster, key: string, start: string): Promise<CostRecord[]> {
  const records: CostRecord[] = [];
  let from = start;
  for (;;) {
    const page = await client.xrange(key, from, "+", "COUNT", PAGE);
    for (const [, fields] of page) {
      const record = parseEntry(fields);
      if (record) records.push(record);
    }
    if (page.length < PAGE) return records;
    // "(" makes the next page start after the last id seen (exclusive range, Redis >= 6.2).
    from = `(${page[page.length - 1]![0]}`;
  }
}

/** The record of one stream entry, or undefined for an entry some other writer added. */
function parseEntry(fields: string[]): CostRecord | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] !== FIELD) continue;
    try {
      const value: unknown = JSON.parse(fields[i + 1]!);
      return isCostRecord(value) ? value : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
