import type { RequestContext } from "../../core/context.js";
import type { ChatRequest, Message } from "../../core/request.js";
import { looksLikeCode, looksLikeMath, looksMultiStep } from "./detectors.js";
import type { PromptTraits, RoutingInput, Tier } from "./policy.js";

/** Builds what policies see; every trait and the token estimate are computed on first read only. */
export function routingInput(
  ctx: RequestContext,
  route: string,
  tiers: readonly Tier[],
  inputTokens: () => Promise<number>,
  inputTokensAtMost: () => number,
): RoutingInput {
  const request = ctx.request;
  const text = lastUserText(request.messages);
  let tokens: Promise<number> | undefined;
  let bound: number | undefined;
  return {
    ctx,
    request,
    route,
    tiers,
    text,
    traits: lazyTraits(request, text),
    inputTokens: () => {
      tokens ??= inputTokens();
      return tokens;
    },
    inputTokensAtMost: () => {
      bound ??= inputTokensAtMost();
      return bound;
    },
  };
}

/** The text parts of the last user message, joined by newlines ("" when it has none). */
export function lastUserText(messages: readonly Message[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role !== "user") continue;
    if (typeof m.content === "string") return m.content;
    let text = "";
    for (const part of m.content) if (part.type === "text") text += text ? `\n${part.text}` : part.text;
    return text;
  }
  return "";
}

/** True when the request defines tools or its history holds tool calls or results. */
export function usesTools(request: ChatRequest): boolean {
  if (request.tools?.length) return true;
  return request.messages.some(
    (m) =>
      m.role === "tool" ||
      (m.role === "assistant" &&
        typeof m.content !== "string" &&
        m.content.some((p) => p.type === "tool-call")),
  );
}

/** True when any message (or tool result) carries an image. */
export function hasImages(request: ChatRequest): boolean {
  for (const m of request.messages) {
    if (m.role === "user" && typeof m.content !== "string" && m.content.some((p) => p.type === "image"))
      return true;
    if (m.role === "tool") {
      for (const r of m.content)
        if (typeof r.content !== "string" && r.content.some((p) => p.type === "image")) return true;
    }
  }
  return false;
}

/** True when the request asks for JSON output. */
export function wantsJson(request: ChatRequest): boolean {
  const type = request.responseFormat?.type;
  return type === "json" || type === "json-schema";
}

function lazyTraits(request: ChatRequest, text: string): PromptTraits {
  const memo: Partial<Record<keyof PromptTraits, boolean>> = {};
  const once = (key: keyof PromptTraits, compute: () => boolean) => {
    const known = memo[key];
    if (known !== undefined) return known;
    const value = compute();
    memo[key] = value;
    return value;
  };
  return {
    get code() {
      return once("code", () => looksLikeCode(text));
    },
    get math() {
      return once("math", () => looksLikeMath(text));
    },
    get multiStep() {
      return once("multiStep", () => looksMultiStep(text));
    },
    get tools() {
      return once("tools", () => usesTools(request));
    },
    get images() {
      return once("images", () => hasImages(request));
    },
  };
}
