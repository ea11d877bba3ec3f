import type { ReasoningPart, TextPart, ToolCallPart } from "./request.js";

/**
 * Token usage in disjoint buckets, so that no token is counted twice or
 * missed: total input = `inputTokens + cacheReadTokens + cacheWrite5mTokens +
 * cacheWrite1hTokens`. Providers normalize their own reporting into this
 * (OpenAI's `prompt_tokens` includes cached tokens; Anthropic's
 * `input_tokens` excludes cache reads and writes).
 */
export interface Usage {
  /** Input tokens read neither from nor into the provider's prompt cache. */
  inputTokens: number;
  /** Input tokens served from the provider's prompt cache. */
  cacheReadTokens: number;
  /** Input tokens written to the prompt cache with a 5-minute TTL. */
  cacheWrite5mTokens: number;
  /** Input tokens written to the prompt cache with a 1-hour TTL. */
  cacheWrite1hTokens: number;
  /** All output tokens, reasoning included. */
  outputTokens: number;
  /** The part of `outputTokens` spent on reasoning (never added on top). */
  reasoningTokens: number;
  /** True when some figure is an estimate (a stream cut before usage arrived). */
  estimated?: boolean;
}

/** USD per bucket of a {@link Usage}. */
export interface CostBreakdown {
  input: number;
  cacheRead: number;
  cacheWrite: number;
  output: number;
}

/**
 * What a usage cost. An unknown price is `priced: false` with the reason,
 * never a silent $0.
 */
export type Cost =
  | { priced: true; usd: number; breakdown: CostBreakdown; source: string; estimated: boolean }
  | { priced: false; usd: null; reason: string; estimated: boolean };

export type FinishReason =
  | "stop"
  | "length"
  | "tool-calls"
  | "content-filter"
  | "refusal"
  | "pause"
  | "other";

export type OutputPart = TextPart | ToolCallPart | ReasoningPart;

export type AttemptPurpose = "primary" | "retry" | "fallback" | "escalation" | "side-call";

/** One provider call made for a request. Every call is recorded, billed or not. */
export interface Attempt {
  readonly purpose: AttemptPurpose;
  /** What a side call was for ("classifier", "summary"), set by the middleware that made it. */
  readonly label?: string;
  readonly provider: string;
  readonly model: string;
  readonly startedAt: number;
  endedAt?: number;
  status: "pending" | "ok" | "error";
  usage?: Usage;
  cost?: Cost;
  /** The provider's own request id (`x-request-id`), for support tickets. */
  providerRequestId?: string;
  error?: { name: string; message: string; status?: number; retryable?: boolean };
}

/**
 * The final answer to a request, whoever produced it: a provider, a cache, a
 * batch job. `meta` is always the current request's, even for a cache hit.
 */
export interface Completion {
  id: string;
  provider: string;
  model: string;
  content: OutputPart[];
  /** The text parts joined: what most callers want. */
  text: string;
  toolCalls: ToolCallPart[];
  /** The model declined to answer; its explanation. */
  refusal?: string;
  finishReason: FinishReason;
  usage: Usage;
  cost: Cost;
  meta: CompletionMeta;
  /** The provider's response as received, for whoever needs a field we do not map. */
  raw?: unknown;
}

export interface CompletionMeta {
  requestId: string;
  attempts: readonly Attempt[];
  /** The request's typed context state: route decision, cache status and so on. */
  state: import("./context.js").ContextState;
}

/** Canonical stream events, the same for every provider. */
export type StreamEvent =
  | { type: "start"; id: string; provider: string; model: string }
  | { type: "text-delta"; text: string }
  | { type: "reasoning-delta"; text: string; signature?: string; redacted?: string }
  | { type: "refusal-delta"; text: string }
  | { type: "tool-call-delta"; index: number; id?: string; name?: string; argumentsDelta: string }
  /** Usage known before the end (Anthropic reports input and cache tokens as the stream starts). */
  | { type: "usage"; usage: Usage }
  /** The end of the answer, with its final usage. */
  | { type: "finish"; finishReason: FinishReason; usage: Usage };

export function emptyUsage(): Usage {
  return {
    inputTokens: 0,
    cacheReadTokens: 0,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: 0,
    reasoningTokens: 0,
  };
}

/** Adds `u` into `into`, bucket by bucket; an estimate anywhere makes the sum an estimate. */
export function addUsage(into: Usage, u: Usage): void {
  into.inputTokens += u.inputTokens;
  into.cacheReadTokens += u.cacheReadTokens;
  into.cacheWrite5mTokens += u.cacheWrite5mTokens;
  into.cacheWrite1hTokens += u.cacheWrite1hTokens;
  into.outputTokens += u.outputTokens;
  into.reasoningTokens += u.reasoningTokens;
  if (u.estimated) into.estimated = true;
}

/** All input tokens, cached or not. */
export function totalInputTokens(u: Usage): number {
  return u.inputTokens + u.cacheReadTokens + u.cacheWrite5mTokens + u.cacheWrite1hTokens;
}

/** Characters of output: text, reasoning, tool names and arguments, refusal. */
export function outputChars(content: readonly OutputPart[], refusal?: string): number {
  let chars = refusal?.length ?? 0;
  for (const p of content)
    chars += p.type === "tool-call" ? p.name.length + p.arguments.length : p.text.length;
  return chars;
}

export function textOf(content: readonly OutputPart[]): string {
  let text = "";
  for (const part of content) if (part.type === "text") text += part.text;
  return text;
}

export function toolCallsOf(content: readonly OutputPart[]): ToolCallPart[] {
  return content.filter((p): p is ToolCallPart => p.type === "tool-call");
}
