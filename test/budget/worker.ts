// One process of the multi-process budget test (multi-process.test.ts): a client over the real OpenAI
// SDK, pointed at the parent's fake server, with the budget middleware on Redis counters.
//
//   node --import tsx test/budget/worker.ts '<json WorkerConfig>'
//
// "burst": fires `requests` calls, at most `concurrency` at a time, then prints one JSON line
// (WorkerReport) and exits. "hold": makes one call whose provider answer never comes, prints
// "reserved" once the budget let it through (its reservation is held), and waits to be killed.
import { Redis } from "ioredis";
import OpenAI from "openai";
import { createClient, type Middleware, priceBook } from "../../src/index.js";
import { BudgetExceededError, budget } from "../../src/middleware/budget/index.js";
import { openai } from "../../src/providers/openai/index.js";
import { redisCounters } from "../../src/storage/redis/index.js";

export interface WorkerConfig {
  mode: "burst" | "hold";
  baseURL: string;
  redisUrl: string;
  keyPrefix: string;
  tenant: string;
  limitUsd: number;
  requests: number;
  concurrency: number;
  maxOutputTokens: number;
  holdTtlMs: number;
  label: string;
}

export interface WorkerReport {
  admitted: number;
  refused: number;
  /** Names of errors other than BudgetExceededError (there should be none). */
  otherErrors: string[];
  /** What the admitted calls cost, in micro-dollars, as the ledger would record them. */
  spentMicros: number;
}

/** $100 per million tokens: each token costs 100 micro-dollars, so costs are exact integers. */
export const MODEL = "openai:budget-test";
export const PRICES = { [MODEL]: { input: 100, output: 100 } };

const config = JSON.parse(process.argv[2]!) as WorkerConfig;
const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 2_000 });
const reached: Middleware = {
  name: "reached",
  handle(ctx, next) {
    if (config.mode === "hold") process.stdout.write("reserved\n");
    return next(ctx);
  },
};
const llm = createClient({
  providers: {
    openai: openai(new OpenAI({ apiKey: "sk-test-worker", baseURL: config.baseURL, maxRetries: 0 })),
  },
  prices: priceBook({ overrides: PRICES }),
  middleware: [
    budget({
      counters: redisCounters({ client: redis, keyPrefix: config.keyPrefix }),
      limits: [{ scope: "tenant", window: "day", limitUsd: config.limitUsd }],
      holdTtlMs: config.holdTtlMs,
      storeTimeoutMs: 10_000,
    }),
    reached,
  ],
  logger: { debug() {}, info() {}, warn: (m) => console.error(m), error: (m) => console.error(m) },
});

const call = (i: number) =>
  llm.chat({
    model: MODEL,
    messages: [{ role: "user", content: `Hi from ${config.label} request ${i}` }],
    maxOutputTokens: config.maxOutputTokens,
    metadata: { tenant: config.tenant },
  });

if (config.mode === "hold") {
  await call(0);
} else {
  const report: WorkerReport = { admitted: 0, refused: 0, otherErrors: [], spentMicros: 0 };
  let nextIndex = 0;
  const lane = async () => {
    while (nextIndex < config.requests) {
      const i = nextIndex++;
      try {
        const completion = await call(i);
        report.admitted++;
        report.spentMicros += Math.round(completion.cost.usd! * 1e6);
      } catch (error) {
        if (error instanceof BudgetExceededError) report.refused++;
        else report.otherErrors.push(`${(error as Error).name}: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: config.concurrency }, lane));
  process.stdout.write(`${JSON.stringify(report)}\n`);
  await redis.quit();
}
