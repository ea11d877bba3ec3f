import type Anthropic from "@anthropic-ai/sdk";
import type OpenAI from "openai";
import { z } from "zod";
import type { Completion } from "../../core/completion.js";
import type { Clock, RequestContext } from "../../core/context.js";
import { parseOptions } from "../../core/options.js";
import type { PriceBook } from "../../core/pricing.js";
import type { KeyValueStore } from "../../storage/kv.js";
import type { BatchItemError } from "./errors.js";

/** The part of the OpenAI SDK the batch client uses: any v5/v6 `OpenAI` instance fits. */
export type OpenAIBatchSdk = Pick<OpenAI, "files" | "batches">;
/** The part of the Anthropic SDK the batch client uses. */
export interface AnthropicBatchSdk {
  messages: Pick<Anthropic["messages"], "batches">;
}

/** Timers, injectable for tests. The defaults are Node's, unref'd so a pending timer never holds the process open. */
export interface BatchTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** A job that reached its end, for `onSettled`. */
export interface SettledJob {
  jobId: string;
  /** The id of the request that queued it (its cost record id). */
  requestId: string;
  status: "done" | "failed";
  completion?: Completion;
  error?: BatchItemError;
  /** True when someone in this instance awaited the answer: its caller or a `job(id)` reader (false after a restart, or detached, until read). */
  hadCaller: boolean;
}

export interface BatchOptions {
  /**
   * The host's OpenAI SDK instance, for requests to the client's provider named `openai`: its
   * deferrable calls go through the Batch API (file upload, `batches.create`, polling, file
   * download). Absent: that provider's calls are sent live.
   */
  openai?: OpenAIBatchSdk;
  /** The host's Anthropic SDK instance, for the provider named `anthropic` (Message Batches). */
  anthropic?: AnthropicBatchSdk;
  /**
   * Where the queue lives: every deferred request is written here before its caller's promise
   * exists, and every batch in flight is recorded here, so that a new instance's `resume()`
   * carries on after a restart. Use a store that does not evict (Redis without an eviction
   * policy, or a memoryKv sized for the queue and used by nothing else).
   */
  store: KeyValueStore;
  /** Prefix of every key the queue writes. One live instance per prefix. Default `"frugal:batch:"`. */
  keyPrefix?: string;
  /** A batch is sent once this many requests wait for it (per provider and model). Default 1,000; 1..50,000. */
  maxItems?: number;
  /**
   * A batch is sent once its requests hold this many input tokens (estimated at 4 characters a
   * token of the wire request). Default 1,000,000; a single larger request goes alone.
   */
  maxTokens?: number;
  /** A request waits at most this long (ms) in the queue before its batch is sent. Default 60,000; 0 sends at once. */
  maxAgeMs?: number;
  /** How often (ms) batches in flight are polled. Default 30,000; at least 1. */
  pollIntervalMs?: number;
  /**
   * How many times one failed item (errored with a retryable status, expired, missing from the
   * output) is sent again, alone, in a later batch. Default 2; 0..10. Then its caller rejects
   * with `BatchItemError`. A 4xx item error (other than 408, 409, 429) is never retried.
   */
  maxItemRetries?: number;
  /** Tasks (`metadata.task`) deferred even without `priority: "deferrable"`. `priority: "interactive"` always wins. */
  deferTasks?: readonly string[];
  /**
   * Detached jobs: the call rejects at once with `BatchDeferredError` carrying `jobId`, and the
   * host reads the answer later with `job(jobId)`. Default false: the call waits for its answer.
   */
  detach?: boolean | ((ctx: RequestContext) => boolean);
  /**
   * The job id of a request (1-64 letters, digits, `_` or `-`): the host's own idempotency key.
   * A request whose id is already queued, in flight or done joins that job instead of queuing
   * a second one. Default: a random UUID.
   */
  jobId?: (ctx: RequestContext) => string | undefined;
  /** `max_tokens` for Anthropic requests that set no `maxOutputTokens`; keep it equal to the adapter's. Default 4096. */
  defaultMaxTokens?: number;
  /** How long (ms) a finished job's answer stays readable with `job(id)`. Default 7 days. */
  resultTtlMs?: number;
  /**
   * Prices a result that no caller of this instance waits for (recovered after a restart).
   * A waiting caller's result is priced by its client's price book, like every attempt.
   * Default `priceBook()`.
   */
  prices?: PriceBook;
  /** Time source. Default `Date`. */
  clock?: Clock;
  /** Default: Node's timers, unref'd. */
  timers?: BatchTimers;
  /** Receives errors of the background work (an upload, a poll, a store write). Default: the client's logger. */
  onError?: (error: unknown) => void;
  /** Called once per job that reaches its end in this instance, with or without a caller. A throw is reported, never propagated. */
  onSettled?: (job: SettledJob) => void;
}

const DAY = 86_400_000;

const optionsSchema = z
  .object({
    openai: z
      .custom<OpenAIBatchSdk>(
        (s) => typeof (s as OpenAIBatchSdk)?.batches?.create === "function",
        "expected an OpenAI SDK instance (new OpenAI())",
      )
      .optional(),
    anthropic: z
      .custom<AnthropicBatchSdk>(
        (s) => typeof (s as AnthropicBatchSdk)?.messages?.batches?.create === "function",
        "expected an Anthropic SDK instance (new Anthropic())",
      )
      .optional(),
    store: z.custom<KeyValueStore>(
      (s) =>
        typeof (s as KeyValueStore)?.get === "function" && typeof (s as KeyValueStore)?.set === "function",
      "expected a KeyValueStore (memoryKv() or redisKv(...))",
    ),
    keyPrefix: z.string().default("frugal:batch:"),
    maxItems: z.number().int().min(1).max(50_000).default(1_000),
    maxTokens: z.number().int().positive().default(1_000_000),
    maxAgeMs: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(60_000),
    pollIntervalMs: z
      .number()
      .int()
      .min(1)
      .max(2 ** 31 - 1)
      .default(30_000),
    maxItemRetries: z.number().int().min(0).max(10).default(2),
    deferTasks: z.array(z.string().min(1)).readonly().default([]),
    detach: z.union([z.boolean(), z.function()]).default(false),
    jobId: z.function().optional(),
    defaultMaxTokens: z.number().int().positive().default(4096),
    resultTtlMs: z
      .number()
      .int()
      .positive()
      .max(365 * DAY)
      .default(7 * DAY),
    prices: z
      .custom<PriceBook>((p) => typeof (p as PriceBook)?.cost === "function", "expected a PriceBook")
      .optional(),
    clock: z
      .custom<Clock>((c) => typeof (c as Clock)?.now === "function", "expected { now(): number }")
      .optional(),
    timers: z
      .custom<BatchTimers>(
        (t) =>
          typeof (t as BatchTimers)?.setTimeout === "function" &&
          typeof (t as BatchTimers)?.clearTimeout === "function",
        "expected { setTimeout, clearTimeout }",
      )
      .optional(),
    onError: z.function().optional(),
    onSettled: z.function().optional(),
  })
  .strict()
  .refine((o) => o.openai !== undefined || o.anthropic !== undefined, {
    message: "give at least one SDK instance (openai or anthropic)",
    path: ["openai"],
  });

/** Options with their defaults filled in. */
export type ResolvedBatchOptions = Omit<
  Required<BatchOptions>,
  "openai" | "anthropic" | "jobId" | "prices" | "onError" | "onSettled"
> &
  Pick<BatchOptions, "openai" | "anthropic" | "jobId" | "prices" | "onError" | "onSettled">;

export function resolveBatchOptions(options: BatchOptions): ResolvedBatchOptions {
  const parsed = parseOptions(optionsSchema, options, "batch");
  // Functions and instances are the host's own, never copies or wrappers made by the schema.
  return {
    ...parsed,
    openai: options.openai,
    anthropic: options.anthropic,
    store: options.store,
    detach: options.detach ?? false,
    jobId: options.jobId,
    prices: options.prices,
    clock: options.clock ?? Date,
    timers: options.timers ?? unrefTimers,
    onError: options.onError,
    onSettled: options.onSettled,
  };
}

const unrefTimers: BatchTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
