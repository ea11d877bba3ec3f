import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions";
import type { CompletionUsage } from "openai/resources/completions";
import type { FinishReason, OutputPart, StreamEvent, Usage } from "../../core/completion.js";
import { emptyUsage } from "../../core/completion.js";
import type { ProviderResponse } from "../../core/provider.js";
import { fromSdkStreamError } from "../sdk-calls.js";

/**
 * OpenAI's `prompt_tokens` includes cached tokens; the canonical buckets are
 * disjoint, so the cached part is moved out of the uncached input. Reasoning
 * tokens stay inside `outputTokens` (they are billed as output) and are also
 * reported on their own.
 */
export function usageFromOpenAI(usage: CompletionUsage | null | undefined): Usage {
  if (!usage) return { ...emptyUsage(), estimated: true };
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
  return {
    inputTokens: usage.prompt_tokens - cached,
    cacheReadTokens: cached,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: usage.completion_tokens,
    reasoningTokens: usage.completion_tokens_details?.reasoning_tokens ?? 0,
  };
}

export function finishFromOpenAI(reason: string | null | undefined, refused: boolean): FinishReason {
  if (refused) return "refusal";
  switch (reason) {
    case "stop":
      return "stop";
    case "length":
      return "length";
    case "tool_calls":
    case "function_call":
      return "tool-calls";
    case "content_filter":
      return "content-filter";
    default:
      return "other";
  }
}

export function responseFromOpenAI(completion: ChatCompletion): ProviderResponse {
  const choice = completion.choices[0];
  const message = choice?.message;
  const content: OutputPart[] = [];
  if (message?.content) content.push({ type: "text", text: message.content });
  for (const call of message?.tool_calls ?? []) {
    if (call.type === "function") {
      content.push({
        type: "tool-call",
        id: call.id,
        name: call.function.name,
        arguments: call.function.arguments,
      });
    }
  }
  const refusal = message?.refusal ?? undefined;
  const requestId = (completion as { _request_id?: string | null })._request_id;
  return {
    id: completion.id,
    model: completion.model,
    content,
    ...(refusal != null && { refusal }),
    finishReason: finishFromOpenAI(choice?.finish_reason, refusal != null),
    usage: usageFromOpenAI(completion.usage),
    ...(requestId && { providerRequestId: requestId }),
    raw: completion,
  };
}

/**
 * Chunks → canonical events; SDK errors mid-stream become frugal-llm errors. The finish reason arrives before the usage
 * chunk, so `finish` is emitted once the stream ends; a stream with no finish
 * reason ends without `finish`, which marks it as cut short.
 */
export async function* eventsFromOpenAI(
  chunks: AsyncIterable<ChatCompletionChunk>,
  model: string,
): AsyncGenerator<StreamEvent> {
  let started = false;
  let finishReason: string | null = null;
  let refused = false;
  let usage: CompletionUsage | null | undefined;
  try {
    for await (const chunk of chunks) {
      if (!started) {
        started = true;
        yield { type: "start", id: chunk.id, provider: "openai", model: chunk.model };
      }
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (!choice) continue;
      const delta = choice.delta;
      if (delta?.content) yield { type: "text-delta", text: delta.content };
      if (delta?.refusal) {
        refused = true;
        yield { type: "refusal-delta", text: delta.refusal };
      }
      for (const call of delta?.tool_calls ?? []) {
        yield {
          type: "tool-call-delta",
          index: call.index,
          ...(call.id && { id: call.id }),
          ...(call.function?.name && { name: call.function.name }),
          argumentsDelta: call.function?.arguments ?? "",
        };
      }
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
  } catch (error) {
    throw fromSdkStreamError(error, "openai", model);
  }
  if (finishReason !== null) {
    yield {
      type: "finish",
      finishReason: finishFromOpenAI(finishReason, refused),
      usage: usageFromOpenAI(usage),
    };
  }
}
