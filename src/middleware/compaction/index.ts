import { z } from "zod";
import type { RequestContext } from "../../core/context.js";
import type { Middleware } from "../../core/middleware.js";
import { parseOptions } from "../../core/options.js";
import type { TokenEstimator } from "../../tokens/estimator.js";
import type { ModelRef } from "../../tokens/models.js";
import {
  RollingSummarizer,
  type SummarizerOptions,
  type SummarySource,
  summarizerSchema,
} from "./summary.js";
import { splitTurns, summaryMessage } from "./turns.js";

export type { SummarizerOptions, SummarySource } from "./summary.js";
export { SUMMARY_HEADER, splitTurns, summaryMessage } from "./turns.js";

declare module "../../core/context.js" {
  interface ContextState {
    /** What `historyCompaction` did to this request's history; absent when it left it alone. */
    compaction?: CompactionOutcome;
  }
}

/** A compacted history, as `ctx.state.compaction` records it. */
export interface CompactionOutcome {
  /** Estimated input tokens of the request as the caller sent it. */
  inputTokensBefore: number;
  /** Turns summarized (replaced by one summary message) and turns kept as they were. */
  summarizedTurns: number;
  keptTurns: number;
  /** Where the summary came from: the cache, the previous turn's summary extended, or written now. */
  summary: SummarySource;
}

export interface HistoryCompactionOptions {
  /** Most recent turns kept word for word (a turn: a user message and what followed it). A positive integer. */
  keepTurns: number;
  /**
   * Compaction starts once a request's estimated input tokens reach this;
   * below it the request passes untouched. A positive integer.
   */
  triggerTokens: number;
  /** The cheap model that writes the rolling summary, and its cache. */
  summarizer: SummarizerOptions;
  /** The token estimator. Default: the client's (`createClient({ tokens })`), calibrated from its answers. */
  tokens?: TokenEstimator;
}

const optionsSchema = z
  .object({
    keepTurns: z.number().int().positive(),
    triggerTokens: z.number().int().positive(),
    summarizer: summarizerSchema,
    tokens: z
      .custom<TokenEstimator>(
        (t) => typeof (t as TokenEstimator)?.estimateRequest === "function",
        "expected a TokenEstimator (tokenEstimator())",
      )
      .optional(),
  })
  .strict();

/**
 * Keeps a growing chat session's prompt bounded: once a request's history
 * reaches `triggerTokens`, the older turns are replaced by one summary
 * message (written by a cheap model as a side call, labelled
 * `compaction-summary`) and the last `keepTurns` turns are kept as they are.
 * The summary is cached per tenant and conversation prefix and rolled
 * forward, so the next turn extends it with one turn instead of summarizing
 * everything again. The system prompt is never touched; a tool call is never
 * separated from its result. If the summary cannot be written, the request
 * goes on unchanged, with a warning.
 *
 * For requests over a task's hard input budget, see the budget middleware's
 * `summarize` overflow; this one is for sessions that are within budget but grow.
 *
 * @example
 * const compaction = historyCompaction({
 *   keepTurns: 6,
 *   triggerTokens: 8_000,
 *   summarizer: { model: "openai:gpt-4o-mini", cache: redisKv({ client }) },
 * });
 * const llm = createClient({ providers, middleware: [costTracker(), compaction, exactCache(...)] });
 */
export function historyCompaction(options: HistoryCompactionOptions): Middleware {
  const o = parseOptions(optionsSchema, options, "historyCompaction");
  const summarizer = new RollingSummarizer(o.summarizer, "compaction-summary");

  return {
    name: "historyCompaction",
    async handle(ctx, next) {
      const request = ctx.request;
      const turns = splitTurns(request.messages);
      if (turns.length <= o.keepTurns) return next(ctx);
      const ref = estimationRef(ctx);
      const tokens = options.tokens ?? ctx.services.tokens;
      if (tokens.upperBound(request, ref).upperBound < o.triggerTokens) return next(ctx);
      const before = (await tokens.estimateRequest(request, ref)).inputTokens;
      if (before < o.triggerTokens) return next(ctx);

      const count = turns.length - o.keepTurns;
      let summary: { text: string; source: SummarySource };
      try {
        summary = await summarizer.summarize(ctx, request.system, turns, count);
      } catch (error) {
        if (ctx.signal.aborted) throw error;
        const message = "historyCompaction: the summary could not be written; the history is sent as it was";
        ctx.services.log.warn(message, { requestId: ctx.id, error });
        ctx.services.events.emit("warning", { requestId: ctx.id, code: "compaction-failed", message });
        return next(ctx);
      }
      ctx.state.compaction = {
        inputTokensBefore: before,
        summarizedTurns: count,
        keptTurns: o.keepTurns,
        summary: summary.source,
      };
      const messages = [summaryMessage(summary.text), ...turns.slice(count).flat()];
      return next({ ...ctx, request: { ...request, messages } });
    },
  };
}

/** The model whose tokenizer counts the request: the one asked for, or a generic one for `auto`. */
export function estimationRef(ctx: RequestContext, model = ctx.request.model): ModelRef {
  try {
    return ctx.services.resolveModel(model);
  } catch {
    return { provider: "auto", model };
  }
}
