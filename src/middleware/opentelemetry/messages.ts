import type { Attributes } from "@opentelemetry/api";
import type { Completion } from "../../core/completion.js";
import type { ChatRequest, ImagePart, Message, TextPart } from "../../core/request.js";
import { ATTR, finishReason } from "./attributes.js";

/**
 * The prompt and the answer in the GenAI conventions' message shape
 * (`{ role, parts: [{ type, ... }] }`), as JSON strings: only ever called
 * when the host opted in with `recordPrompts: true`. Inline image data is
 * never copied into telemetry; an `https:` image is recorded as its URL.
 */
export function promptAttributes(request: ChatRequest): Attributes {
  const attributes: Attributes = {
    [ATTR.inputMessages]: JSON.stringify(request.messages.map(inputMessage)),
  };
  if (request.system !== undefined) {
    const parts = typeof request.system === "string" ? [text(request.system)] : request.system.map(textPart);
    attributes[ATTR.systemInstructions] = JSON.stringify(parts);
  }
  return attributes;
}

export function answerAttributes(completion: Completion): Attributes {
  const parts: unknown[] = completion.content.map((part) => {
    if (part.type === "text") return text(part.text);
    if (part.type === "reasoning") return { type: "reasoning", content: part.text };
    return { type: "tool_call", id: part.id, name: part.name, arguments: parseArguments(part.arguments) };
  });
  if (completion.refusal !== undefined) parts.push({ type: "refusal", content: completion.refusal });
  const message = { role: "assistant", parts, finish_reason: finishReason(completion.finishReason) };
  return { [ATTR.outputMessages]: JSON.stringify([message]) };
}

function inputMessage(message: Message): unknown {
  if (message.role === "tool") {
    return {
      role: "tool",
      parts: message.content.map((result) => ({
        type: "tool_call_response",
        id: result.toolCallId,
        response: typeof result.content === "string" ? result.content : result.content.map(contentPart),
      })),
    };
  }
  if (typeof message.content === "string") return { role: message.role, parts: [text(message.content)] };
  return {
    role: message.role,
    parts: message.content.map((part) => {
      if (part.type === "tool-call") {
        return { type: "tool_call", id: part.id, name: part.name, arguments: parseArguments(part.arguments) };
      }
      if (part.type === "reasoning") return { type: "reasoning", content: part.text };
      return contentPart(part);
    }),
  };
}

function contentPart(part: TextPart | ImagePart): unknown {
  if (part.type === "text") return textPart(part);
  if (/^https?:/i.test(part.url)) return { type: "uri", modality: "image", uri: part.url };
  const mimeType = /^data:([^;,]+)/i.exec(part.url)?.[1];
  return { type: "image", ...(mimeType && { mime_type: mimeType }), content: "[inline data not recorded]" };
}

function textPart(part: TextPart): unknown {
  return text(part.text);
}

function text(content: string): unknown {
  return { type: "text", content };
}

/** Tool arguments as the model wrote them: an object when they parse, the raw text when not. */
function parseArguments(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
