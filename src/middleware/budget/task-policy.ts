import type { RequestContext } from "../../core/context.js";
import type { ChatRequest, Message } from "../../core/request.js";
import type { TokenEstimator } from "../../tokens/estimator.js";
import { type ModelRef, REPLY_PRIMING_TOKENS } from "../../tokens/models.js";
import type { RollingSummarizer } from "../compaction/summary.js";
import { splitTurns, summaryMessage } from "../compaction/turns.js";
import { BudgetExceededError } from "./errors.js";
import type { ResolvedPolicy } from "./options.js";

/** What a task policy did to a request, as `ctx.state.budgetPolicy` records it. */
export interface TaskPolicyOutcome {
  task: string | undefined;
  /** `none`: the request fit; otherwise the overflow action taken. */
  action: "none" | "truncated" | "summarized" | "deferred";
  /** The task's `inputMax`, when it has one. */
  inputMax?: number;
  /** Estimated input tokens as sent by the caller (absent when a byte bound alone showed it fits). */
  inputTokens?: number;
  /** Estimated input tokens after truncation or summary. */
  inputTokensAfter?: number;
  /** Turns dropped or summarized. */
  droppedTurns?: number;
  /** The `maxOutputTokens` the policy set or lowered, when it changed it. */
  maxOutputTokens?: number;
}

export interface PolicyDeps {
  tokens: TokenEstimator;
  ref: ModelRef;
  summarizer: RollingSummarizer | undefined;
  /** Reports a summary that failed; the request is then truncated. */
  onSummaryError(error: unknown): void;
}

/**
 * Applies a task's per-request budget: the input estimate against
 * `inputMax` (with its overflow action) and `outputMax` as a ceiling on
 * `maxOutputTokens`. Returns the request to send on; throws
 * `BudgetExceededError` (before any provider call) when it cannot fit.
 */
export async function applyTaskPolicy(
  ctx: RequestContext,
  request: ChatRequest,
  policy: ResolvedPolicy,
  deps: PolicyDeps,
): Promise<{ request: ChatRequest; outcome: TaskPolicyOutcome }> {
  const task = request.metadata?.task;
  const outcome: TaskPolicyOutcome = { task, action: "none" };
  if (policy.outputMax !== undefined) request = clampOutput(request, policy.outputMax, task, outcome);
  const inputMax = policy.inputMax;
  if (inputMax === undefined) return { request, outcome };
  outcome.inputMax = inputMax;
  // The byte bound is never below the estimate: under the limit, no tokenizer needs to run.
  if (deps.tokens.upperBound(request, deps.ref).upperBound <= inputMax) return { request, outcome };
  const estimate = (await deps.tokens.estimateRequest(request, deps.ref)).inputTokens;
  outcome.inputTokens = estimate;
  if (estimate <= inputMax) return { request, outcome };

  const refuse = (detail?: string) =>
    new BudgetExceededError({ kind: "input", task, limit: inputMax, estimate, ...(detail && { detail }) });
  switch (policy.overflow) {
    case "reject":
      throw refuse();
    case "defer":
      outcome.action = "deferred";
      return { request: { ...request, metadata: { ...request.metadata, priority: "deferrable" } }, outcome };
    case "summarize":
      if (deps.summarizer) {
        try {
          const summarized = await summarize(ctx, request, inputMax, deps);
          if (summarized) {
            Object.assign(outcome, { action: "summarized", ...summarized.figures });
            return { request: summarized.request, outcome };
          }
        } catch (error) {
          if (ctx.signal.aborted) throw error;
          deps.onSummaryError(error);
        }
      }
      break;
  }
  const truncated = await truncate(request, inputMax, 0, deps);
  if (!truncated) throw refuse("the system prompt, tools and last user turn alone are over it");
  Object.assign(outcome, { action: "truncated", ...truncated.figures });
  return { request: truncated.request, outcome };
}

function clampOutput(
  request: ChatRequest,
  outputMax: number,
  task: string | undefined,
  outcome: TaskPolicyOutcome,
): ChatRequest {
  const max = Math.min(request.maxOutputTokens ?? outputMax, outputMax);
  const reasoning = request.reasoning?.budgetTokens;
  if (reasoning !== undefined && reasoning >= max) {
    throw new BudgetExceededError({ kind: "output", task, limit: outputMax, estimate: reasoning });
  }
  if (max === request.maxOutputTokens) return request;
  outcome.maxOutputTokens = max;
  return { ...request, maxOutputTokens: max };
}

interface Fitted {
  request: ChatRequest;
  /** Index of the first kept turn. */
  start: number;
  turns: Message[][];
  figures: { inputTokensAfter: number; droppedTurns: number };
}

/**
 * Drops the oldest whole turns until the estimate, plus `allowance` tokens
 * kept free, is within `inputMax`. The last turn (from the last user message
 * on) always stays. Undefined when even that is over.
 */
async function truncate(
  request: ChatRequest,
  inputMax: number,
  allowance: number,
  deps: PolicyDeps,
): Promise<Fitted | undefined> {
  const { tokens, ref } = deps;
  const turns = splitTurns(request.messages);
  const estimate = async (messages: Message[]) =>
    (await tokens.estimateRequest({ ...request, messages }, ref)).inputTokens;
  // Each turn's own tokens, counted once; the sum is checked against a full estimate below.
  const base = await estimate(turns.at(-1)!);
  const own = await Promise.all(
    turns
      .slice(0, -1)
      .map(async (turn) =>
        Math.max(
          0,
          (await tokens.estimateRequest({ model: request.model, messages: turn }, ref)).inputTokens -
            REPLY_PRIMING_TOKENS,
        ),
      ),
  );
  let start = turns.length - 1;
  let total = base + allowance;
  while (start > 0 && total + own[start - 1]! <= inputMax) total += own[--start]!;
  for (; start < turns.length; start++) {
    const messages = turns.slice(start).flat();
    const after = await estimate(messages);
    if (after + allowance <= inputMax) {
      return {
        request: { ...request, messages },
        start,
        turns,
        figures: { inputTokensAfter: after, droppedTurns: start },
      };
    }
  }
  return undefined;
}

/** Keeps the recent turns that fit beside a summary of the older ones; undefined when nothing is left to summarize. */
async function summarize(
  ctx: RequestContext,
  request: ChatRequest,
  inputMax: number,
  deps: PolicyDeps,
): Promise<Omit<Fitted, "turns" | "start"> | undefined> {
  const summarizer = deps.summarizer!;
  // Room for the summary: its most tokens plus its message framing and header.
  const allowance = summarizer.options.maxOutputTokens + 24;
  const fitted = await truncate(request, inputMax, allowance, deps);
  if (!fitted || fitted.start === 0) return undefined;
  const summary = await summarizer.summarize(ctx, request.system, fitted.turns, fitted.start);
  const messages = [summaryMessage(summary.text), ...fitted.request.messages];
  const after = (await deps.tokens.estimateRequest({ ...request, messages }, deps.ref)).inputTokens;
  if (after > inputMax) return undefined;
  return {
    request: { ...request, messages },
    figures: { inputTokensAfter: after, droppedTurns: fitted.start },
  };
}
