import { appendFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/core/errors.js";
import type { Logger } from "../../src/core/logger.js";
import { jsonlLedger } from "../../src/storage/jsonl/ledger.js";
import { memoryLedger } from "../../src/storage/memory/ledger.js";
import { postgresLedger } from "../../src/storage/postgres/index.js";
import { redisLedger } from "../../src/storage/redis/index.js";
import {
  postgresAvailable,
  postgresPool,
  redisAvailable,
  redisClient,
  requireOrSkip,
  uniqueName,
} from "../services.js";
import { ledgerContract } from "./contract.js";
import { costRecords } from "./records.js";

const redisUp = requireOrSkip("Redis", await redisAvailable());
const postgresUp = requireOrSkip("PostgreSQL", await postgresAvailable());
const dir = await mkdtemp(join(tmpdir(), "frugal-ledger-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

ledgerContract("memory", async () => ({ ledger: memoryLedger(), dispose: async () => {} }));

ledgerContract("jsonl", async () => {
  const ledger = jsonlLedger({ path: join(dir, `${uniqueName("contract")}.jsonl`) });
  return { ledger, dispose: () => ledger.close?.() ?? Promise.resolve() };
});

describe.skipIf(!redisUp)("with Redis", () => {
  const client = redisUp ? redisClient() : undefined;
  afterAll(() => client?.quit());
  ledgerContract("redis", async () => {
    const key = `{frugal-test}:${uniqueName("ledger")}`;
    return {
      ledger: redisLedger({ client: client!, key }),
      dispose: async () => void (await client!.del(key)),
    };
  });
});

describe.skipIf(!postgresUp)("with PostgreSQL", () => {
  const pool = postgresUp ? postgresPool() : undefined;
  afterAll(() => pool?.end());
  ledgerContract("postgres", async () => {
    const table = uniqueName("ledger_contract");
    const ledger = postgresLedger({ pool: pool!, table });
    await ledger.migrate();
    return { ledger, dispose: async () => void (await pool!.query(`DROP TABLE IF EXISTS ${table}`)) };
  });
});

describe("memoryLedger", () => {
  it("keeps at most maxRecords, evicting the oldest written and counting them", async () => {
    const ledger = memoryLedger({ maxRecords: 100 });
    const records = costRecords(250);
    await ledger.write(records.slice(0, 120));
    await ledger.write(records.slice(120));
    expect(ledger.size).toBe(100);
    expect(ledger.evicted).toBe(150);
    expect((await ledger.read()).map((r) => r.id)).toEqual(records.slice(150).map((r) => r.id));
  });

  it("does not count a rewritten record as new, nor evict for it", async () => {
    const ledger = memoryLedger({ maxRecords: 3 });
    const records = costRecords(3);
    await ledger.write(records);
    await ledger.write(records);
    expect(ledger.evicted).toBe(0);
    expect(ledger.size).toBe(3);
  });

  it("stores copies: changing a written or read record changes nothing stored", async () => {
    const ledger = memoryLedger();
    const [record] = costRecords(1);
    await ledger.write([record!]);
    record!.tenant = "mutated";
    (await ledger.read())[0]!.tags.push("mutated");
    expect(await ledger.read()).toMatchObject([{ tenant: "acme", tags: ["beta", "eu"] }]);
  });

  it("refuses a bound that is not a positive integer, naming the option", () => {
    expect(() => memoryLedger({ maxRecords: 0 })).toThrow(ConfigError);
    expect(() => memoryLedger({ maxRecords: Number.POSITIVE_INFINITY })).toThrow(/options\.maxRecords/);
  });
});

describe("jsonlLedger", () => {
  const quiet = (): Logger & { warnings: string[] } => {
    const warnings: string[] = [];
    return { warnings, debug() {}, info() {}, warn: (m) => void warnings.push(m), error() {} };
  };

  it("writes one JSON line per record, creating missing directories", async () => {
    const path = join(dir, uniqueName("nested"), "deeper", "ledger.jsonl");
    const ledger = jsonlLedger({ path });
    const records = costRecords(3);
    await ledger.write(records);
    const lines = (await readFile(path, "utf8")).split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe("");
    expect(lines.slice(0, 3).map((l) => JSON.parse(l))).toStrictEqual(records);
    await ledger.close?.();
  });

  it("skips a torn last line, and the next write cannot glue a record onto it", async () => {
    const path = join(dir, `${uniqueName("torn")}.jsonl`);
    const records = costRecords(4);
    const before = jsonlLedger({ path });
    await before.write(records.slice(0, 2));
    await before.close?.();
    // What kill -9 in the middle of a write leaves: half of a line, no newline.
    const line = JSON.stringify(records[2]);
    await appendFile(path, line.slice(0, line.length / 2));

    const log = quiet();
    const after = jsonlLedger({ path, logger: log });
    expect(await after.read()).toStrictEqual(records.slice(0, 2));
    expect(log.warnings.join()).toMatch(/skipped 1 unreadable line/);

    await after.write([records[3]!]);
    expect(await after.read()).toStrictEqual([records[0], records[1], records[3]]);
    await after.close?.();
  });

  it("reads an empty list when the file does not exist yet", async () => {
    expect(await jsonlLedger({ path: join(dir, "missing", "ledger.jsonl") }).read()).toEqual([]);
  });

  it("goes on writing after close, reopening the file", async () => {
    const ledger = jsonlLedger({ path: join(dir, `${uniqueName("reopen")}.jsonl`) });
    const records = costRecords(2);
    await ledger.write([records[0]!]);
    await ledger.close?.();
    await ledger.write([records[1]!]);
    expect(await ledger.read()).toStrictEqual(records);
    await ledger.close?.();
  });

  it("refuses an empty path, naming the option", () => {
    expect(() => jsonlLedger({ path: "" })).toThrow(/options\.path/);
  });
});
