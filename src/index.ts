export type { AdmissionOptions, CacheEntry } from "./caching/index.js";
export {
  type CallOptions,
  type ChatStream,
  type ClientConfig,
  createClient,
  type FrugalClient,
} from "./client.js";
export { wrapAnthropic } from "./compat/anthropic/index.js";
export { type WrapOptions, wrapOpenAI } from "./compat/openai/index.js";
export type {
  Attempt,
  AttemptPurpose,
  Completion,
  CompletionMeta,
  Cost,
  CostBreakdown,
  FinishReason,
  OutputPart,
  StreamEvent,
  Usage,
} from "./core/completion.js";
export { emptyUsage, totalInputTokens } from "./core/completion.js";
export type { Clock, ContextState, RequestContext, ResolvedModel, Services } from "./core/context.js";
export type {
  AttemptRecord,
  BudgetStatus,
  CacheOutcome,
  CostRecord,
  RouteDecision,
} from "./core/cost-record.js";
export {
  AbortedError,
  ConfigError,
  ConnectionError,
  FrugalError,
  InvalidRequestError,
  OverloadedError,
  ProviderError,
  RateLimitError,
  StreamInterruptedError,
  TimeoutError,
} from "./core/errors.js";
export type { EventMap, EventName, Listener } from "./core/events.js";
export type { Logger } from "./core/logger.js";
export { compose, type Middleware, type Next } from "./core/middleware.js";
export type { PriceBook } from "./core/pricing.js";
export type { Provider, ProviderCallOptions, ProviderResponse, ProviderStream } from "./core/provider.js";
export { completedReply, eventsOver, type Reply, replayEvents, streamingReply } from "./core/reply.js";
export type {
  AssistantMessage,
  CacheControl,
  ChatRequest,
  ChatRequestInput,
  ImagePart,
  Message,
  ReasoningPart,
  RequestMetadata,
  ResponseFormat,
  TextPart,
  ToolCallPart,
  ToolChoice,
  ToolDefinition,
  ToolMessage,
  ToolResultPart,
  UserMessage,
} from "./core/request.js";
export * from "./embeddings/index.js";
export * from "./middleware/batch/index.js";
export * from "./middleware/budget/index.js";
export * from "./middleware/cascade/index.js";
export {
  type CompactionOutcome,
  type HistoryCompactionOptions,
  historyCompaction,
} from "./middleware/compaction/index.js";
export { type CostTracker, type CostTrackerOptions, costTracker } from "./middleware/cost-tracker/index.js";
export { type Dedupe, type DedupeOptions, dedupe } from "./middleware/dedupe/index.js";
export {
  type ExactCache,
  type ExactCacheOptions,
  exactCache,
  requestKey,
  type StoreErrorInfo,
} from "./middleware/exact-cache/index.js";
export {
  AllModelsFailedError,
  type BreakerOptions,
  CircuitOpenError,
  type CircuitState,
  CostGuardError,
  type CostGuardOptions,
  type Degrade,
  type Fallback,
  type FallbackOptions,
  fallback,
  type GuardRefusal,
  type ModelFailure,
} from "./middleware/fallback/index.js";
export {
  type Breakpoint,
  type BreakpointKind,
  type PromptCacheOptions,
  type PromptCacheState,
  type PromptCacheWarning,
  promptCache,
} from "./middleware/prompt-cache/index.js";
export { type RetryOptions, retry } from "./middleware/retry/index.js";
export * from "./middleware/router/index.js";
export {
  antonymsGuard,
  argumentOrderGuard,
  contentWordsGuard,
  defaultGuards,
  entitiesGuard,
  type GuardRejection,
  type GuardsOption,
  guardRejection,
  lexicalGuards,
  negationGuard,
  numbersGuard,
  openingGuard,
  perspectiveGuard,
  pointingGuard,
  questionGuard,
  quotesGuard,
  type SemanticCache,
  type SemanticCacheErrorInfo,
  type SemanticCacheOptions,
  type SemanticGuard,
  type SemanticLookup,
  semanticCache,
  symbolsGuard,
} from "./middleware/semantic-cache/index.js";
export { type PriceBookOptions, priceBook } from "./pricing/price-book.js";
export { type ModelRates, sumCosts } from "./pricing/rates.js";
export {
  type AnthropicClientLike,
  type AnthropicProviderOptions,
  anthropic,
} from "./providers/anthropic/index.js";
export { type OpenAIClientLike, openai } from "./providers/openai/index.js";
export * from "./reports/index.js";
export * from "./storage/index.js";
export * from "./tokens/index.js";
