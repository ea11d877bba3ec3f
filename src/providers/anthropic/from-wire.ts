import type { Message, RawMessageStreamEvent, StopReason } from "@anthropic-ai/sdk/resources/messages";
import type { FinishReason, OutputPart, StreamEvent, Usage } from "../../core/completion.js";
import { emptyUsage } from "../../core/completion.js";
import type { ProviderResponse } from "../../core/provider.js";
import { fromSdkStreamError } from "../sdk-calls.js";

/** The usage fields Anthropic sends, in a message or (cumulative) in `message_delta`. */
interface AnthropicUsage {
  input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_creation?: { ephemeral_5m_input_tokens?: number; ephemeral_1h_input_tokens?: number } | null;
  output_tokens?: number | null;
  output_tokens_details?: { thinking_tokens?: number } | null;
}

/**
 * Anthropic's `input_tokens` already excludes cache reads and writes, so the
 * buckets map one to one. Cache writes are split by TTL when the API says so;
 * an undivided `cache_creation_input_tokens` is the default 5-minute TTL.
 */
export function usageFromAnthropic(usage: AnthropicUsage | null | undefined): Usage {
  if (!usage) return { ...emptyUsage(), estimated: true };
  const written = usage.cache_creation_input_tokens ?? 0;
  const oneHour = usage.cache_creation?.ephemeral_1h_input_tokens ?? 0;
  const fiveMin = usage.cache_creation ? (usage.cache_creation.ephemeral_5m_input_tokens ?? 0) : written;
  return {
    inputTokens: usage.input_tokens ?? 0,
    cacheReadTokens: usage.cache_read_input_tokens ?? 0,
    cacheWrite5mTokens: fiveMin,
    cacheWrite1hTokens: oneHour,
    outputTokens: usage.output_tokens ?? 0,
    reasoningTokens: usage.output_tokens_details?.thinking_tokens ?? 0,
  };
}

export function finishFromAnthropic(reason: StopReason | string | null | undefined): FinishReason {
  switch (reason) {
    case "end_turn":
    case "stop_sequence":
      return "stop";
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "tool_use":
      return "tool-calls";
    case "refusal":
      return "refusal";
    case "pause_turn":
      return "pause";
    default:
      return "other";
  }
}

export function responseFromAnthropic(message: Message): ProviderResponse {
  const content: OutputPart[] = [];
  for (const block of message.content) {
    if (block.type === "text") content.push({ type: "text", text: block.text });
    else if (block.type === "tool_use")
      content.push({
        type: "tool-call",
        id: block.id,
        name: block.name,
        arguments: JSON.stringify(block.input),
      });
    else if (block.type === "thinking")
      content.push({ type: "reasoning", text: block.thinking, signature: block.signature });
    else if (block.type === "redacted_thinking")
      content.push({ type: "reasoning", text: "", redacted: block.data });
  }
  const requestId = (message as { _request_id?: string | null })._request_id;
  return {
    id: message.id,
    model: message.model,
    content,
    ...(message.stop_reason === "refusal" && { refusal: textOfBlocks(content) }),
    finishReason: finishFromAnthropic(message.stop_reason),
    usage: usageFromAnthropic(message.usage),
    ...(requestId && { providerRequestId: requestId }),
    raw: message,
  };
}

function textOfBlocks(content: readonly OutputPart[]): string {
  return content.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("");
}

/**
 * Raw stream events → canonical events. Usage arrives in two halves
 * (`message_start` for input and cache, `message_delta` for output, which may
 * repeat the input fields cumulatively): they are merged, the later winning.
 */
export async function* eventsFromAnthropic(
  source: AsyncIterable<RawMessageStreamEvent>,
  model: string,
): AsyncGenerator<StreamEvent> {
  let usage: AnthropicUsage = {};
  let stopReason: string | null = null;
  let refusalText = "";
  const toolIndexByBlock = new Map<number, { index: number; sawArguments: boolean }>();
  try {
    for await (const event of source) {
      switch (event.type) {
        case "message_start":
          usage = { ...event.message.usage };
          yield { type: "start", id: event.message.id, provider: "anthropic", model: event.message.model };
          yield { type: "usage", usage: usageFromAnthropic(usage) };
          break;
        case "content_block_start": {
          const block = event.content_block;
          if (block.type === "text" && block.text) yield { type: "text-delta", text: block.text };
          else if (block.type === "tool_use") {
            const index = toolIndexByBlock.size;
            toolIndexByBlock.set(event.index, { index, sawArguments: false });
            yield { type: "tool-call-delta", index, id: block.id, name: block.name, argumentsDelta: "" };
          } else if (block.type === "thinking") yield { type: "reasoning-delta", text: block.thinking };
          else if (block.type === "redacted_thinking")
            yield { type: "reasoning-delta", text: "", redacted: block.data };
          break;
        }
        case "content_block_delta": {
          const delta = event.delta;
          if (delta.type === "text_delta") {
            refusalText += delta.text;
            yield { type: "text-delta", text: delta.text };
          } else if (delta.type === "input_json_delta") {
            const tool = toolIndexByBlock.get(event.index);
            if (tool) {
              tool.sawArguments ||= delta.partial_json !== "";
              yield { type: "tool-call-delta", index: tool.index, argumentsDelta: delta.partial_json };
            }
          } else if (delta.type === "thinking_delta") yield { type: "reasoning-delta", text: delta.thinking };
          else if (delta.type === "signature_delta")
            yield { type: "reasoning-delta", text: "", signature: delta.signature };
          break;
        }
        case "content_block_stop": {
          // A tool called with no arguments streams no JSON: its arguments are `{}`.
          const tool = toolIndexByBlock.get(event.index);
          if (tool && !tool.sawArguments)
            yield { type: "tool-call-delta", index: tool.index, argumentsDelta: "{}" };
          break;
        }
        case "message_delta":
          stopReason = event.delta.stop_reason ?? stopReason;
          usage = mergeUsage(usage, event.usage as AnthropicUsage);
          // The output so far, reported (thinking included): what a stream cut before message_stop is charged.
          yield { type: "usage", usage: usageFromAnthropic(usage) };
          break;
        case "message_stop":
          if (stopReason === "refusal") yield { type: "refusal-delta", text: refusalText };
          yield {
            type: "finish",
            finishReason: finishFromAnthropic(stopReason),
            usage: usageFromAnthropic(usage),
          };
          break;
      }
    }
  } catch (error) {
    throw fromSdkStreamError(error, "anthropic", model);
  }
}

function mergeUsage(start: AnthropicUsage, delta: AnthropicUsage): AnthropicUsage {
  const merged: AnthropicUsage = { ...start };
  for (const [key, value] of Object.entries(delta) as [keyof AnthropicUsage, never][]) {
    if (value !== null && value !== undefined) merged[key] = value;
  }
  return merged;
}
