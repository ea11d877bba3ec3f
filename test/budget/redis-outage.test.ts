// Redis outages against the budget middleware (FAILURES.md B5). The machine's Redis is shared with
// other suites, so it is never stopped: "Redis down at start" is a client pointed at a closed port,
// "Redis stopped mid-run" is the budget's own client disconnected (`client.disconnect()`) while calls
// are in flight and connected again later, and "Redis slow" is a server that accepts connections and
// never answers. To the budget these are what a stopped or stalled server looks like: commands that
// fail or never return on its connection.
import { createServer, type Server, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BudgetExceededError, BudgetUnavailableError, budget } from "../../src/middleware/budget/index.js";
import { budgetClient } from "../../src/middleware/budget/test-client.js";
import type { SpendWindow } from "../../src/storage/memory/counters.js";
import { redisCounters } from "../../src/storage/redis/index.js";
import { type FakeServer, startFakeOpenAI } from "../fakes/index.js";
import { redisAvailable, redisClient, requireOrSkip, uniqueName } from "../services.js";

const redisUp = requireOrSkip("Redis", await redisAvailable());
const limits = [{ scope: "tenant" as const, window: "day" as const, limitUsd: 1 }];
const call = {
  model: "openai:priced",
  messages: [{ role: "user" as const, content: "Hi" }],
  maxOutputTokens: 10,
  metadata: { tenant: "acme" },
};
const today = (): SpendWindow => ({
  id: `day:${new Date().toISOString().slice(0, 10)}`,
  limitMicros: 0,
  ttlMs: 1,
});

let fake: FakeServer;
beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("Redis down at start (a client pointed at a closed port)", () => {
  it("fail-closed refuses with the typed error, fail-open lets calls through; nothing crashes", async () => {
    const down = new Redis({ port: await closedPort(), host: "127.0.0.1", maxRetriesPerRequest: 1 });
    down.on("error", () => {}); // the host's client: its own error handling, not the budget's
    try {
      const counters = redisCounters({ client: down });
      const closed = budgetClient(fake, [budget({ counters, limits, storeTimeoutMs: 300 })]);
      const error = await closed.llm.chat(call).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BudgetUnavailableError);
      expect(fake.requests).toHaveLength(0);
      expect(closed.of("budget-store-error")[0]).toMatchObject({
        policy: "fail-closed",
        operation: "reserve",
      });

      const open = budgetClient(fake, [
        budget({ counters, limits, storeTimeoutMs: 300, onStoreError: "fail-open" }),
      ]);
      const res = await open.llm.chat(call);
      expect(res.meta.state.spend?.unreserved).toBe(true);
      expect(fake.requests).toHaveLength(1);
    } finally {
      down.disconnect();
    }
  });
});

describe.skipIf(!redisUp)(
  "Redis stopped mid-run, then back (a client disconnected while calls are in flight)",
  () => {
    const run = uniqueName("frugal-budget-outage");
    const admin = redisUp ? redisClient() : undefined;
    afterAll(async () => {
      if (!admin) return;
      let cursor = "0";
      do {
        const [next, keys] = await admin.scan(cursor, "MATCH", `${run}*`, "COUNT", 1_000);
        cursor = next;
        for (const key of keys) await admin.unlink(key);
      } while (cursor !== "0");
      await admin.quit();
    });

    for (const policy of ["fail-closed", "fail-open"] as const) {
      it(`${policy}: calls during the outage get the configured behaviour, in-flight spend is settled after, no crash`, async () => {
        const keyPrefix = `${run}:${policy}:`;
        const client = redisClient();
        client.on("error", () => {});
        const spend = budget({
          counters: redisCounters({ client, keyPrefix }),
          limits,
          onStoreError: policy,
          storeRetryMs: 50,
        });
        const { llm } = budgetClient(fake, [spend]);
        const costs: number[] = [];
        const chat = async () => {
          const c = await llm.chat(call);
          costs.push(Math.round(c.cost.usd! * 1e6));
          return c;
        };
        // 10 calls answered slowly: reserved before the outage, settled during it.
        for (let i = 0; i < 10; i++)
          fake.enqueue({
            kind: "slow-first-byte",
            delayMs: 150,
            next: { kind: "text", text: "ok", usage: { input: 10, output: 5 } },
          });
        const inFlight = Array.from({ length: 10 }, chat);
        await sleep(50);
        client.disconnect();
        const during = await Promise.allSettled(Array.from({ length: 5 }, chat));
        if (policy === "fail-closed") {
          expect(
            during.every((r) => r.status === "rejected" && r.reason instanceof BudgetUnavailableError),
          ).toBe(true);
        } else {
          expect(during.every((r) => r.status === "fulfilled")).toBe(true);
        }
        expect((await Promise.all(inFlight)).map((c) => c.text)).toEqual(Array(10).fill("ok"));

        await client.connect();
        await sleep(60);
        const after = await chat();
        expect(after.meta.state.spend?.unreserved).toBeUndefined();
        // Settles that failed during the outage are retried until they land.
        const counters = redisCounters({ client: admin!, keyPrefix });
        const expected = costs.reduce((a, b) => a + b, 0);
        const until = performance.now() + 10_000;
        for (;;) {
          const s = await counters.status("tenant:acme", [today()], Date.now());
          if (s.settledMicros[0] === expected && s.heldMicros === 0) break;
          expect(performance.now(), JSON.stringify({ s, expected })).toBeLessThan(until);
          await sleep(100);
        }
        await client.quit();
      }, 20_000);
    }
  },
);

describe("Redis slow (a server that accepts connections and never answers)", () => {
  let server: Server;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it("a reserve slower than storeTimeoutMs is a store failure: refused fail-closed, within the timeout", async () => {
    const { port } = server.address() as { port: number };
    const stalled = new Redis({ port, host: "127.0.0.1", enableReadyCheck: false, maxRetriesPerRequest: 1 });
    stalled.on("error", () => {});
    try {
      const { llm, of } = budgetClient(fake, [
        budget({ counters: redisCounters({ client: stalled }), limits, storeTimeoutMs: 200 }),
      ]);
      const started = performance.now();
      const error = await llm.chat(call).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BudgetUnavailableError);
      expect(error).not.toBeInstanceOf(BudgetExceededError);
      expect((error as Error).message).toMatch(/did not answer within 200 ms/);
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(of("budget-store-error")).toHaveLength(1);
      expect(fake.requests).toHaveLength(0);
    } finally {
      stalled.disconnect();
    }
  });
});

describe.skipIf(!redisUp)("Redis: amounts past a counter's exact integers", () => {
  const run = uniqueName("frugal-budget-huge");
  const admin = redisUp ? redisClient() : undefined;
  afterAll(async () => {
    if (!admin) return;
    const keys = await admin.keys(`${run}*`);
    if (keys.length) await admin.unlink(...keys);
    await admin.quit();
  });

  it("a worst case past every limit (a huge maxOutputTokens) is refused, not taken for an outage", async () => {
    const client = redisClient();
    try {
      for (const onStoreError of ["fail-open", "fail-closed"] as const) {
        const counters = redisCounters({ client, keyPrefix: `${run}:${onStoreError}:` });
        const { llm, of } = budgetClient(fake, [budget({ counters, limits, onStoreError })]);
        const huge = { ...call, maxOutputTokens: Number.MAX_SAFE_INTEGER };
        expect(await llm.chat(huge).catch((e: unknown) => e)).toBeInstanceOf(BudgetExceededError);
        expect(of("budget-store-error")).toEqual([]);
        fake.enqueue({ kind: "text", text: "ok", usage: { input: 10, output: 5 } });
        expect((await llm.chat(call)).text).toBe("ok"); // the store was not rested: other calls go on
      }
      expect(fake.requests).toHaveLength(2);
    } finally {
      await client.quit();
    }
  });

  it("a limit of up to a billion dollars is reserved against; a larger one is a ConfigError", async () => {
    const client = redisClient();
    try {
      const counters = redisCounters({ client, keyPrefix: `${run}:big:` });
      const big = [{ scope: "tenant" as const, window: "day" as const, limitUsd: 1e9 }];
      const { llm } = budgetClient(fake, [budget({ counters, limits: big })]);
      fake.enqueue({ kind: "text", text: "ok", usage: { input: 10, output: 5 } });
      expect((await llm.chat(call)).text).toBe("ok");
      expect(() => budget({ counters, limits: [{ ...big[0]!, limitUsd: 1e10 }] })).toThrow(/limitUsd/);
    } finally {
      await client.quit();
    }
  });
});
