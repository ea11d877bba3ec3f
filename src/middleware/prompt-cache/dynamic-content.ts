import type { ChatRequest } from "../../core/request.js";
import { CHARS_PER_TOKEN } from "./prompt-blocks.js";

/** Content that changes from one request to the next, and so ends every cached prefix where it appears. */
export type DynamicKind = "timestamp" | "uuid" | "request-id" | "digit-run";

/**
 * The detectors. Each is a fixed-length or bounded pattern with no nested or
 * unbounded quantifier, so a scan does a bounded amount of work per start
 * position: linear in the input, whatever the input (a test runs them over
 * 1 MB of adversarial text).
 */
const DETECTORS: readonly (readonly [DynamicKind, RegExp])[] = [
  // 2025-06-01T12:30, 2025-06-01 12:30:00
  ["timestamp", /\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/],
  // 12:30:45 (a time of day to the second)
  ["timestamp", /\b\d{1,2}:\d{2}:\d{2}\b/],
  ["uuid", /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i],
  // "Request ID: …", "trace_id=…"
  ["request-id", /\b(?:request|req|trace|span|correlation|session)[ _-]?id[ \t]{0,3}[:=]/i],
  // req_01HX…, chatcmpl-9f…, msg_01…: provider and tracing ids
  ["request-id", /\b(?:req|msg|chatcmpl|run|trace|span|call)[_-][A-Za-z0-9]{8}/],
  // Epoch seconds or milliseconds, order numbers, nonces.
  ["digit-run", /\d{10}/],
];

export interface DynamicMatch {
  kind: DynamicKind;
  /** Character offset of the match in the scanned text. */
  index: number;
}

/** The earliest dynamic-looking content in `text`, if any. Never returns the matched text. */
export function findDynamicContent(text: string): DynamicMatch | undefined {
  let found: DynamicMatch | undefined;
  for (const [kind, pattern] of DETECTORS) {
    const match = pattern.exec(text);
    if (match && (!found || match.index < found.index)) found = { kind, index: match.index };
  }
  return found;
}

export interface DynamicPrefixFinding extends DynamicMatch {
  /** Where it was found. */
  where: "system" | "messages";
  /** Estimated tokens of prompt after it: what it keeps from being cached. */
  tokensAfter: number;
}

/** How far into the prompt dynamic content is looked for, beyond the system prompt: 1024 tokens. */
export const SCAN_TOKENS = 1024;

/**
 * Dynamic content early in a long prompt: in the system prompt, or in the
 * first {@link SCAN_TOKENS} tokens of the prompt, with at least
 * `minTokens` of prompt after it (what it keeps out of the provider's
 * cache). Tool definitions are not scanned.
 */
export function findDynamicPrefix(request: ChatRequest, minTokens: number): DynamicPrefixFinding | undefined {
  const system =
    typeof request.system === "string"
      ? request.system
      : (request.system ?? []).map((p) => p.text).join("\n");
  const scanChars = SCAN_TOKENS * CHARS_PER_TOKEN;
  const messages = messageText(request, Math.max(0, scanChars - system.length));
  const totalChars = system.length + messages.total;
  const found = findDynamicContent(system) ?? shift(findDynamicContent(messages.head), system.length);
  if (!found) return undefined;
  const tokensAfter = Math.floor((totalChars - found.index) / CHARS_PER_TOKEN);
  if (tokensAfter < minTokens) return undefined;
  return { ...found, where: found.index < system.length ? "system" : "messages", tokensAfter };
}

function shift(match: DynamicMatch | undefined, by: number): DynamicMatch | undefined {
  return match && { ...match, index: match.index + by };
}

/** The first `limit` characters of the messages' text, and the length of all of it. */
function messageText(request: ChatRequest, limit: number): { head: string; total: number } {
  let head = "";
  let total = 0;
  const take = (text: string) => {
    total += text.length;
    if (head.length < limit) head += text.slice(0, limit - head.length);
  };
  for (const message of request.messages) {
    if (typeof message.content === "string") {
      take(message.content);
      continue;
    }
    for (const part of message.content) {
      if (part.type === "text" || part.type === "reasoning") take(part.text);
      else if (part.type === "tool-call") take(part.arguments);
      else if (part.type === "tool-result") {
        if (typeof part.content === "string") take(part.content);
        else for (const p of part.content) if (p.type === "text") take(p.text);
      }
    }
  }
  return { head, total };
}
