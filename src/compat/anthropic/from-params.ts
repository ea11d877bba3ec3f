import type {
  ContentBlockParam,
  MessageCreateParams,
  MessageParam,
  TextBlockParam,
  ToolUnion,
} from "@anthropic-ai/sdk/resources/messages";
import { InvalidRequestError } from "../../core/errors.js";
import type {
  AssistantMessage,
  ChatRequestInput,
  ImagePart,
  Message,
  RequestMetadata,
  TextPart,
  ToolDefinition,
  ToolResultPart,
} from "../../core/request.js";

/** Params this translation maps; every other param passes through to Anthropic untouched. */
const MAPPED = new Set([
  "model",
  "messages",
  "system",
  "tools",
  "tool_choice",
  "max_tokens",
  "temperature",
  "top_p",
  "stop_sequences",
  "stream",
]);

/**
 * Messages params → canonical request. Tool results, which Anthropic sends in
 * user turns, become canonical tool messages; `cache_control` markers are
 * kept on the parts they mark. `thinking` and `output_config` are mapped when
 * the canonical request can say the same thing, and passed through otherwise.
 */
export function requestFromAnthropicParams(
  params: MessageCreateParams,
  metadata: RequestMetadata | undefined,
): ChatRequestInput {
  const passthrough: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) {
    if (!MAPPED.has(key) && value !== undefined) passthrough[key] = value;
  }
  // The canonical tool choice has no parallel-call switch: the original travels untouched.
  if (params.tool_choice && "disable_parallel_tool_use" in params.tool_choice)
    passthrough.tool_choice = params.tool_choice;
  const reasoning: { budgetTokens?: number; effort?: "low" | "medium" | "high" | "xhigh" | "max" } = {};
  if (params.thinking?.type === "enabled") {
    reasoning.budgetTokens = params.thinking.budget_tokens;
    delete passthrough.thinking;
  }
  let responseFormat: ChatRequestInput["responseFormat"];
  const outputConfig = params.output_config;
  if (outputConfig && Object.keys(outputConfig).every((k) => k === "format" || k === "effort")) {
    if (outputConfig.format)
      responseFormat = { type: "json-schema", name: "output", schema: outputConfig.format.schema };
    if (outputConfig.effort) reasoning.effort = outputConfig.effort;
    delete passthrough.output_config;
  }
  // Older models take sampling params that the newest SDK types no longer list.
  const sampling = params as { temperature?: number | null; top_p?: number | null };
  return {
    model: params.model,
    messages: params.messages.flatMap(toMessages),
    ...(params.system !== undefined && {
      system: typeof params.system === "string" ? params.system : params.system.map(toText),
    }),
    ...(params.tools?.length && { tools: params.tools.map(toTool) }),
    ...(params.tool_choice && { toolChoice: toToolChoice(params.tool_choice) }),
    ...(responseFormat && { responseFormat }),
    maxOutputTokens: params.max_tokens,
    ...(sampling.temperature != null && { temperature: sampling.temperature }),
    ...(sampling.top_p != null && { topP: sampling.top_p }),
    ...(params.stop_sequences?.length && { stop: params.stop_sequences }),
    ...(Object.keys(reasoning).length && { reasoning }),
    ...(metadata && { metadata }),
    ...(Object.keys(passthrough).length && { providerOptions: { anthropic: passthrough } }),
  } as ChatRequestInput;
}

function toMessages(m: MessageParam, i: number): Message[] {
  if (m.role === "system") throw unsupported(`messages[${i}].role "system" (use the system param)`);
  if (typeof m.content === "string") return [{ role: m.role, content: m.content }];
  if (m.role === "assistant") {
    return [{ role: "assistant", content: m.content.map((b) => toAssistantPart(b, i)) }];
  }
  // A user turn may hold tool results and new input: results first, as the API requires.
  const results = m.content.filter((b) => b.type === "tool_result").map((b) => toToolResult(b, i));
  const rest = m.content.filter((b) => b.type !== "tool_result").map((b) => toUserPart(b, i));
  return [
    ...(results.length ? [{ role: "tool" as const, content: results }] : []),
    ...(rest.length ? [{ role: "user" as const, content: rest }] : []),
  ];
}

function toAssistantPart(
  b: ContentBlockParam,
  i: number,
): Exclude<AssistantMessage["content"], string>[number] {
  switch (b.type) {
    case "text":
      return toText(b);
    case "tool_use":
      return { type: "tool-call", id: b.id, name: b.name, arguments: JSON.stringify(b.input ?? {}) };
    case "thinking":
      return { type: "reasoning", text: b.thinking, signature: b.signature };
    case "redacted_thinking":
      return { type: "reasoning", text: "", redacted: b.data };
    default:
      throw unsupported(`messages[${i}].content: "${b.type}" blocks`);
  }
}

function toUserPart(b: ContentBlockParam, i: number): TextPart | ImagePart {
  if (b.type === "text") return toText(b);
  if (b.type === "image") {
    const url =
      b.source.type === "base64"
        ? `data:${b.source.media_type};base64,${b.source.data}`
        : b.source.type === "url"
          ? b.source.url
          : undefined;
    if (url === undefined) throw unsupported(`messages[${i}].content: image source "${b.source.type}"`);
    return { type: "image", url, ...(b.cache_control && { cacheControl: ttlOf(b.cache_control) }) };
  }
  throw unsupported(`messages[${i}].content: "${b.type}" blocks`);
}

function toToolResult(b: ContentBlockParam, i: number): ToolResultPart {
  if (b.type !== "tool_result") throw unsupported("tool_result");
  const content =
    typeof b.content === "string" || b.content === undefined
      ? (b.content ?? "")
      : b.content.map((c) => toUserPart(c as ContentBlockParam, i));
  return {
    type: "tool-result",
    toolCallId: b.tool_use_id,
    content,
    ...(b.is_error != null && { isError: b.is_error }),
    ...(b.cache_control && { cacheControl: ttlOf(b.cache_control) }),
  };
}

function toText(b: TextBlockParam): TextPart {
  return { type: "text", text: b.text, ...(b.cache_control && { cacheControl: ttlOf(b.cache_control) }) };
}

function ttlOf(c: { ttl?: "5m" | "1h" }): { ttl?: "5m" | "1h" } {
  return c.ttl ? { ttl: c.ttl } : {};
}

function toTool(tool: ToolUnion): ToolDefinition {
  if ("type" in tool && tool.type !== undefined && tool.type !== "custom") {
    throw unsupported(`tools: server tool "${tool.type}"`);
  }
  const t = tool as Extract<ToolUnion, { input_schema: unknown }>;
  return {
    name: t.name,
    ...(t.description !== undefined && { description: t.description }),
    parameters: t.input_schema as Record<string, unknown>,
    ...(t.strict != null && { strict: t.strict }),
    ...(t.cache_control && { cacheControl: ttlOf(t.cache_control) }),
  };
}

function toToolChoice(
  choice: NonNullable<MessageCreateParams["tool_choice"]>,
): ChatRequestInput["toolChoice"] {
  switch (choice.type) {
    case "auto":
    case "none":
      return choice.type;
    case "any":
      return "required";
    case "tool":
      return { type: "tool", name: choice.name };
  }
}

function unsupported(what: string): InvalidRequestError {
  return new InvalidRequestError(`${what} is not supported through frugal-llm yet`, [
    `params.${what}: unsupported`,
  ]);
}
