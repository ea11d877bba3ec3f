import { createHash } from "node:crypto";
import type { RequestContext } from "../../core/context.js";
import type { ChatRequest, Message } from "../../core/request.js";
import { normalizeText } from "../../embeddings/text.js";
import { canonicalJson, resolvedModel } from "../exact-cache/request-key.js";
import { MAX_CHARS } from "./facts.js";

/**
 * What the semantic cache compares, split in two: the question (the last
 * user message, compared by meaning) and everything else (compared exactly,
 * as part of the namespace).
 */
export interface LookupParts {
  /** The last user message as written: what the guards read. */
  prompt: string;
  /** The same, normalized (NFKC, lower case, single spaces): what is embedded. */
  embedded: string;
  /** The resolved model without its snapshot suffix (`anthropic:claude-haiku-4-5`). */
  family: string;
  /**
   * The model family, the system prompt, the earlier turns and every
   * answer-changing parameter, hashed: two requests share a namespace only
   * when all of these are equal.
   */
  context: string;
}

/**
 * The default `eligible`: a single-turn request, one user message of text
 * and nothing else. A long conversation is not "the same question" because
 * its last message is.
 */
export function singleTurn(request: ChatRequest): boolean {
  return request.messages.length === 1 && textOf(request.messages[0]!) !== undefined;
}

/**
 * Splits a request for lookup, or undefined when its last message is not a
 * user message of text (images and tool results are not compared by
 * meaning), or is empty, or is longer than the guards read.
 */
export function lookupParts(ctx: RequestContext): LookupParts | undefined {
  const { request } = ctx;
  const last = request.messages.at(-1);
  const prompt = last && textOf(last);
  // Past MAX_CHARS the guards would read only a part: such a prompt is not looked up at all.
  if (prompt === undefined || prompt.trim() === "" || prompt.length > MAX_CHARS) return undefined;
  const { metadata: _metadata, stream: _stream, model: _model, messages, ...answerChanging } = request;
  const family = modelFamily(resolvedModel(ctx));
  const context = canonicalJson({ ...answerChanging, family, earlier: messages.slice(0, -1) });
  return {
    prompt,
    embedded: normalizeText(prompt),
    family,
    context: createHash("sha256").update(context).digest("hex").slice(0, 32),
  };
}

/**
 * A model ref without its snapshot suffix, so that a dated snapshot and its
 * alias share answers: `anthropic:claude-haiku-4-5-20251001` →
 * `anthropic:claude-haiku-4-5`, `openai:gpt-4o-2024-08-06` → `openai:gpt-4o`,
 * `openai:gpt-4-0613` → `openai:gpt-4`.
 */
export function modelFamily(ref: string): string {
  return ref.replace(/(?:-\d{4}-\d{2}-\d{2}|-\d{8}|@\d{8}|-\d{4}|-latest)$/, "");
}

/** The text of a user message made only of text, else undefined. */
function textOf(message: Message): string | undefined {
  if (message.role !== "user") return undefined;
  if (typeof message.content === "string") return message.content;
  let text = "";
  for (const part of message.content) {
    if (part.type !== "text") return undefined;
    text += (text ? "\n" : "") + part.text;
  }
  return text;
}
