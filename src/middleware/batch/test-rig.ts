// Test-only: the batch middleware over the real SDKs and the wire-level fakes, shared by the
// batch suites (src/middleware/batch, test/batch). Not part of the package.
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { type FakeServer, startFakeAnthropic, startFakeOpenAI } from "../../../test/fakes/index.js";
import type { Middleware } from "../../core/middleware.js";
import type { ChatRequestInput } from "../../core/request.js";
import { priceBook } from "../../pricing/price-book.js";
import type { KeyValueStore } from "../../storage/kv.js";
import { memoryKv } from "../../storage/memory/kv.js";
import { type TestClient, testClient } from "../exact-cache/test-client.js";
import { type Batcher, type BatchOptions, batch } from "./index.js";
import type { BatchTimers, SettledJob } from "./options.js";

export const OPENAI_MODEL = "gpt-4o-mini";
export const ANTHROPIC_MODEL = "claude-haiku-4-5";

export interface Fakes {
  openai: FakeServer;
  anthropic: FakeServer;
}

export async function startFakes(): Promise<Fakes> {
  const [openai, anthropic] = await Promise.all([startFakeOpenAI(), startFakeAnthropic()]);
  return { openai, anthropic };
}

export function resetFakes(fakes: Fakes): void {
  fakes.openai.reset();
  fakes.anthropic.reset();
}

export async function closeFakes(fakes: Fakes): Promise<void> {
  await Promise.all([fakes.openai.close(), fakes.anthropic.close()]);
}

/** The host's own SDK instances for the batch APIs (separate from the ones the providers use, as a host may have). */
export function batchSdks(fakes: Fakes): Pick<BatchOptions, "openai" | "anthropic"> {
  return {
    openai: new OpenAI({ apiKey: "sk-test-batch", baseURL: fakes.openai.baseURL, maxRetries: 0 }),
    anthropic: new Anthropic({
      apiKey: "test-batch",
      baseURL: fakes.anthropic.baseURL,
      maxRetries: 0,
    }),
  };
}

export interface Rig extends TestClient {
  batcher: Batcher;
  store: KeyValueStore;
  settled: SettledJob[];
  errors: unknown[];
  /** Job ids of the requests the batcher accepted (stored durably), in the order it accepted them. */
  acked: string[];
}

/** A client with `costTracker` first and the batcher last, over both fakes. */
export function rig(fakes: Fakes, options: Partial<BatchOptions> = {}, before: Middleware[] = []): Rig {
  const settled: SettledJob[] = [];
  const errors: unknown[] = [];
  const store = options.store ?? memoryKv();
  const batcher = batch({
    ...batchSdks(fakes),
    store,
    pollIntervalMs: 5,
    onSettled: (job) => void settled.push(job),
    onError: (error) => void errors.push(error),
    ...options,
  });
  const acked: string[] = [];
  const ack: Middleware = {
    name: "ack",
    async handle(ctx, next) {
      const reply = await next(ctx);
      if (ctx.state.batch) acked.push(ctx.state.batch.jobId);
      return reply;
    },
  };
  return { ...testClient(fakes, [...before, ack, batcher]), batcher, store, settled, errors, acked };
}

/** A deferrable question whose default fake answer names it: "Fake reply to: question <n>". */
export function question(
  n: number | string,
  provider: "openai" | "anthropic" = "openai",
  extra: Partial<ChatRequestInput> = {},
): ChatRequestInput {
  return {
    model: provider === "openai" ? `openai:${OPENAI_MODEL}` : `anthropic:${ANTHROPIC_MODEL}`,
    messages: [{ role: "user", content: `question ${n}` }],
    metadata: { priority: "deferrable" },
    ...extra,
  };
}

export const answerTo = (n: number | string) => `Fake reply to: question ${n}`;

/** The prompt of a batch line (OpenAI body or Anthropic params alike). */
export const promptOf = (body: any): string => {
  const content = body?.messages?.at(-1)?.content;
  return typeof content === "string" ? content : (content?.[0]?.text ?? "");
};

/** The standard and batch prices of a usage, from the default price book: what every batch cost must equal. */
export function expectedCost(
  provider: string,
  model: string,
  usage: import("../../core/completion.js").Usage,
) {
  const book = priceBook();
  const standard = book.cost(provider, model, usage);
  const batch = book.cost(provider, model, usage, { batch: true });
  if (!standard.priced || !batch.priced) throw new Error(`${provider}:${model} has no price`);
  return { standard: standard.usd, batch: batch.usd };
}

/** Resolves after the event loop has had a few turns: lets background work (uploads, timers at 0) run. */
export const settle = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it is true (or fails after `timeoutMs`). */
export async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await settle(5);
  }
}

/**
 * Timers a test drives: `advance(ms)` moves the clock and runs what came due. `kill()` drops
 * every pending and future callback, as a process that died would.
 */
export class ManualTimers implements BatchTimers {
  now = 1_000_000;
  readonly clock = { now: () => this.now };
  #pending = new Map<number, { at: number; callback: () => void }>();
  #next = 0;
  #dead = false;

  setTimeout(callback: () => void, ms: number): unknown {
    const id = ++this.#next;
    if (!this.#dead) this.#pending.set(id, { at: this.now + ms, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle as number);
  }

  advance(ms: number): void {
    this.now += ms;
    for (const [id, timer] of [...this.#pending].sort((a, b) => a[1].at - b[1].at)) {
      if (timer.at > this.now || !this.#pending.has(id)) continue;
      this.#pending.delete(id);
      timer.callback();
    }
  }

  get size(): number {
    return this.#pending.size;
  }

  kill(): void {
    this.#dead = true;
    this.#pending.clear();
  }
}
