import type {
  ChatCompletionContentPart,
  ChatCompletionCreateParams,
  ChatCompletionMessageParam,
} from "openai/resources/chat/completions";
import { InvalidRequestError } from "../../core/errors.js";
import type {
  AssistantMessage,
  ChatRequestInput,
  ImagePart,
  Message,
  RequestMetadata,
  ResponseFormat,
  TextPart,
  ToolChoice,
  ToolDefinition,
} from "../../core/request.js";

/** Params this translation maps; every other param passes through to OpenAI untouched. */
const MAPPED = new Set([
  "model",
  "messages",
  "tools",
  "tool_choice",
  "response_format",
  "max_tokens",
  "max_completion_tokens",
  "temperature",
  "top_p",
  "stop",
  "seed",
  "reasoning_effort",
  "stream",
  "stream_options",
  "n",
]);

/**
 * Chat Completions params → canonical request. System and developer messages
 * become `system` (joined in order). Params with no canonical field
 * (`logprobs`, `frequency_penalty`, `user`, ...) travel in
 * `providerOptions.openai`, so they still reach OpenAI and still change the
 * cache key.
 */
export function requestFromOpenAIParams(
  params: ChatCompletionCreateParams,
  metadata: RequestMetadata | undefined,
): ChatRequestInput {
  if (params.n != null && params.n !== 1) {
    throw new InvalidRequestError("n > 1 is not supported through frugal-llm", ["params.n: expected 1"]);
  }
  const system: string[] = [];
  // Consecutive tool messages become one canonical tool message.
  const messages: Message[] = [];
  for (const [i, m] of params.messages.entries()) {
    if (m.role === "system" || m.role === "developer") system.push(contentText(m.content));
    else {
      const message = toMessage(m, i);
      const previous = messages.at(-1);
      if (message.role === "tool" && previous?.role === "tool") previous.content.push(...message.content);
      else messages.push(message);
    }
  }
  const passthrough: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) {
    if (!MAPPED.has(key) && value !== undefined) passthrough[key] = value;
  }
  const maxTokens = params.max_completion_tokens ?? params.max_tokens;
  const stop = typeof params.stop === "string" ? [params.stop] : (params.stop ?? undefined);
  return {
    model: params.model,
    messages,
    ...(system.length && { system: system.join("\n\n") }),
    ...(params.tools?.length && { tools: params.tools.map(toTool) }),
    ...(params.tool_choice != null && { toolChoice: toToolChoice(params.tool_choice) }),
    ...(params.response_format && { responseFormat: toResponseFormat(params.response_format) }),
    ...(maxTokens != null && { maxOutputTokens: maxTokens }),
    ...(params.temperature != null && { temperature: params.temperature }),
    ...(params.top_p != null && { topP: params.top_p }),
    ...(stop?.length && { stop }),
    ...(params.seed != null && { seed: params.seed }),
    ...(params.reasoning_effort != null && { reasoning: { effort: params.reasoning_effort } }),
    ...(metadata && { metadata }),
    ...(Object.keys(passthrough).length && { providerOptions: { openai: passthrough } }),
  };
}

function toMessage(m: ChatCompletionMessageParam, i: number): Message {
  switch (m.role) {
    case "user":
      return {
        role: "user",
        content: typeof m.content === "string" ? m.content : m.content.map((p) => toUserPart(p, i)),
      };
    case "assistant": {
      const parts: Exclude<AssistantMessage["content"], string> = [];
      const text = m.content == null ? "" : contentText(m.content);
      if (text) parts.push({ type: "text", text });
      for (const call of m.tool_calls ?? []) {
        if (call.type !== "function") throw unsupported(`messages[${i}].tool_calls: custom tools`);
        parts.push({
          type: "tool-call",
          id: call.id,
          name: call.function.name,
          arguments: call.function.arguments,
        });
      }
      return { role: "assistant", content: parts.length === 1 && parts[0]!.type === "text" ? text : parts };
    }
    case "tool":
      return {
        role: "tool",
        content: [{ type: "tool-result", toolCallId: m.tool_call_id, content: contentText(m.content) }],
      };
    default:
      throw unsupported(`messages[${i}].role "${m.role}"`);
  }
}

function toUserPart(part: ChatCompletionContentPart, i: number): TextPart | ImagePart {
  if (part.type === "text") return { type: "text", text: part.text };
  if (part.type === "image_url") {
    return {
      type: "image",
      url: part.image_url.url,
      ...(part.image_url.detail && { detail: part.image_url.detail }),
    };
  }
  throw unsupported(`messages[${i}].content: "${part.type}" parts`);
}

function contentText(
  content: string | ReadonlyArray<{ type: string; text?: string; refusal?: string }>,
): string {
  if (typeof content === "string") return content;
  return content.map((p) => p.text ?? p.refusal ?? "").join("");
}

function toTool(tool: NonNullable<ChatCompletionCreateParams["tools"]>[number]): ToolDefinition {
  if (tool.type !== "function") throw unsupported(`tools: "${tool.type}" tools`);
  const f = tool.function;
  return {
    name: f.name,
    ...(f.description !== undefined && { description: f.description }),
    parameters: f.parameters ?? { type: "object", properties: {} },
    ...(f.strict != null && { strict: f.strict }),
  };
}

function toToolChoice(choice: NonNullable<ChatCompletionCreateParams["tool_choice"]>): ToolChoice {
  if (typeof choice === "string") return choice;
  if (choice.type === "function") return { type: "tool", name: choice.function.name };
  throw unsupported(`tool_choice: "${choice.type}"`);
}

function toResponseFormat(
  format: NonNullable<ChatCompletionCreateParams["response_format"]>,
): ResponseFormat {
  switch (format.type) {
    case "text":
      return { type: "text" };
    case "json_object":
      return { type: "json" };
    case "json_schema":
      return {
        type: "json-schema",
        name: format.json_schema.name,
        schema: format.json_schema.schema ?? {},
        ...(format.json_schema.description !== undefined && { description: format.json_schema.description }),
        ...(format.json_schema.strict != null && { strict: format.json_schema.strict }),
      };
    default:
      throw unsupported(`response_format: "${(format as { type: string }).type}"`);
  }
}

function unsupported(what: string): InvalidRequestError {
  return new InvalidRequestError(`${what} is not supported through frugal-llm yet`, [
    `params.${what}: unsupported`,
  ]);
}
