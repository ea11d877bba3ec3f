import type { Completion } from "../../core/completion.js";
import type { RequestContext } from "../../core/context.js";
import { AbortedError } from "../../core/errors.js";
import type { Middleware } from "../../core/middleware.js";
import { anthropicBatchClient } from "./anthropic-batch.js";
import type { BatchClient } from "./batch-client.js";
import type { BatchApi } from "./job-store.js";
import { openAIBatchClient } from "./openai-batch.js";
import { type BatchOptions, resolveBatchOptions } from "./options.js";
import { BatchRunner } from "./runner.js";

export {
  BatchDeferredError,
  type BatchFailureReason,
  BatchItemError,
  BatchJobNotFoundError,
} from "./errors.js";
export type { AnthropicBatchSdk, BatchOptions, BatchTimers, OpenAIBatchSdk, SettledJob } from "./options.js";

declare module "../../core/context.js" {
  interface ContextState {
    /** Set by `batch` when it deferred the request: the job that answers it. */
    batch?: BatchJobState;
  }
}

/** Where a deferred request stands, on `ctx.state.batch` (and `completion.meta.state.batch`). */
export interface BatchJobState {
  /** The job id: `custom_id` at the provider, and the key of `batcher.job(id)`. */
  jobId: string;
  /** True when the request joined a job that its host-chosen id already named. */
  joined: boolean;
  /** The provider batch that carries the job now. */
  batchId?: string;
}

/** The batch middleware, with the handles a host needs around restarts and shutdown. */
export interface Batcher extends Middleware {
  /** Sends every queued request now, whatever the limits; resolves once the batches are created. */
  flush(): Promise<void>;
  /** Polls every batch in flight once now (the timer does it every `pollIntervalMs`). */
  poll(): Promise<void>;
  /**
   * After a restart: takes up the queued requests and the batches in flight that the store
   * holds, and carries them to their end. Their callers are gone; read answers with `job(id)`
   * or `onSettled`. Idempotent.
   */
  resume(): Promise<void>;
  /**
   * The answer of a job: at once when it is settled, else when it settles (resuming it from the
   * store when this instance does not hold it). Rejects with `BatchItemError` for a job that
   * failed, `BatchJobNotFoundError` for an id the store does not hold.
   */
  job(id: string): Promise<Completion>;
  /**
   * Stops polling and the queue's timers, lets uploads and polls under way finish, and rejects
   * waiting callers with `BatchDeferredError` (`reason: "closed"`). Queued and in-flight jobs
   * stay in the store for the next `resume()`. After `close()`, requests are sent live.
   */
  close(): Promise<void>;
}

/**
 * Batch deferral: requests marked `metadata.priority: "deferrable"` (or whose `metadata.task` is
 * in `deferTasks`) are written to the host's store, then sent through the OpenAI Batch API or
 * Anthropic Message Batches at the batch price (50% off), flushed by count, token volume or age.
 * Each caller's promise resolves with its own answer, matched by custom id; a failed item is
 * sent again alone; a restart loses nothing (`resume()`). Streamed calls, interactive calls and
 * providers without an SDK here pass through live.
 *
 * @example
 * const batcher = batch({ openai: openaiSdk, anthropic: anthropicSdk, store: redisKv({ client: redis }) });
 * const llm = createClient({ providers, middleware: [costTracker(), batcher] });
 * await batcher.resume(); // at start-up: carry on what a previous process left
 * const answer = await llm.chat({ model: "openai:gpt-4o-mini", messages, metadata: { priority: "deferrable" } });
 */
export function batch(options: BatchOptions): Batcher {
  const o = resolveBatchOptions(options);
  const clients = new Map<BatchApi, BatchClient>();
  if (o.openai) clients.set("openai", openAIBatchClient(o.openai));
  if (o.anthropic) clients.set("anthropic", anthropicBatchClient(o.anthropic, o.defaultMaxTokens));
  const runner = new BatchRunner(o, clients);
  const deferTasks = new Set(o.deferTasks);

  /** The batch API and model of a request that may wait, or undefined to send it live. */
  function targetOf(ctx: RequestContext): { api: BatchApi; model: string } | undefined {
    const { stream, metadata, model } = ctx.request;
    // A streamed call wants its tokens now: deferring it would break the stream it asked for.
    if (stream === true || metadata?.priority === "interactive") return undefined;
    if (metadata?.priority !== "deferrable" && !(metadata?.task && deferTasks.has(metadata.task)))
      return undefined;
    let resolved: { provider: string; model: string };
    try {
      resolved = ctx.services.resolveModel(model);
    } catch {
      return undefined; // the provider call below reports it
    }
    const api = resolved.provider as BatchApi;
    // The SDK given for `openai` serves the provider named openai, and only if it is the openai adapter.
    if (!clients.has(api) || ctx.services.providers.get(api)?.name !== api) return undefined;
    return { api, model: resolved.model };
  }

  return {
    name: "batch",
    async handle(ctx, next) {
      const target = runner.closed ? undefined : targetOf(ctx);
      if (!target) return next(ctx);
      if (ctx.signal.aborted) {
        const error = new AbortedError("the request was aborted by the caller", { cause: ctx.signal.reason });
        error.attempts = ctx.attempts;
        throw error;
      }
      const detached = typeof o.detach === "function" ? o.detach(ctx) : o.detach;
      return runner.defer(ctx, target.api, target.model, detached);
    },
    flush: () => runner.flush(),
    poll: () => runner.poll(),
    resume: () => runner.resume(),
    job: (id) => runner.job(id),
    close: () => runner.close(),
  };
}
