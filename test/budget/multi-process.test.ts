import { type ChildProcess, spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { SpendWindow } from "../../src/storage/memory/counters.js";
import { redisCounters } from "../../src/storage/redis/index.js";
import { type FakeServer, startFakeOpenAI } from "../fakes/index.js";
import { redisAvailable, redisClient, redisUrl, requireOrSkip, uniqueName } from "../services.js";
import type { WorkerConfig, WorkerReport } from "./worker.js";

const WORKER = fileURLToPath(new URL("./worker.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const redisUp = requireOrSkip("Redis", await redisAvailable());

/** Today's UTC day window (the budget's default time zone). */
const today = (): SpendWindow => ({
  id: `day:${new Date().toISOString().slice(0, 10)}`,
  limitMicros: 1_000_000,
  ttlMs: 86_400_000,
});

describe.skipIf(!redisUp)("budget across 4 processes sharing one Redis (FAILURES.md B1, B2)", () => {
  let fake: FakeServer;
  let client: Redis;
  const run = uniqueName("frugal-budget-mp");
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    client = redisClient();
  });
  afterAll(async () => {
    await fake?.close();
    if (!client) return;
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${run}*`, "COUNT", 1_000);
      cursor = next;
      for (const key of keys) await client.unlink(key);
    } while (cursor !== "0");
    await client.quit();
  });
  beforeEach(() => fake.reset());

  const config = (overrides: Partial<WorkerConfig>): WorkerConfig => ({
    mode: "burst",
    baseURL: fake.baseURL,
    redisUrl,
    keyPrefix: `${run}:`,
    tenant: "acme",
    limitUsd: 1,
    requests: 250,
    concurrency: 250,
    maxOutputTokens: 60,
    holdTtlMs: 600_000,
    label: "worker",
    ...overrides,
  });

  function start(c: WorkerConfig): {
    child: ChildProcess;
    stdout: () => string;
    exited: Promise<number | null>;
  } {
    const child = spawn(process.execPath, ["--import", "tsx", WORKER, JSON.stringify(c)], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout!.on("data", (chunk) => {
      out += chunk;
    });
    child.stderr!.on("data", (chunk) => {
      err += chunk;
    });
    const exited = new Promise<number | null>((resolve) =>
      child.on("exit", (code) => {
        if (code !== 0 && code !== null) console.error(`worker ${c.label} exited ${code}: ${err}`);
        resolve(code);
      }),
    );
    return { child, stdout: () => out, exited };
  }

  async function burst(count: number, overrides: Partial<WorkerConfig>): Promise<WorkerReport[]> {
    const workers = Array.from({ length: count }, (_, i) => start(config({ ...overrides, label: `w${i}` })));
    return Promise.all(
      workers.map(async (w) => {
        expect(await w.exited).toBe(0);
        return JSON.parse(w.stdout().trim()) as WorkerReport;
      }),
    );
  }

  const sum = (reports: WorkerReport[], key: "admitted" | "refused" | "spentMicros") =>
    reports.reduce((n, r) => n + r[key], 0);

  it("1,000 concurrent requests against $1.00/day never spend over $1.00, refuse the rest with the typed error, and settle frees the limit", {
    timeout: 120_000,
  }, async () => {
    const keyPrefix = `${run}:burst:`;
    const counters = redisCounters({ client, keyPrefix });
    const status = () => counters.status("tenant:acme", [today()], Date.now());

    // Phase 1: 4 processes x 250 calls at once. Each call's worst case is ~$0.009 (input bound
    // + 60 output tokens at $100/M) and its actual cost ~$0.002.
    const first = await burst(4, { keyPrefix });
    expect(first.flatMap((r) => r.otherErrors)).toEqual([]);
    expect(sum(first, "admitted") + sum(first, "refused")).toBe(1_000);
    expect(sum(first, "refused")).toBeGreaterThan(0);
    expect(fake.requests).toHaveLength(sum(first, "admitted"));
    let s = await status();
    expect(s.heldMicros).toBe(0);
    expect(s.settledMicros[0]).toBe(sum(first, "spentMicros"));
    expect(s.settledMicros[0]).toBeLessThanOrEqual(1_000_000);

    // Phase 2: the holds were released at settle, so the unused part of the limit is spendable.
    const second = await burst(4, { keyPrefix, concurrency: 4 });
    expect(second.flatMap((r) => r.otherErrors)).toEqual([]);
    expect(sum(second, "admitted")).toBeGreaterThan(sum(first, "admitted"));
    // Phase 3: one call at a time, until refused: all but less than one worst case gets used.
    const third = await burst(1, { keyPrefix, concurrency: 1, requests: 100 });
    expect(third[0]!.refused).toBeGreaterThan(0);

    s = await status();
    const spent = sum([...first, ...second, ...third], "spentMicros");
    expect(s).toEqual({ settledMicros: [spent], heldMicros: 0 });
    expect(spent).toBeLessThanOrEqual(1_000_000);
    expect(1_000_000 - spent).toBeLessThan(10_000);
    expect(fake.requests).toHaveLength(sum([...first, ...second, ...third], "admitted"));
  });

  it("B2: a reservation held by a killed process expires, and the limit is whole again", {
    timeout: 30_000,
  }, async () => {
    const keyPrefix = `${run}:kill:`;
    const counters = redisCounters({ client, keyPrefix });
    const window = { ...today(), limitMicros: 50_000 };
    fake.enqueue({ kind: "hang" });
    const worker = start(
      config({ mode: "hold", keyPrefix, limitUsd: 0.05, maxOutputTokens: 400, holdTtlMs: 1_500 }),
    );
    while (!worker.stdout().includes("reserved")) await sleep(20);
    const held = (await counters.status("tenant:acme", [window], Date.now())).heldMicros;
    expect(held).toBeGreaterThan(40_000);
    const probe = (id: string) =>
      counters.reserve("tenant:acme", [window], { id, amountMicros: 50_000, ttlMs: 1_000 }, Date.now());
    expect((await probe("while-held")).ok).toBe(false);

    worker.child.kill("SIGKILL");
    await worker.exited;
    expect((await counters.status("tenant:acme", [window], Date.now())).heldMicros).toBe(held);
    const until = performance.now() + 5_000;
    while ((await counters.status("tenant:acme", [window], Date.now())).heldMicros > 0) {
      expect(performance.now()).toBeLessThan(until);
      await sleep(100);
    }
    expect((await probe("after-expiry")).ok).toBe(true);
  });
});
