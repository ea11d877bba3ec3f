import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/core/errors.js";
import { redisLedger } from "../../src/storage/redis/index.js";
import { redisAvailable, redisClient, requireOrSkip, uniqueName } from "../services.js";
import { costRecord, costRecords } from "./records.js";

const redisUp = requireOrSkip("Redis", await redisAvailable());

describe.skipIf(!redisUp)("redisLedger", () => {
  const client = redisUp ? redisClient() : undefined;
  const keys: string[] = [];
  const newKey = () => {
    const key = `{frugal-test}:${uniqueName("ledger")}`;
    keys.push(key);
    return key;
  };
  afterAll(async () => {
    if (keys.length) await client!.del(...keys);
    await client?.quit();
  });

  it("caps the stream near maxLen, keeping the newest records", async () => {
    const key = newKey();
    const ledger = redisLedger({ client: client!, key, maxLen: 50 });
    const records = costRecords(1000);
    for (let i = 0; i < 1000; i += 100) await ledger.write(records.slice(i, i + 100));
    // MAXLEN ~ trims whole stream nodes: never below maxLen, at most one node above it.
    const [, nodeSize] = (await client!.config("GET", "stream-node-max-entries")) as [string, string];
    const length = await client!.xlen(key);
    expect(length).toBeGreaterThanOrEqual(50);
    expect(length).toBeLessThanOrEqual(50 + Number(nodeSize));
    const kept = await ledger.read();
    expect(kept.map((r) => r.id)).toEqual(records.slice(1000 - length).map((r) => r.id));
  });

  it("finds a record that arrived long after its time (a retried batch)", async () => {
    const ledger = redisLedger({ client: client!, key: newKey() });
    const hourAgo = Date.now() - 3_600_000;
    const late = costRecord({ time: new Date(hourAgo).toISOString() });
    await ledger.write([late]);
    const read = await ledger.read({ from: new Date(hourAgo - 60_000), to: new Date(hourAgo + 60_000) });
    expect(read).toStrictEqual([late]);
  });

  it("reads a stream longer than one XRANGE page", async () => {
    const ledger = redisLedger({ client: client!, key: newKey() });
    const records = costRecords(2500, (i) => ({ tenant: i % 2 ? "odd" : "even" }));
    await ledger.write(records);
    expect(await ledger.read({ tenant: "odd" })).toStrictEqual(records.filter((_, i) => i % 2));
  });

  it("skips stream entries that are not cost records", async () => {
    const key = newKey();
    const ledger = redisLedger({ client: client!, key });
    const [record] = costRecords(1);
    await client!.xadd(key, "*", "other", "field");
    await client!.xadd(key, "*", "record", "{not json");
    await ledger.write([record!]);
    expect(await ledger.read()).toStrictEqual([record]);
  });

  it("uses a hash-tagged key by default and leaves the host's connection open", async () => {
    const ledger = redisLedger({ client: client! });
    await ledger.close?.();
    expect(client!.status).toBe("ready");
    expect(await client!.ping()).toBe("PONG");
    // The default key is only written by a write; this test does not write to it.
    expect(ledger.name).toBe("redis");
  });

  it("refuses a missing client or a bad cap, naming the option", () => {
    expect(() => redisLedger({ client: {} as never })).toThrow(/options\.client/);
    expect(() => redisLedger({ client: client!, maxLen: 0 })).toThrow(ConfigError);
    expect(() => redisLedger({ client: client!, key: "" })).toThrow(/options\.key/);
  });
});
