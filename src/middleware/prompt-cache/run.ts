import { LRUCache } from "lru-cache";
import { tenantScope } from "../../caching/scope.js";
import { type Completion, emptyUsage, type Usage } from "../../core/completion.js";
import type { RequestContext } from "../../core/context.js";
import type { ChatRequest } from "../../core/request.js";
import { planBreakpoints } from "./anthropic-breakpoints.js";
import { economicsOf, minimumPrefixTokens, OPENAI_MINIMUM_PREFIX_TOKENS } from "./cache-economics.js";
import { findDynamicPrefix } from "./dynamic-content.js";
import type { PromptCacheOptions, PromptCacheState, PromptCacheWarning } from "./index.js";
import { promptCacheKey, templateId } from "./openai-cache-key.js";
import { PrefixHistory } from "./prefix-history.js";

export type ResolvedPromptCacheOptions = Required<Omit<PromptCacheOptions, "templateOf">> &
  Pick<PromptCacheOptions, "templateOf">;

/** What `prepare` decided for one call: the request to send and the state to record. */
export interface Prepared {
  request: ChatRequest;
  state: PromptCacheState;
  provider: string;
  model: string;
}

interface Target {
  /** The host's name for the provider (the model-ref prefix). */
  provider: string;
  /** The adapter: `anthropic`, `openai`, or another. */
  kind: string;
  model: string;
}

/** The host forbade every cache for the call, and a provider's prompt cache is one. */
const NO_CACHE = "metadata.cache is false";

/** Wire fields that, set in `providerOptions.anthropic`, replace the prompt promptCache would mark. */
const PROMPT_FIELDS = ["system", "messages", "tools"];

/**
 * The state of one `promptCache` middleware: the prefix history and the
 * warnings already given. `prepare` rewrites a request; `settle` records
 * what the provider's cache did. Never throws into the call: a failure to
 * plan leaves the request as it was.
 */
export class PromptCacheRun {
  readonly #history: PrefixHistory;
  /** Warnings given, by code, tenant and template: each is given once. Bounded. */
  readonly #warned = new LRUCache<string, true>({ max: 10_000 });

  constructor(private readonly options: ResolvedPromptCacheOptions) {
    this.#history = new PrefixHistory(options.historySize);
  }

  prepare(ctx: RequestContext): Prepared | undefined {
    const target = resolveTarget(ctx);
    if (!target) return undefined;
    try {
      if (target.kind === "anthropic" && this.options.anthropic) return this.#anthropic(ctx, target);
      if (target.kind === "openai" && this.options.openai) return this.#openai(ctx, target);
    } catch (error) {
      ctx.services.log.error("promptCache: could not prepare the request; sending it unchanged", { error });
    }
    return undefined;
  }

  settle(ctx: RequestContext, prepared: Prepared, completion: Completion): void {
    try {
      const u = completion.usage;
      const written = u.cacheWrite5mTokens + u.cacheWrite1hTokens;
      prepared.state.outcome = {
        cacheReadTokens: u.cacheReadTokens,
        cacheWriteTokens: written,
        savedUsd: savedUsd(ctx, prepared.provider, completion.model || prepared.model, u),
      };
    } catch (error) {
      ctx.services.log.error("promptCache: could not record the cache outcome", { error });
    }
  }

  #anthropic(ctx: RequestContext, target: Target): Prepared {
    const request = ctx.request;
    const minTokens = minimumPrefixTokens(target.model, this.options.minTokens);
    const base = { provider: "anthropic" as const, breakpoints: [], ttl: null, trimmed: 0, minTokens };
    if (request.metadata?.cache === false) {
      return { request, state: { ...base, skipped: NO_CACHE }, ...target };
    }
    const overridden = PROMPT_FIELDS.filter((f) => request.providerOptions?.anthropic?.[f] !== undefined);
    if (overridden.length) {
      const skipped = `providerOptions.anthropic sets ${overridden.join(", ")}: the prompt is the caller's`;
      return { request, state: { ...base, skipped }, ...target };
    }
    const tenant = tenantScope(ctx, false);
    const now = ctx.clock.now();
    const plan = planBreakpoints({
      request,
      seed: `${tenant}\0${target.provider}:${target.model}`,
      minTokens,
      documentMinTokens: this.options.documentMinTokens,
      ttl: this.options.ttl,
      economics: economicsOf(ctx.services.prices, target.provider, target.model),
      reuse: (hash) => this.#history.observe(hash, now, ctx.id),
      priorHitRate: this.options.priorHitRate,
    });
    const added = plan.breakpoints.filter((b) => b.source === "added");
    const state: PromptCacheState = {
      ...base,
      breakpoints: plan.breakpoints,
      ttl: added.length ? (added.some((b) => b.ttl === "1h") ? "1h" : "5m") : null,
      trimmed: plan.trimmed,
    };
    const template = templateId(request, this.options.templateOf) ?? "-";
    if (plan.trimmed > 0) {
      this.#warn(ctx, target, template, {
        code: "too-many-breakpoints",
        message: `the request carried more than 4 cache_control markers; ${plan.trimmed} removed (Anthropic rejects more than 4)`,
      });
    }
    if (plan.callerTtlOutOfOrder) {
      this.#warn(ctx, target, template, {
        code: "ttl-out-of-order",
        message:
          "the request's own cache_control markers put a 5m breakpoint before a 1h one, which Anthropic rejects",
      });
    }
    this.#warnDynamic(ctx, target, template, minTokens);
    return { request: plan.request, state, ...target };
  }

  #openai(ctx: RequestContext, target: Target): Prepared {
    const request = ctx.request;
    const state: PromptCacheState = {
      provider: "openai",
      breakpoints: [],
      ttl: null,
      trimmed: 0,
      minTokens: OPENAI_MINIMUM_PREFIX_TOKENS,
    };
    if (request.metadata?.cache === false)
      return { request, state: { ...state, skipped: NO_CACHE }, ...target };
    const template = templateId(request, this.options.templateOf);
    this.#warnDynamic(ctx, target, template ?? "-", OPENAI_MINIMUM_PREFIX_TOKENS);
    const own = request.providerOptions?.openai?.prompt_cache_key;
    const key = template && promptCacheKey(this.options.salt, tenantScope(ctx, false), template);
    if (typeof own === "string") {
      state.promptCacheKey = { value: own, source: own === key ? "added" : "caller" };
      return { request, state, ...target };
    }
    if (own !== undefined) {
      state.skipped = "the caller set prompt_cache_key itself";
      return { request, state, ...target };
    }
    if (!key) {
      state.skipped = "no template: no task, templateOf, system prompt or tools to key the cache by";
      return { request, state, ...target };
    }
    state.promptCacheKey = { value: key, source: "added" };
    const providerOptions = {
      ...request.providerOptions,
      openai: { ...request.providerOptions?.openai, prompt_cache_key: key },
    };
    return { request: { ...request, providerOptions }, state, ...target };
  }

  #warnDynamic(ctx: RequestContext, target: Target, template: string, minTokens: number): void {
    if (!this.options.warnDynamicContent) return;
    const found = findDynamicPrefix(ctx.request, minTokens);
    if (!found) return;
    const what = found.kind === "digit-run" ? "a long run of digits" : `a ${found.kind.replace("-", " ")}`;
    this.#warn(ctx, target, template, {
      code: "dynamic-prefix",
      message:
        `${what} in the ${found.where === "system" ? "system prompt" : "first 1024 tokens"} ` +
        `(character ${found.index}) changes between requests and keeps about ${found.tokensAfter} tokens ` +
        "after it from being cached; move it to the end of the prompt",
      dynamic: { kind: found.kind, where: found.where, offset: found.index, tokensAfter: found.tokensAfter },
    });
  }

  #warn(
    ctx: RequestContext,
    target: Target,
    template: string,
    warning: Pick<PromptCacheWarning, "code" | "message" | "dynamic">,
  ): void {
    const key = `${warning.code}\0${tenantScope(ctx, false)}\0${target.provider}\0${template}`;
    if (this.#warned.has(key)) return;
    this.#warned.set(key, true);
    const payload: PromptCacheWarning = {
      requestId: ctx.id,
      provider: target.provider,
      model: target.model,
      ...warning,
    };
    ctx.services.events.emit("prompt-cache-warning", payload);
    ctx.services.events.emit("warning", {
      requestId: ctx.id,
      code: `prompt-cache-${warning.code}`,
      message: `promptCache: ${warning.message}`,
    });
  }
}

function resolveTarget(ctx: RequestContext): Target | undefined {
  try {
    const { provider, model } = ctx.services.resolveModel(ctx.request.model);
    const adapter = ctx.services.providers.get(provider);
    return adapter ? { provider, kind: adapter.name, model } : undefined;
  } catch {
    // `auto` with no router before this middleware, or an unknown model: the dispatcher reports it.
    return undefined;
  }
}

/** What the cache saved on this call: the input buckets priced as if nothing were cached, less as billed. */
function savedUsd(ctx: RequestContext, provider: string, model: string, u: Usage): number | null {
  const input = u.inputTokens + u.cacheReadTokens + u.cacheWrite5mTokens + u.cacheWrite1hTokens;
  const uncached = ctx.services.prices.cost(provider, model, { ...emptyUsage(), inputTokens: input });
  const billed = ctx.services.prices.cost(provider, model, {
    ...emptyUsage(),
    inputTokens: u.inputTokens,
    cacheReadTokens: u.cacheReadTokens,
    cacheWrite5mTokens: u.cacheWrite5mTokens,
    cacheWrite1hTokens: u.cacheWrite1hTokens,
  });
  if (!uncached.priced || !billed.priced) return null;
  return Math.round((uncached.usd - billed.usd) * 1e12) / 1e12;
}
