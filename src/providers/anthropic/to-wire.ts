import type {
  ToolChoice as AnthropicToolChoice,
  ContentBlockParam,
  ImageBlockParam,
  MessageCreateParams,
  MessageParam,
  TextBlockParam,
  Tool,
  ToolResultBlockParam,
} from "@anthropic-ai/sdk/resources/messages";
import { InvalidRequestError } from "../../core/errors.js";
import type {
  CacheControl,
  ChatRequest,
  ImagePart,
  Message,
  TextPart,
  ToolChoice,
  ToolDefinition,
} from "../../core/request.js";

/**
 * Canonical request → Messages params. Anthropic requires `max_tokens`, so
 * `defaultMaxTokens` fills it when the request sets none. Tool results travel
 * in user turns, so consecutive user-side messages are merged into one turn.
 * `providerOptions.anthropic` is spread last, untouched.
 */
export function toAnthropicParams(
  request: ChatRequest,
  model: string,
  defaultMaxTokens: number,
): MessageCreateParams {
  const params: Record<string, unknown> = {
    model,
    max_tokens: request.maxOutputTokens ?? defaultMaxTokens,
    messages: toMessages(request.messages),
  };
  if (request.system !== undefined) {
    params.system = typeof request.system === "string" ? request.system : request.system.map(toText);
  }
  if (request.tools?.length) params.tools = request.tools.map(toTool);
  if (request.toolChoice !== undefined) params.tool_choice = toToolChoice(request.toolChoice);
  if (request.temperature !== undefined) params.temperature = request.temperature;
  if (request.topP !== undefined) params.top_p = request.topP;
  if (request.stop?.length) params.stop_sequences = request.stop;
  const outputConfig: Record<string, unknown> = {};
  if (request.responseFormat?.type === "json-schema") {
    outputConfig.format = { type: "json_schema", schema: request.responseFormat.schema };
  }
  const effort = request.reasoning?.effort;
  if (effort && effort !== "none") outputConfig.effort = effort === "minimal" ? "low" : effort;
  if (Object.keys(outputConfig).length) params.output_config = outputConfig;
  if (request.reasoning?.budgetTokens) {
    params.thinking = { type: "enabled", budget_tokens: request.reasoning.budgetTokens };
  }
  if (request.stream) params.stream = true;
  Object.assign(params, request.providerOptions?.anthropic);
  return params as unknown as MessageCreateParams;
}

function toMessages(messages: readonly Message[]): MessageParam[] {
  const out: MessageParam[] = [];
  for (const message of messages) {
    const role = message.role === "assistant" ? "assistant" : "user";
    const blocks = toBlocks(message);
    const last = out.at(-1);
    if (last && last.role === role) {
      last.content = [...asBlocks(last.content), ...blocks];
    } else {
      out.push({
        role,
        content: typeof message.content === "string" && message.role !== "tool" ? message.content : blocks,
      });
    }
  }
  return out;
}

function asBlocks(content: MessageParam["content"]): ContentBlockParam[] {
  return typeof content === "string" ? [{ type: "text", text: content }] : content;
}

function toBlocks(message: Message): ContentBlockParam[] {
  if (typeof message.content === "string") return [{ type: "text", text: message.content }];
  switch (message.role) {
    case "user":
      return message.content.map((p) => (p.type === "text" ? toText(p) : toImage(p)));
    case "tool":
      return message.content.map(
        (r): ToolResultBlockParam => ({
          type: "tool_result",
          tool_use_id: r.toolCallId,
          content:
            typeof r.content === "string"
              ? r.content
              : r.content.map((p) => (p.type === "text" ? toText(p) : toImage(p))),
          ...(r.isError !== undefined && { is_error: r.isError }),
          ...(r.cacheControl && { cache_control: toCacheControl(r.cacheControl) }),
        }),
      );
    case "assistant":
      return message.content.map((p): ContentBlockParam => {
        if (p.type === "text") return toText(p);
        if (p.type === "reasoning") {
          return p.redacted !== undefined
            ? { type: "redacted_thinking", data: p.redacted }
            : { type: "thinking", thinking: p.text, signature: p.signature ?? "" };
        }
        return { type: "tool_use", id: p.id, name: p.name, input: parseArguments(p.arguments, p.name) };
      });
  }
}

function toText(part: TextPart): TextBlockParam {
  return {
    type: "text",
    text: part.text,
    ...(part.cacheControl && { cache_control: toCacheControl(part.cacheControl) }),
  };
}

const DATA_URL = /^data:([a-z]+\/[a-z0-9.+-]+);base64,/i;

function toImage(part: ImagePart): ImageBlockParam {
  const match = DATA_URL.exec(part.url);
  const source: ImageBlockParam["source"] = match
    ? {
        type: "base64",
        media_type: match[1]!.toLowerCase() as "image/png",
        data: part.url.slice(match[0].length),
      }
    : { type: "url", url: part.url };
  return {
    type: "image",
    source,
    ...(part.cacheControl && { cache_control: toCacheControl(part.cacheControl) }),
  };
}

function toCacheControl(c: CacheControl): { type: "ephemeral"; ttl?: "5m" | "1h" } {
  return { type: "ephemeral", ...(c.ttl && { ttl: c.ttl }) };
}

function toTool(tool: ToolDefinition): Tool {
  return {
    name: tool.name,
    ...(tool.description !== undefined && { description: tool.description }),
    input_schema: tool.parameters as Tool["input_schema"],
    ...(tool.strict !== undefined && { strict: tool.strict }),
    ...(tool.cacheControl && { cache_control: toCacheControl(tool.cacheControl) }),
  };
}

function toToolChoice(choice: ToolChoice): AnthropicToolChoice {
  if (typeof choice !== "string") return { type: "tool", name: choice.name };
  return { type: choice === "required" ? "any" : choice };
}

function parseArguments(text: string, name: string): Record<string, unknown> {
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidRequestError(`the arguments of tool call "${name}" are not valid JSON`, [
      `messages: tool call ${name}: arguments must be a JSON object`,
    ]);
  }
}
