import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions";
import type { CompletionUsage } from "openai/resources/completions";
import type { Completion, FinishReason, StreamEvent, Usage } from "../../core/completion.js";
import { totalInputTokens } from "../../core/completion.js";
import { withRequestId } from "../request-id.js";

type OpenAIFinish = ChatCompletion.Choice["finish_reason"];

/**
 * Canonical completion → `ChatCompletion`, whichever provider or cache
 * produced it. Fields only OpenAI produces (`logprobs`, `system_fingerprint`)
 * are copied from the raw response when OpenAI answered.
 */
export function toChatCompletion(c: Completion): ChatCompletion & { _request_id: string | null } {
  const raw = fromOpenAI(c.raw);
  const calls = c.toolCalls.map((t) => ({
    id: t.id,
    type: "function" as const,
    function: { name: t.name, arguments: t.arguments },
  }));
  const completion: ChatCompletion = {
    id: c.id,
    object: "chat.completion",
    created: raw?.created ?? Math.floor(Date.now() / 1000),
    model: c.model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: c.text === "" && (calls.length || c.refusal !== undefined) ? null : c.text,
          refusal: c.refusal ?? null,
          ...(calls.length && { tool_calls: calls }),
          annotations: [],
        },
        logprobs: raw?.choices[0]?.logprobs ?? null,
        finish_reason: toOpenAIFinish(c.finishReason),
      },
    ],
    usage: toOpenAIUsage(c.usage),
    ...(raw?.system_fingerprint && { system_fingerprint: raw.system_fingerprint }),
    ...(raw?.service_tier && { service_tier: raw.service_tier }),
  };
  return withRequestId(completion, c);
}

/**
 * Canonical events → `ChatCompletionChunk`s in the order OpenAI sends them:
 * a role chunk, deltas, a finish chunk, and the usage chunk only when the
 * caller asked for it (`stream_options.include_usage`).
 */
export async function* toChatCompletionChunks(
  events: AsyncIterable<StreamEvent>,
  includeUsage: boolean,
): AsyncGenerator<ChatCompletionChunk> {
  let id = "";
  let model = "";
  const created = Math.floor(Date.now() / 1000);
  const chunk = (
    delta: ChatCompletionChunk.Choice.Delta,
    finish: OpenAIFinish | null = null,
  ): ChatCompletionChunk => ({
    id,
    object: "chat.completion.chunk",
    created,
    model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(includeUsage && { usage: null }),
  });
  for await (const event of events) {
    switch (event.type) {
      case "start":
        id = event.id;
        model = event.model;
        yield chunk({ role: "assistant", content: "", refusal: null });
        break;
      case "text-delta":
        yield chunk({ content: event.text });
        break;
      case "refusal-delta":
        yield chunk({ refusal: event.text });
        break;
      case "tool-call-delta":
        yield chunk({
          tool_calls: [
            {
              index: event.index,
              ...(event.id && { id: event.id, type: "function" as const }),
              function: { ...(event.name && { name: event.name }), arguments: event.argumentsDelta },
            },
          ],
        });
        break;
      case "reasoning-delta":
      case "usage":
        break; // Chat Completions has no reasoning deltas, and sends usage only at the end.
      case "finish":
        yield chunk({}, toOpenAIFinish(event.finishReason));
        if (includeUsage) {
          yield {
            id,
            object: "chat.completion.chunk",
            created,
            model,
            choices: [],
            usage: toOpenAIUsage(event.usage),
          };
        }
        break;
    }
  }
}

/** Canonical usage → OpenAI's, where `prompt_tokens` includes cached and written tokens. */
export function toOpenAIUsage(u: Usage): CompletionUsage {
  const prompt = totalInputTokens(u);
  return {
    prompt_tokens: prompt,
    completion_tokens: u.outputTokens,
    total_tokens: prompt + u.outputTokens,
    prompt_tokens_details: { cached_tokens: u.cacheReadTokens, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: u.reasoningTokens,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

function toOpenAIFinish(reason: FinishReason): OpenAIFinish {
  switch (reason) {
    case "length":
      return "length";
    case "tool-calls":
      return "tool_calls";
    case "content-filter":
      return "content_filter";
    default:
      return "stop";
  }
}

function fromOpenAI(raw: unknown): ChatCompletion | undefined {
  return (raw as ChatCompletion | undefined)?.object === "chat.completion"
    ? (raw as ChatCompletion)
    : undefined;
}
