import { z } from "zod";
import type { RequestContext } from "../../core/context.js";
import type { Middleware } from "../../core/middleware.js";
import { parseOptions } from "../../core/options.js";
import type { Reply } from "../../core/reply.js";
import type { ChatRequest } from "../../core/request.js";
import type { Breakpoint, Ttl, TtlMode } from "./anthropic-breakpoints.js";
import type { DynamicKind } from "./dynamic-content.js";
import { PromptCacheRun, type ResolvedPromptCacheOptions } from "./run.js";

export type { Breakpoint, BreakpointKind, Ttl, TtlMode } from "./anthropic-breakpoints.js";
export type { DynamicKind } from "./dynamic-content.js";

declare module "../../core/context.js" {
  interface ContextState {
    /** What `promptCache` did to the request, and what the provider's cache did with it. */
    promptCache?: PromptCacheState;
  }
}

declare module "../../core/events.js" {
  interface EventMap {
    /** Something defeats or endangers provider prompt caching; sent once per tenant and template. */
    "prompt-cache-warning": PromptCacheWarning;
  }
}

/** `ctx.state.promptCache`: set for every request to an Anthropic or OpenAI model. */
export interface PromptCacheState {
  /** The adapter the request went to. */
  provider: "anthropic" | "openai";
  /** Anthropic: every breakpoint on the request as sent, in prefix order, the caller's included. */
  breakpoints: Breakpoint[];
  /** Anthropic: the longest TTL among the breakpoints promptCache added; `null` when it added none. */
  ttl: Ttl | null;
  /** Anthropic: caller markers removed because the request came with more than four. */
  trimmed: number;
  /** The minimum cacheable prefix of the model, in tokens. */
  minTokens: number;
  /** OpenAI: the `prompt_cache_key` sent, and whether the caller or promptCache chose it. */
  promptCacheKey?: { value: string; source: "caller" | "added" };
  /** Why the request was left as it was, when it was. */
  skipped?: string;
  /**
   * Set when the answer arrives: tokens the provider's cache served and
   * stored, and `savedUsd`, what the request cost less than it would have
   * with no prompt cache (negative when writes outweighed reads; `null` when
   * the model has no price).
   */
  outcome?: { cacheReadTokens: number; cacheWriteTokens: number; savedUsd: number | null };
}

/** The payload of the `prompt-cache-warning` event. Never carries prompt text. */
export interface PromptCacheWarning {
  requestId: string;
  code: "dynamic-prefix" | "too-many-breakpoints" | "ttl-out-of-order";
  message: string;
  /** The provider and model the request went to. */
  provider: string;
  model: string;
  /** For `dynamic-prefix`: what kind of content, where, and how much prompt after it cannot be cached. */
  dynamic?: { kind: DynamicKind; where: "system" | "messages"; offset: number; tokensAfter: number };
}

export interface PromptCacheOptions {
  /**
   * TTL of the Anthropic breakpoints promptCache adds. `"auto"` (default):
   * 1h for a prefix that tends to come back after more than five minutes but
   * within the hour, else 5m. `"5m"` / `"1h"`: always that one (a breakpoint
   * is still left out where a write would not pay). The caller's own markers
   * are never changed.
   */
  ttl?: TtlMode;
  /**
   * A user text part of at least this many estimated tokens is a "large
   * stable document" that gets a breakpoint of its own. Default 1024. `false`:
   * documents get none (tools, system and conversation still do).
   */
  documentMinTokens?: number | false;
  /**
   * Minimum cacheable prefix by model-name prefix (`{ "claude-sonnet-4-6":
   * 2048 }`), over the built-in table from Anthropic's documentation; the
   * longest matching prefix wins. Positive integers.
   */
  minTokens?: Record<string, number>;
  /**
   * The chance assumed that a prefix never seen before is sent again before
   * its cache entry expires: it decides the first breakpoints, before there
   * is any history. 0 ≤ value < 1; default 0.6 (a first write pays at 5m,
   * and at 1h when `ttl: "1h"`). 0: nothing is cached on a first sighting.
   */
  priorHitRate?: number;
  /**
   * Distinct prefixes whose recent sightings are remembered, per process
   * (least recently used forgotten first; 16 sightings each). Default
   * 10,000; 1 to 1,000,000.
   */
  historySize?: number;
  /** Place Anthropic breakpoints. Default true. */
  anthropic?: boolean;
  /** Set OpenAI's `prompt_cache_key`. Default true. */
  openai?: boolean;
  /**
   * The template a request was built from, so that requests from one
   * template share the provider's cache. Default: `metadata.task`, else a
   * hash of the system prompt and tools. Return `undefined` to fall back.
   */
  templateOf?: (request: ChatRequest) => string | undefined;
  /**
   * A secret mixed into every `prompt_cache_key`, so that keys cannot be
   * recomputed from tenant ids and template names. Keys are per tenant either
   * way. Default: a fixed library string; set your own.
   */
  salt?: string;
  /**
   * Warn (`prompt-cache-warning` and `warning` events, once per tenant and
   * template) when a timestamp, UUID, request id or long digit run sits in
   * the system prompt or the first 1024 tokens of a long prompt. Default true.
   */
  warnDynamicContent?: boolean;
}

const optionsSchema = z
  .object({
    ttl: z.enum(["auto", "5m", "1h"]).optional(),
    documentMinTokens: z.union([z.number().int().min(1), z.literal(false)]).optional(),
    minTokens: z.record(z.string().min(1), z.number().int().min(1)).optional(),
    priorHitRate: z.number().min(0).lt(1).optional(),
    historySize: z.number().int().min(1).max(1_000_000).optional(),
    anthropic: z.boolean().optional(),
    openai: z.boolean().optional(),
    templateOf: z.function().optional(),
    salt: z.string().min(1).optional(),
    warnDynamicContent: z.boolean().optional(),
  })
  .strict();

/**
 * Provider prompt caching, placed for you. For Anthropic models it adds
 * `cache_control` breakpoints (end of tools, end of system prompt, large
 * documents, the conversation so far) within the cap of four, keeping the
 * caller's own, only above the model's minimum cacheable length and only
 * where a write is expected to pay for itself. For OpenAI models it sets a
 * per-tenant `prompt_cache_key` per template. Either way it warns when
 * dynamic content early in a long prompt defeats caching. Other providers
 * pass untouched.
 *
 * List it after the router and cascade (it must see the resolved model) and
 * before batch and retry.
 *
 * @example
 * const llm = createClient({
 *   providers: { anthropic: anthropic(new Anthropic()), openai: openai(new OpenAI()) },
 *   middleware: [costTracker(), router(...), promptCache({ salt: process.env.PROMPT_CACHE_SALT })],
 * });
 * llm.on("prompt-cache-warning", (w) => log.warn(w.message));
 */
export function promptCache(options: PromptCacheOptions = {}): Middleware {
  parseOptions(optionsSchema, options, "promptCache");
  const resolved: ResolvedPromptCacheOptions = {
    ttl: options.ttl ?? "auto",
    documentMinTokens: options.documentMinTokens ?? 1024,
    minTokens: options.minTokens ?? {},
    priorHitRate: options.priorHitRate ?? 0.6,
    historySize: options.historySize ?? 10_000,
    anthropic: options.anthropic ?? true,
    openai: options.openai ?? true,
    templateOf: options.templateOf,
    salt: options.salt ?? "frugal-llm/prompt-cache/v1",
    warnDynamicContent: options.warnDynamicContent ?? true,
  };
  const run = new PromptCacheRun(resolved);
  return {
    name: "promptCache",
    async handle(ctx: RequestContext, next): Promise<Reply> {
      const prepared = run.prepare(ctx);
      if (!prepared) return next(ctx);
      ctx.state.promptCache = prepared.state;
      const request = prepared.request;
      const reply = await next(request === ctx.request ? ctx : { ...ctx, request });
      const completion = reply.completion.then((c) => {
        run.settle(ctx, prepared, c);
        return c;
      });
      completion.catch(() => {});
      return { completion, ...(reply.events && { events: reply.events }) };
    },
  };
}
