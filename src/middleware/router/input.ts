import type { RequestContext } from "../../core/context.js";
import type { ChatRequest, Message } from "../../core/request.js";
import type { CheckedTier, RequestTokens } from "./constraints.js";
import { looksLikeCode, looksLikeMath, looksMultiStep } from "./detectors.js";
import type { PromptTraits, RoutingInput, Tier } from "./policy.js";

/**
 * Builds what policies see, for the tier whose tokenizer judges token
 * conditions (`measured`); every trait and the token estimate are computed
 * on first read only. Built for every routed request: its only closures are
 * the two token functions and the trait getters, written as methods and
 * getters (a build that keeps function names, as tsx does, renames every
 * arrow function bound to a name with a defineProperty call, each time one
 * is created).
 */
export function routingInput(
  ctx: RequestContext,
  route: string,
  tiers: readonly Tier[],
  tokens: RequestTokens,
  measured: CheckedTier,
): RoutingInput {
  const request = ctx.request;
  const text = lastUserText(request.messages);
  let estimate: Promise<number> | undefined;
  let bound: number | undefined;
  return {
    ctx,
    request,
    route,
    tiers,
    text,
    traits: lazyTraits(request, text),
    inputTokens() {
      estimate ??= tokens.estimate(measured);
      return estimate;
    },
    inputTokensAtMost() {
      bound ??= tokens.bound(measured);
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
  let code: boolean | undefined;
  let math: boolean | undefined;
  let multiStep: boolean | undefined;
  let tools: boolean | undefined;
  let images: boolean | undefined;
  return {
    get code() {
      code ??= looksLikeCode(text);
      return code;
    },
    get math() {
      math ??= looksLikeMath(text);
      return math;
    },
    get multiStep() {
      multiStep ??= looksMultiStep(text);
      return multiStep;
    },
    get tools() {
      tools ??= usesTools(request);
      return tools;
    },
    get images() {
      images ??= hasImages(request);
      return images;
    },
  };
}
