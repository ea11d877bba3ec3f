// Test-only: a client over the real SDKs and the wire-level fakes, with a cost tracker that keeps every
// record, shared by the exact-cache and dedupe suites. Not part of the package (nothing imports it but tests).
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import type { FakeServer } from "../../../test/fakes/index.js";
import { createClient, type FrugalClient } from "../../client.js";
import type { Completion, StreamEvent } from "../../core/completion.js";
import type { CostRecord } from "../../core/cost-record.js";
import type { Logger } from "../../core/logger.js";
import type { Middleware } from "../../core/middleware.js";
import type { ChatRequestInput } from "../../core/request.js";
import { anthropic } from "../../providers/anthropic/index.js";
import { openai } from "../../providers/openai/index.js";
import type { KeyValueStore } from "../../storage/kv.js";
import { costTracker } from "../cost-tracker/index.js";

export interface TestClient {
  llm: FrugalClient;
  records: CostRecord[];
  warnings: { message: string; fields?: Record<string, unknown> }[];
}

export function testClient(
  fakes: { openai: FakeServer; anthropic?: FakeServer },
  middleware: Middleware[],
): TestClient {
  const records: CostRecord[] = [];
  const warnings: TestClient["warnings"] = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (message, fields) => void warnings.push({ message, fields }),
    error: (message, fields) => void warnings.push({ message, fields }),
  };
  const key = "sk-test-exact-cache";
  const llm = createClient({
    providers: {
      openai: openai(new OpenAI({ apiKey: key, baseURL: fakes.openai.baseURL, maxRetries: 0 })),
      ...(fakes.anthropic && {
        anthropic: anthropic(new Anthropic({ apiKey: key, baseURL: fakes.anthropic.baseURL, maxRetries: 0 })),
      }),
    },
    middleware: [costTracker({ onRecord: (r) => records.push(r) }), ...middleware],
    logger,
  });
  return { llm, records, warnings };
}

export const ask = (content = "What is the capital of France?", extra: Partial<ChatRequestInput> = {}) =>
  ({
    model: "openai:gpt-4o-mini",
    messages: [{ role: "user", content }],
    ...extra,
  }) satisfies ChatRequestInput as ChatRequestInput;

/** Reads a stream to its end and returns its events and its final completion. */
export async function readStream(
  stream: AsyncIterable<StreamEvent> & { completion: Promise<Completion> },
): Promise<{ events: StreamEvent[]; completion: Completion }> {
  const events: StreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return { events, completion: await stream.completion };
}

/** The store keys written (entries only, not locks) and their TTLs, and the store underneath. */
export function recording(store: KeyValueStore): KeyValueStore & { sets: { key: string; ttlMs?: number }[] } {
  const sets: { key: string; ttlMs?: number }[] = [];
  return {
    name: `recording(${store.name})`,
    sets,
    get: (key) => store.get(key),
    set: (key, value, ttlMs) => {
      sets.push({ key, ttlMs });
      return store.set(key, value, ttlMs);
    },
    setIfAbsent: (key, value, ttlMs) => store.setIfAbsent(key, value, ttlMs),
    delete: (...keys) => store.delete(...keys),
    deletePrefix: (prefix) => store.deletePrefix(prefix),
  };
}

/** Lets the flights end (the answer stored, the lock released) before the next assertion. */
export const settle = () => new Promise((resolve) => setTimeout(resolve, 10));
