import type {
  Completion,
  CompletionMeta,
  Cost,
  FinishReason,
  OutputPart,
  StreamEvent,
  Usage,
} from "./completion.js";
import { textOf, toolCallsOf } from "./completion.js";
import type { ChatRequest } from "./request.js";

export interface ProviderCallOptions {
  /** The provider's own model name (the part after `provider:`). */
  model: string;
  /** Absent when nothing can abort the call. */
  signal: AbortSignal | undefined;
  /** Per-request SDK retries; `undefined` keeps the SDK's own setting. */
  maxRetries: number | undefined;
}

/** A finished provider answer, before the dispatcher adds cost and meta. */
export interface ProviderResponse {
  id: string;
  model: string;
  content: OutputPart[];
  refusal?: string;
  finishReason: FinishReason;
  usage: Usage;
  providerRequestId?: string;
  raw: unknown;
}

/** The completion of a provider's answer, once it is priced: the dispatcher's and the batch's. */
export function completionOf(
  response: ProviderResponse,
  provider: string,
  model: string,
  cost: Cost,
  meta: CompletionMeta,
): Completion {
  return {
    id: response.id,
    provider,
    model,
    content: response.content,
    text: textOf(response.content),
    toolCalls: toolCallsOf(response.content),
    ...(response.refusal !== undefined && { refusal: response.refusal }),
    finishReason: response.finishReason,
    usage: response.usage,
    cost,
    meta,
    raw: response.raw,
  };
}

/**
 * A provider adapter over a host's SDK instance. Adapters translate the
 * canonical request to wire params and the wire answer back; they never
 * retry, cache or price anything.
 */
export interface Provider {
  /** The prefix of model refs this provider serves (`openai` in `openai:gpt-4o-mini`). */
  readonly name: string;
  complete(request: ChatRequest, options: ProviderCallOptions): Promise<ProviderResponse>;
  /**
   * Starts a streamed call. Resolves once the provider accepted the call, with
   * canonical events ending in one `finish`; a stream that ends without
   * `finish` was cut short.
   */
  stream(request: ChatRequest, options: ProviderCallOptions): Promise<ProviderStream>;
}

/**
 * A streamed call's canonical events. `cancel()`, when an adapter gives it,
 * ends the call at once, whether or not the events were read (the SDK
 * stream's own abort); without it, a stream is released through its
 * iterator only, so one closed before its first read runs on to its end
 * unless the call had a signal.
 */
export type ProviderStream = AsyncIterable<StreamEvent> & { cancel?(): void };
