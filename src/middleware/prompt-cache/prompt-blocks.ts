import { createHash } from "node:crypto";
import type { CacheControl, ChatRequest, Message, TextPart, ToolResultPart } from "../../core/request.js";

/**
 * The canonical request seen as Anthropic sees its prompt: blocks in cache
 * prefix order (tools, then system, then messages), each with an estimated
 * token count, the running prefix length, a hash of the prefix through it,
 * and the `cacheControl` markers already on it.
 */
export interface PromptBlock {
  /** Position in prefix order, from 0. */
  readonly index: number;
  readonly path: BlockPath;
  /** Where it is, for people: `tools[2]`, `system[0]`, `messages[3].content[1]`. */
  readonly label: string;
  /** Estimated tokens of this block alone. */
  readonly tokens: number;
  /** Estimated tokens of the prefix through this block. */
  readonly prefixTokens: number;
  /** Hash of the prefix through this block, markers left out. */
  readonly hash: string;
  /** Whether Anthropic accepts a `cache_control` here (not on thinking, tool calls, empty text). */
  readonly markable: boolean;
  /** A user text part (or string content): a "document" when it is long enough. */
  readonly userText: boolean;
  /** The markers on this block; `nested` is a marker on a part inside a tool result. */
  readonly markers: readonly BlockMarker[];
}

export interface BlockMarker {
  readonly control: CacheControl;
  /** Index in a tool result's content array; absent for the block's own marker. */
  readonly nested?: number;
}

export type BlockPath =
  | { readonly section: "tools"; readonly tool: number }
  | { readonly section: "system"; readonly part: number }
  | { readonly section: "messages"; readonly message: number; readonly part: number };

/**
 * Tokens are estimated as characters / 4 (JSON for tools, tool calls and
 * tool results), a cheap figure that runs slightly under Anthropic's count
 * for English prose, so a prefix judged long enough usually is. An image
 * counts as {@link IMAGE_TOKENS}, a low figure for the same reason.
 */
export const CHARS_PER_TOKEN = 4;
/** Anthropic bills about (width × height) / 750 tokens per image; 256 is a deliberately low guess. */
export const IMAGE_TOKENS = 256;

export const estimateTokens = (chars: number): number => Math.ceil(chars / CHARS_PER_TOKEN);

/** Splits a request into prompt blocks. `seed` scopes the hashes (tenant, provider, model). */
export function promptBlocks(request: ChatRequest, seed: string): PromptBlock[] {
  const blocks: PromptBlock[] = [];
  let prefixTokens = 0;
  let hash = createHash("sha256").update(seed).digest("hex");
  const add = (
    path: BlockPath,
    label: string,
    content: unknown,
    tokens: number,
    markable: boolean,
    markers: BlockMarker[],
    userText = false,
  ) => {
    prefixTokens += tokens;
    hash = createHash("sha256").update(hash).update(JSON.stringify(content)).digest("hex");
    blocks.push({
      index: blocks.length,
      path,
      label,
      tokens,
      prefixTokens,
      hash,
      markable,
      userText,
      markers,
    });
  };

  request.tools?.forEach((tool, i) => {
    const { cacheControl, ...rest } = tool;
    const json = JSON.stringify(rest);
    add(
      { section: "tools", tool: i },
      `tools[${i}]`,
      rest,
      estimateTokens(json.length),
      true,
      own(cacheControl),
    );
  });
  const system = typeof request.system === "string" ? [{ text: request.system }] : (request.system ?? []);
  system.forEach((part: { text: string; cacheControl?: CacheControl }, i) => {
    const content = { type: "text", text: part.text };
    add(
      { section: "system", part: i },
      `system[${i}]`,
      content,
      estimateTokens(part.text.length),
      part.text !== "",
      own(part.cacheControl),
    );
  });
  request.messages.forEach((message, m) => {
    const parts = typeof message.content === "string" ? [message.content] : message.content;
    parts.forEach((part, p) => {
      const path = { section: "messages", message: m, part: p } as const;
      // String content is labelled as the one text part it becomes when marked.
      const label = `messages[${m}].content[${p}]`;
      const block = describePart(message, part);
      add(
        path,
        label,
        [message.role, block.content],
        block.tokens,
        block.markable,
        block.markers,
        block.userText,
      );
    });
  });
  return blocks;
}

type AnyPart = Exclude<Message["content"], string>[number] | string;

function describePart(
  message: Message,
  part: AnyPart,
): { content: unknown; tokens: number; markable: boolean; markers: BlockMarker[]; userText: boolean } {
  if (typeof part === "string") {
    const userText = message.role === "user";
    // Hashed as the text part it becomes when marked, so marking never changes a prefix hash.
    const content = { type: "text", text: part };
    return { content, tokens: estimateTokens(part.length), markable: part !== "", markers: [], userText };
  }
  switch (part.type) {
    case "text": {
      const { cacheControl, ...content } = part;
      const markable = part.text !== "";
      return {
        content,
        tokens: estimateTokens(part.text.length),
        markable,
        markers: own(cacheControl),
        userText: message.role === "user",
      };
    }
    case "image": {
      const { cacheControl, ...content } = part;
      return { content, tokens: IMAGE_TOKENS, markable: true, markers: own(cacheControl), userText: false };
    }
    case "tool-result":
      return describeToolResult(part);
    case "tool-call":
      return {
        content: part,
        tokens: estimateTokens(part.name.length + part.arguments.length),
        markable: false,
        markers: [],
        userText: false,
      };
    case "reasoning":
      return {
        content: part,
        tokens: estimateTokens(part.text.length + (part.redacted?.length ?? 0)),
        markable: false,
        markers: [],
        userText: false,
      };
  }
}

function describeToolResult(part: ToolResultPart) {
  const { cacheControl, ...rest } = part;
  const markers = own(cacheControl);
  let chars = 0;
  let content: unknown = rest;
  if (typeof part.content === "string") {
    chars = part.content.length;
  } else {
    const inner = part.content.map((p, i) => {
      const { cacheControl: nested, ...bare } = p;
      if (nested) markers.push({ control: nested, nested: i });
      chars += p.type === "text" ? p.text.length : IMAGE_TOKENS * CHARS_PER_TOKEN;
      return bare;
    });
    content = { ...rest, content: inner };
  }
  return { content, tokens: estimateTokens(chars), markable: true, markers, userText: false };
}

function own(control: CacheControl | undefined): BlockMarker[] {
  return control ? [{ control }] : [];
}

/** One marker to set (`control`) or remove (`undefined`) on a block or a part inside a tool result. */
export interface MarkerEdit {
  readonly block: PromptBlock;
  readonly nested?: number;
  readonly control: CacheControl | undefined;
}

/**
 * A copy of the request with the edits applied. Only the objects along the
 * edited paths are copied; the caller's objects are never changed. String
 * content that gets a marker becomes one text part with the same text, which
 * Anthropic reads as the same tokens.
 */
export function applyMarkerEdits(request: ChatRequest, edits: readonly MarkerEdit[]): ChatRequest {
  if (edits.length === 0) return request;
  const out: ChatRequest = { ...request };
  for (const { block, nested, control } of edits) {
    const path = block.path;
    if (path.section === "tools") {
      out.tools = replaceAt(out.tools!, path.tool, (tool) => withControl(tool, control));
    } else if (path.section === "system") {
      const parts: TextPart[] =
        typeof out.system === "string" ? [{ type: "text", text: out.system }] : out.system!;
      out.system = replaceAt(parts, path.part, (part) => withControl(part, control));
    } else {
      out.messages = replaceAt(out.messages, path.message, (message) =>
        editMessage(message, path.part, nested, control),
      );
    }
  }
  return out;
}

function editMessage(
  message: Message,
  index: number,
  nested: number | undefined,
  control: CacheControl | undefined,
): Message {
  const parts =
    typeof message.content === "string"
      ? [{ type: "text" as const, text: message.content }]
      : message.content;
  const content = replaceAt(parts as AnyObjectPart[], index, (part) => {
    if (nested !== undefined && part.type === "tool-result" && typeof part.content !== "string") {
      return { ...part, content: replaceAt(part.content, nested, (inner) => withControl(inner, control)) };
    }
    return withControl(part as { cacheControl?: CacheControl }, control) as AnyObjectPart;
  });
  return { ...message, content } as Message;
}

type AnyObjectPart = Exclude<AnyPart, string>;

function replaceAt<T>(items: readonly T[], index: number, change: (item: T) => T): T[] {
  const copy = items.slice();
  copy[index] = change(items[index]!);
  return copy;
}

function withControl<T extends { cacheControl?: CacheControl }>(
  item: T,
  control: CacheControl | undefined,
): T {
  if (control) return { ...item, cacheControl: control };
  const { cacheControl: _removed, ...rest } = item;
  return rest as T;
}
