// Test-only: a client over the real SDKs pointed at the wire-level fakes, with a cost tracker that keeps
// every record, and every log line and watched event kept. The suites' own helpers
// (src/middleware/*/test-client.ts) add their defaults on top of this one.
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { createClient, type FrugalClient } from "../../src/client.js";
import type { Clock } from "../../src/core/context.js";
import type { CostRecord } from "../../src/core/cost-record.js";
import type { EventMap, EventName } from "../../src/core/events.js";
import type { Logger } from "../../src/core/logger.js";
import type { Middleware } from "../../src/core/middleware.js";
import type { PriceBook } from "../../src/core/pricing.js";
import { costTracker } from "../../src/middleware/cost-tracker/index.js";
import { anthropic } from "../../src/providers/anthropic/index.js";
import { openai } from "../../src/providers/openai/index.js";
import type { TokenEstimator } from "../../src/tokens/estimator.js";
import type { FakeServer } from "./fake-server.js";

export interface FakeClientOptions {
  /** The SDKs' `maxRetries`: 0 by default (failures stay quick); `"sdk-default"` builds them as a host does. */
  sdkMaxRetries?: number | "sdk-default";
  clock?: Clock;
  prices?: PriceBook;
  /** Events kept in `events`, in order. Default: none. */
  listen?: readonly EventName[];
  /** The client's token estimator. Default: its own. */
  tokens?: TokenEstimator;
}

export interface LogLine {
  level: "info" | "warn" | "error";
  message: string;
  fields?: Record<string, unknown>;
}

export interface FakeClient {
  llm: FrugalClient;
  /** Every cost record, in order. */
  records: CostRecord[];
  /** Log lines at info and above. */
  logs: LogLine[];
  /** Every event of the names in `listen`, in order. */
  events: { name: EventName; payload: EventMap[EventName] }[];
  /** The payloads of one event name, typed. */
  of<K extends EventName>(name: K): EventMap[K][];
}

/** A key with the SDKs' shape and no meaning: the fakes accept any key. */
const KEY = "sk-test-fake-client";

export function fakeClient(
  fakes: { openai: FakeServer; anthropic?: FakeServer },
  middleware: readonly Middleware[],
  options: FakeClientOptions = {},
): FakeClient {
  const records: CostRecord[] = [];
  const logs: LogLine[] = [];
  const events: FakeClient["events"] = [];
  const logger: Logger = {
    debug() {},
    info: (message, fields) => void logs.push({ level: "info", message, ...(fields && { fields }) }),
    warn: (message, fields) => void logs.push({ level: "warn", message, ...(fields && { fields }) }),
    error: (message, fields) => void logs.push({ level: "error", message, ...(fields && { fields }) }),
  };
  const retries = options.sdkMaxRetries === "sdk-default" ? {} : { maxRetries: options.sdkMaxRetries ?? 0 };
  const llm = createClient({
    providers: {
      openai: openai(new OpenAI({ apiKey: KEY, baseURL: fakes.openai.baseURL, ...retries })),
      ...(fakes.anthropic && {
        anthropic: anthropic(new Anthropic({ apiKey: KEY, baseURL: fakes.anthropic.baseURL, ...retries })),
      }),
    },
    middleware: [costTracker({ onRecord: (r) => records.push(r) }), ...middleware],
    logger,
    ...(options.clock && { clock: options.clock }),
    ...(options.prices && { prices: options.prices }),
    ...(options.tokens && { tokens: options.tokens }),
  });
  for (const name of options.listen ?? []) llm.on(name, (payload) => void events.push({ name, payload }));
  const of = <K extends EventName>(name: K) =>
    events.filter((e) => e.name === name).map((e) => e.payload as EventMap[K]);
  return { llm, records, logs, events, of };
}

/** Settles with the error a promise rejects with (fails the test if it resolves). */
export async function failure(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail, but it succeeded");
}
