import type { Attributes } from "@opentelemetry/api";
import type { Attempt, FinishReason, Usage } from "../../core/completion.js";
import type { ContextState } from "../../core/context.js";
import type { ChatRequest } from "../../core/request.js";

/**
 * Attribute names. `gen_ai.*` follow the OpenTelemetry GenAI semantic
 * conventions (client inference spans and metrics); `frugal.*` are this
 * library's own, for what the conventions have no name for (cost, cache,
 * route, attempt purpose). `gen_ai.system` is left out: the conventions
 * replaced it with `gen_ai.provider.name`.
 */
export const ATTR = {
  operationName: "gen_ai.operation.name",
  providerName: "gen_ai.provider.name",
  requestModel: "gen_ai.request.model",
  requestMaxTokens: "gen_ai.request.max_tokens",
  requestTemperature: "gen_ai.request.temperature",
  requestTopP: "gen_ai.request.top_p",
  requestStopSequences: "gen_ai.request.stop_sequences",
  requestSeed: "gen_ai.request.seed",
  requestStream: "gen_ai.request.stream",
  outputType: "gen_ai.output.type",
  responseModel: "gen_ai.response.model",
  responseId: "gen_ai.response.id",
  responseFinishReasons: "gen_ai.response.finish_reasons",
  responseTimeToFirstChunk: "gen_ai.response.time_to_first_chunk",
  usageInputTokens: "gen_ai.usage.input_tokens",
  usageOutputTokens: "gen_ai.usage.output_tokens",
  usageCacheReadInputTokens: "gen_ai.usage.cache_read.input_tokens",
  usageCacheCreationInputTokens: "gen_ai.usage.cache_creation.input_tokens",
  usageReasoningOutputTokens: "gen_ai.usage.reasoning.output_tokens",
  tokenType: "gen_ai.token.type",
  inputMessages: "gen_ai.input.messages",
  systemInstructions: "gen_ai.system_instructions",
  outputMessages: "gen_ai.output.messages",
  errorType: "error.type",
  httpStatusCode: "http.response.status_code",
  requestId: "frugal.request.id",
  modelRef: "frugal.request.model_ref",
  tenant: "frugal.request.tenant",
  task: "frugal.request.task",
  attempts: "frugal.attempts",
  attemptPurpose: "frugal.attempt.purpose",
  attemptLabel: "frugal.attempt.label",
  attemptPending: "frugal.attempt.pending",
  providerKey: "frugal.provider",
  providerRequestId: "frugal.provider.request_id",
  retryable: "frugal.error.retryable",
  costUsd: "frugal.cost.usd",
  costPriced: "frugal.cost.priced",
  costUnpricedReason: "frugal.cost.unpriced_reason",
  costEstimated: "frugal.cost.estimated",
  usageEstimated: "frugal.usage.estimated",
  cacheStatus: "frugal.cache.status",
  cacheKind: "frugal.cache.kind",
  cacheSimilarity: "frugal.cache.similarity",
  routeModel: "frugal.route.model",
  routeTier: "frugal.route.tier",
} as const;

/** The only operation the pipeline performs today. */
export const OPERATION = "chat";

/** The request's settings, as they are when the call starts. Never its text. */
export function requestAttributes(ctx: { id: string; request: ChatRequest }): Attributes {
  const r = ctx.request;
  const attributes: Attributes = {
    [ATTR.requestId]: ctx.id,
    [ATTR.modelRef]: r.model,
    [ATTR.requestStream]: r.stream === true,
  };
  if (r.maxOutputTokens !== undefined) attributes[ATTR.requestMaxTokens] = r.maxOutputTokens;
  if (r.temperature !== undefined) attributes[ATTR.requestTemperature] = r.temperature;
  if (r.topP !== undefined) attributes[ATTR.requestTopP] = r.topP;
  if (r.stop !== undefined) attributes[ATTR.requestStopSequences] = r.stop;
  if (r.seed !== undefined) attributes[ATTR.requestSeed] = r.seed;
  if (r.responseFormat) attributes[ATTR.outputType] = r.responseFormat.type === "text" ? "text" : "json";
  if (r.metadata?.tenant !== undefined) attributes[ATTR.tenant] = r.metadata.tenant;
  if (r.metadata?.task !== undefined) attributes[ATTR.task] = r.metadata.task;
  return attributes;
}

/**
 * Token counts in the conventions' shape: `input_tokens` counts every input
 * token, cached or not, and the cache figures are the parts of it read from
 * and written to the provider's prompt cache.
 */
export function usageAttributes(usage: Usage): Attributes {
  const cacheWrite = usage.cacheWrite5mTokens + usage.cacheWrite1hTokens;
  const attributes: Attributes = {
    [ATTR.usageInputTokens]: usage.inputTokens + usage.cacheReadTokens + cacheWrite,
    [ATTR.usageOutputTokens]: usage.outputTokens,
    [ATTR.usageCacheReadInputTokens]: usage.cacheReadTokens,
    [ATTR.usageCacheCreationInputTokens]: cacheWrite,
  };
  if (usage.reasoningTokens > 0) attributes[ATTR.usageReasoningOutputTokens] = usage.reasoningTokens;
  if (usage.estimated) attributes[ATTR.usageEstimated] = true;
  return attributes;
}

/** What the attributes need of a {@link Cost}; a sum of costs has no single breakdown or source. */
export type CostFigure =
  | { priced: true; usd: number; estimated: boolean }
  | { priced: false; reason: string; estimated: boolean };

/** USD when priced; otherwise `priced: false` and the reason, never a cost of 0. */
export function costAttributes(cost: CostFigure): Attributes {
  if (!cost.priced) {
    return { [ATTR.costPriced]: false, [ATTR.costUnpricedReason]: cost.reason };
  }
  const attributes: Attributes = { [ATTR.costPriced]: true, [ATTR.costUsd]: cost.usd };
  if (cost.estimated) attributes[ATTR.costEstimated] = true;
  return attributes;
}

/** Cache and route decisions that other middleware recorded on the state. */
export function stateAttributes(state: ContextState): Attributes {
  const attributes: Attributes = {};
  if (state.cache) {
    attributes[ATTR.cacheStatus] = state.cache.status;
    attributes[ATTR.cacheKind] = state.cache.kind;
    if (state.cache.similarity !== undefined) attributes[ATTR.cacheSimilarity] = state.cache.similarity;
  }
  if (state.route) {
    attributes[ATTR.routeModel] = state.route.model;
    if (state.route.tier !== undefined) attributes[ATTR.routeTier] = state.route.tier;
  }
  return attributes;
}

/** The attributes of one provider call's span, other than its provider and model. */
export function attemptAttributes(attempt: Attempt): Attributes {
  const attributes: Attributes = {
    [ATTR.attemptPurpose]: attempt.purpose,
    ...(attempt.usage && usageAttributes(attempt.usage)),
    ...(attempt.cost && costAttributes(attempt.cost)),
  };
  if (attempt.label !== undefined) attributes[ATTR.attemptLabel] = attempt.label;
  if (attempt.providerRequestId !== undefined) attributes[ATTR.providerRequestId] = attempt.providerRequestId;
  if (attempt.error) {
    attributes[ATTR.errorType] = attempt.error.name;
    if (attempt.error.status !== undefined) attributes[ATTR.httpStatusCode] = attempt.error.status;
    if (attempt.error.retryable !== undefined) attributes[ATTR.retryable] = attempt.error.retryable;
  }
  return attributes;
}

/**
 * Finish reasons in the conventions' vocabulary (`stop`, `length`,
 * `content_filter`, `tool_call`); frugal-llm's other reasons keep their
 * name, with `_` for `-`.
 */
export function finishReason(reason: FinishReason): string {
  switch (reason) {
    case "tool-calls":
      return "tool_call";
    case "content-filter":
      return "content_filter";
    default:
      return reason;
  }
}

/** A low-cardinality name for what failed: the error's class name (`RateLimitError`). */
export function errorType(error: unknown): string {
  return error instanceof Error && error.name ? error.name : "_OTHER";
}
