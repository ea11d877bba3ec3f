import type {
  ChatCompletionContentPart,
  ChatCompletionContentPartText,
  ChatCompletionCreateParams,
  ChatCompletionMessageParam,
  ChatCompletionTool,
  ChatCompletionToolChoiceOption,
} from "openai/resources/chat/completions";
import { InvalidRequestError } from "../../core/errors.js";
import type { ChatRequest, Message, ResponseFormat, TextPart, ToolChoice } from "../../core/request.js";

/**
 * Canonical request → Chat Completions params. Streamed calls always ask for
 * usage (`stream_options.include_usage`), so a stream is never billed blind.
 * `providerOptions.openai` is spread last, untouched.
 */
export function toOpenAIParams(request: ChatRequest, model: string): ChatCompletionCreateParams {
  const params: Record<string, unknown> = { model, messages: toMessages(request) };
  if (request.tools?.length) params.tools = request.tools.map(toTool);
  if (request.toolChoice !== undefined) params.tool_choice = toToolChoice(request.toolChoice);
  if (request.responseFormat) params.response_format = toResponseFormat(request.responseFormat);
  if (request.maxOutputTokens !== undefined) params.max_completion_tokens = request.maxOutputTokens;
  if (request.temperature !== undefined) params.temperature = request.temperature;
  if (request.topP !== undefined) params.top_p = request.topP;
  if (request.stop?.length) {
    if (request.stop.length > 4)
      throw new InvalidRequestError("OpenAI takes at most 4 stop sequences", [
        `stop: ${request.stop.length} sequences; OpenAI's Chat Completions accepts at most 4`,
      ]);
    params.stop = request.stop;
  }
  if (request.seed !== undefined) params.seed = request.seed;
  if (request.reasoning?.effort) params.reasoning_effort = request.reasoning.effort;
  Object.assign(params, request.providerOptions?.openai);
  // After the pass-through: a stream is never billed blind, whatever providerOptions say.
  params.stream = request.stream === true;
  if (request.stream) params.stream_options = { ...(params.stream_options as object), include_usage: true };
  return params as unknown as ChatCompletionCreateParams;
}

function toMessages(request: ChatRequest): ChatCompletionMessageParam[] {
  const out: ChatCompletionMessageParam[] = [];
  if (request.system !== undefined) {
    out.push({
      role: "system",
      content: typeof request.system === "string" ? request.system : texts(request.system),
    });
  }
  for (const message of request.messages) out.push(...toMessage(message));
  return out;
}

function toMessage(message: Message): ChatCompletionMessageParam[] {
  switch (message.role) {
    case "user":
      if (typeof message.content === "string") return [{ role: "user", content: message.content }];
      return [
        {
          role: "user",
          content: message.content.map(
            (part): ChatCompletionContentPart =>
              part.type === "text"
                ? { type: "text", text: part.text }
                : {
                    type: "image_url",
                    image_url: { url: part.url, ...(part.detail && { detail: part.detail }) },
                  },
          ),
        },
      ];
    case "assistant": {
      if (typeof message.content === "string") return [{ role: "assistant", content: message.content }];
      // Reasoning parts have no Chat Completions input form; they are dropped.
      const text = message.content.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("");
      const calls = message.content.flatMap((p) =>
        p.type === "tool-call"
          ? [{ id: p.id, type: "function" as const, function: { name: p.name, arguments: p.arguments } }]
          : [],
      );
      return [
        {
          role: "assistant",
          content: text === "" && calls.length ? null : text,
          ...(calls.length && { tool_calls: calls }),
        },
      ];
    }
    case "tool":
      return message.content.map((result) => {
        if (typeof result.content === "string") {
          return { role: "tool" as const, tool_call_id: result.toolCallId, content: result.content };
        }
        if (result.content.some((p) => p.type !== "text")) {
          throw new InvalidRequestError("OpenAI tool results cannot carry images", [
            `messages: tool result ${result.toolCallId}: image parts are not supported by OpenAI`,
          ]);
        }
        return {
          role: "tool" as const,
          tool_call_id: result.toolCallId,
          content: texts(result.content as TextPart[]),
        };
      });
  }
}

function texts(parts: readonly TextPart[]): ChatCompletionContentPartText[] {
  return parts.map((p) => ({ type: "text", text: p.text }));
}

function toTool(tool: NonNullable<ChatRequest["tools"]>[number]): ChatCompletionTool {
  return {
    type: "function",
    function: {
      name: tool.name,
      ...(tool.description !== undefined && { description: tool.description }),
      parameters: tool.parameters,
      ...(tool.strict !== undefined && { strict: tool.strict }),
    },
  };
}

function toToolChoice(choice: ToolChoice): ChatCompletionToolChoiceOption {
  return typeof choice === "string" ? choice : { type: "function", function: { name: choice.name } };
}

function toResponseFormat(format: ResponseFormat): ChatCompletionCreateParams["response_format"] {
  switch (format.type) {
    case "text":
      return { type: "text" };
    case "json":
      return { type: "json_object" };
    case "json-schema":
      return {
        type: "json_schema",
        json_schema: {
          name: format.name,
          schema: format.schema,
          ...(format.description !== undefined && { description: format.description }),
          ...(format.strict !== undefined && { strict: format.strict }),
        },
      };
  }
}
