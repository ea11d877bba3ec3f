// Test-only: a client over the real OpenAI SDK and the wire-level fake, with round prices, a settable
// clock, and every record, event and log line kept. Not part of the package (only tests import it).
import OpenAI from "openai";
import type { FakeServer } from "../../../test/fakes/index.js";
import { createClient, type FrugalClient } from "../../client.js";
import type { Clock } from "../../core/context.js";
import type { CostRecord } from "../../core/cost-record.js";
import type { EventMap, EventName } from "../../core/events.js";
import type { Logger } from "../../core/logger.js";
import type { Middleware } from "../../core/middleware.js";
import type { ChatRequestInput } from "../../core/request.js";
import { priceBook } from "../../pricing/price-book.js";
import { openai } from "../../providers/openai/index.js";
import { costTracker } from "../cost-tracker/index.js";

/** Round prices (USD per million tokens) so that costs are exact in tests. */
export const PRICES = {
  /** $100 per million input and output tokens: 1 token = 100 micro-dollars. */
  "openai:priced": { input: 100, output: 100 },
  /** Output only: `maxOutputTokens: 1000` is a $0.10 worst case. */
  "openai:output-only": { input: 0, output: 100 },
  /** A cheap tier for degraded mode. */
  "openai:cheap": { input: 1, output: 1 },
  /** Cache writes dearer than input, as Anthropic bills them. */
  "openai:cache-dear": { input: 1, output: 2, cacheWrite5m: 1.25, cacheWrite1h: 2 },
};

export interface BudgetTestClient {
  llm: FrugalClient;
  records: CostRecord[];
  logs: { level: string; message: string }[];
  events: { name: EventName; payload: unknown }[];
  /** Moves the client's clock (ms since the epoch). */
  clock: Clock & { set(ms: number): void };
  /** Payloads of one event, typed. */
  of<K extends EventName>(name: K): EventMap[K][];
}

const WATCHED: EventName[] = [
  "budget-exceeded",
  "budget-overflow",
  "budget-soft-limit",
  "budget-degraded",
  "budget-output-shrunk",
  "budget-overrun",
  "budget-store-error",
  "budget-store-recovered",
  "warning",
];

export function budgetClient(
  fake: FakeServer,
  middleware: Middleware[],
  startMs = Date.now(),
): BudgetTestClient {
  const records: CostRecord[] = [];
  const logs: BudgetTestClient["logs"] = [];
  const events: BudgetTestClient["events"] = [];
  let now = startMs;
  let offset = 0;
  const clock = {
    // Real time passing after `set`, so that latencies stay positive.
    now: () => now + offset,
    set(ms: number) {
      now = ms;
      offset = 0;
    },
  };
  const logger: Logger = {
    debug() {},
    info: (message) => void logs.push({ level: "info", message }),
    warn: (message) => void logs.push({ level: "warn", message }),
    error: (message) => void logs.push({ level: "error", message }),
  };
  const llm = createClient({
    providers: {
      openai: openai(new OpenAI({ apiKey: "sk-test-budget", baseURL: fake.baseURL, maxRetries: 0 })),
    },
    prices: priceBook({ overrides: PRICES }),
    middleware: [costTracker({ onRecord: (r) => records.push(r) }), ...middleware],
    logger,
    clock,
  });
  for (const name of WATCHED) llm.on(name, (payload) => events.push({ name, payload }));
  return {
    llm,
    records,
    logs,
    events,
    clock,
    of: <K extends EventName>(name: K) =>
      events.filter((e) => e.name === name).map((e) => e.payload as EventMap[K]),
  };
}

export const ask = (content: string, extra: Partial<ChatRequestInput> = {}): ChatRequestInput => ({
  model: "openai:priced",
  messages: [{ role: "user", content }],
  ...extra,
});

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection, the call succeeded");
}
