import type {
  Usage as AnthropicUsage,
  ContentBlock,
  Message,
  RawMessageStreamEvent,
  StopReason,
} from "@anthropic-ai/sdk/resources/messages";
import type { Completion, FinishReason, StreamEvent, Usage } from "../../core/completion.js";
import { emptyUsage } from "../../core/completion.js";

/**
 * Canonical completion → Anthropic `Message`, whichever provider or cache
 * produced it. A refusal from a provider that reports it apart from the text
 * (OpenAI) becomes the message's text, as Anthropic sends refusals.
 */
export function toAnthropicMessage(
  c: Pick<Completion, "id" | "model" | "content" | "refusal" | "finishReason" | "usage">,
): Message {
  const content: ContentBlock[] = [];
  for (const part of c.content) {
    if (part.type === "text") content.push({ type: "text", text: part.text, citations: null });
    else if (part.type === "reasoning")
      content.push(
        part.redacted !== undefined
          ? { type: "redacted_thinking", data: part.redacted }
          : { type: "thinking", thinking: part.text, signature: part.signature ?? "" },
      );
    else
      content.push({
        type: "tool_use",
        id: part.id,
        name: part.name,
        input: parseInput(part.arguments),
      } as ContentBlock);
  }
  if (c.refusal && !content.some((b) => b.type === "text")) {
    content.push({ type: "text", text: c.refusal, citations: null });
  }
  return {
    id: c.id,
    type: "message",
    role: "assistant",
    model: c.model,
    content,
    stop_reason: toStopReason(c.finishReason),
    stop_sequence: null,
    stop_details: null,
    container: null,
    diagnostics: null,
    usage: toAnthropicUsage(c.usage),
  } as Message;
}

/**
 * Canonical events → Anthropic's raw stream events, block by block:
 * `message_start`, `content_block_start` / `_delta` / `_stop` per block,
 * `message_delta` with the stop reason and the whole usage, `message_stop`.
 */
export async function* toAnthropicEvents(
  events: AsyncIterable<StreamEvent>,
): AsyncGenerator<RawMessageStreamEvent> {
  let index = -1;
  let open: "text" | "thinking" | "tool" | undefined;
  let sawText = false;
  const toolBlocks = new Map<number, number>();
  function* startBlock(kind: "text" | "thinking" | "tool", block: unknown): Generator<RawMessageStreamEvent> {
    if (open !== undefined) yield { type: "content_block_stop", index };
    index++;
    open = kind;
    yield { type: "content_block_start", index, content_block: block } as RawMessageStreamEvent;
  }
  let started: { id: string; model: string } | undefined;
  for await (const event of events) {
    if (started && event.type !== "usage") {
      yield messageStart(started, emptyUsage());
      started = undefined;
    }
    switch (event.type) {
      case "start":
        // Held until the next event: Anthropic's message_start carries the input usage, which a
        // "usage" event right after start supplies (and the SDK's MessageStream reads it there).
        started = { id: event.id, model: event.model };
        break;
      case "usage":
        if (started) yield messageStart(started, event.usage);
        started = undefined;
        break;
      case "text-delta":
        sawText = true;
        if (open !== "text") yield* startBlock("text", { type: "text", text: "", citations: null });
        yield { type: "content_block_delta", index, delta: { type: "text_delta", text: event.text } };
        break;
      case "refusal-delta":
        if (sawText) break; // Anthropic refusals are already in the text.
        if (open !== "text") yield* startBlock("text", { type: "text", text: "", citations: null });
        yield { type: "content_block_delta", index, delta: { type: "text_delta", text: event.text } };
        break;
      case "reasoning-delta":
        if (event.redacted !== undefined) {
          yield* startBlock("thinking", { type: "redacted_thinking", data: event.redacted });
          yield { type: "content_block_stop", index };
          open = undefined;
          break;
        }
        if (open !== "thinking")
          yield* startBlock("thinking", { type: "thinking", thinking: "", signature: "" });
        if (event.text)
          yield {
            type: "content_block_delta",
            index,
            delta: { type: "thinking_delta", thinking: event.text },
          };
        if (event.signature)
          yield {
            type: "content_block_delta",
            index,
            delta: { type: "signature_delta", signature: event.signature },
          };
        break;
      case "tool-call-delta": {
        if (!toolBlocks.has(event.index)) {
          yield* startBlock("tool", {
            type: "tool_use",
            id: event.id ?? "",
            name: event.name ?? "",
            input: {},
          });
          toolBlocks.set(event.index, index);
        }
        if (event.argumentsDelta) {
          const block = toolBlocks.get(event.index)!;
          yield {
            type: "content_block_delta",
            index: block,
            delta: { type: "input_json_delta", partial_json: event.argumentsDelta },
          };
        }
        break;
      }
      case "finish":
        if (open !== undefined) yield { type: "content_block_stop", index };
        open = undefined;
        yield {
          type: "message_delta",
          delta: { stop_reason: toStopReason(event.finishReason), stop_sequence: null },
          usage: toAnthropicUsage(event.usage),
        } as unknown as RawMessageStreamEvent;
        yield { type: "message_stop" };
        break;
    }
  }
}

function messageStart(start: { id: string; model: string }, usage: Usage): RawMessageStreamEvent {
  const message = toAnthropicMessage({ ...start, content: [], finishReason: "other", usage });
  return { type: "message_start", message: { ...message, stop_reason: null } };
}

/** Canonical usage → Anthropic's, where `input_tokens` excludes cache reads and writes. */
export function toAnthropicUsage(u: Usage): AnthropicUsage {
  return {
    input_tokens: u.inputTokens,
    cache_read_input_tokens: u.cacheReadTokens,
    cache_creation_input_tokens: u.cacheWrite5mTokens + u.cacheWrite1hTokens,
    cache_creation: {
      ephemeral_5m_input_tokens: u.cacheWrite5mTokens,
      ephemeral_1h_input_tokens: u.cacheWrite1hTokens,
    },
    output_tokens: u.outputTokens,
    output_tokens_details: { thinking_tokens: u.reasoningTokens },
    server_tool_use: null,
    service_tier: "standard",
    inference_geo: null,
    speed: null,
  } as AnthropicUsage;
}

function toStopReason(reason: FinishReason): StopReason {
  switch (reason) {
    case "length":
      return "max_tokens";
    case "tool-calls":
      return "tool_use";
    case "refusal":
    case "content-filter":
      return "refusal";
    case "pause":
      return "pause_turn";
    default:
      return "end_turn";
  }
}

function parseInput(text: string): unknown {
  try {
    return text.trim() === "" ? {} : JSON.parse(text);
  } catch {
    return {};
  }
}
