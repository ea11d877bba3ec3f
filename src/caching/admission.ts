import type { Completion } from "../core/completion.js";
import type { RequestContext } from "../core/context.js";
import type { ChatRequest } from "../core/request.js";

/**
 * What a response cache may store and serve. Shared by the exact and the
 * semantic cache so that both refuse the same things (FAILURES.md C5, S2).
 */
export interface AdmissionOptions {
  /**
   * Requests with a temperature above this are not cached (their answers are
   * meant to vary). Default 1; `Infinity` caches every temperature. An
   * omitted temperature is the provider's default (1 for both providers),
   * not 0.
   */
  maxTemperature?: number;
  /**
   * Tool names whose results carry side effects or personal data: a
   * conversation containing one of their results is never cached.
   */
  sideEffectTools?: readonly string[];
  /**
   * The cache is shared across tenants (the host said so). A shared cache
   * also refuses tool-derived answers (any tool result in the conversation)
   * and personalized ones (a request naming a `metadata.user`).
   */
  shared?: boolean;
}

/** Why a request bypasses the cache, or undefined when it may use it. */
export function bypassReason(request: ChatRequest, options: AdmissionOptions): string | undefined {
  if (request.metadata?.cache === false) return "metadata.cache is false";
  const temperature = request.temperature ?? 1;
  if (temperature > (options.maxTemperature ?? 1))
    return `temperature ${temperature} is above the cache's limit`;
  if (options.shared) {
    if (request.metadata?.user !== undefined) return "a shared cache does not take personalized requests";
    if (request.messages.some((m) => m.role === "tool"))
      return "a shared cache does not take tool-derived answers";
  }
  const tools = options.sideEffectTools;
  if (tools?.length) {
    const callNames = new Map<string, string>();
    for (const m of request.messages) {
      if (m.role === "assistant" && typeof m.content !== "string") {
        for (const p of m.content) if (p.type === "tool-call") callNames.set(p.id, p.name);
      }
      if (m.role === "tool" && m.content.some((r) => tools.includes(callNames.get(r.toolCallId) ?? ""))) {
        return "the conversation holds the result of a side-effect tool";
      }
    }
  }
  return undefined;
}

/**
 * Whether an answer may be stored: only complete, unrefused, unfiltered
 * answers with content, and never an estimate (a stream cut short), nor an
 * answer a `fallback` listed below the cache got from another model (an
 * outage's stand-in, which would go on answering for the requested model
 * once it is back). A fallback listed above the cache asks it for the
 * fallback model itself (`ctx.purpose` is then `fallback`): that answer is
 * the requested model's, and stored.
 */
export function isStorable(
  completion: Completion,
  ctx: Pick<RequestContext, "attempts" | "purpose">,
): boolean {
  const answered = ctx.attempts.findLast((a) => a.status === "ok" && a.purpose !== "side-call");
  if (answered?.purpose === "fallback" && ctx.purpose !== "fallback") return false;
  if (completion.finishReason !== "stop" && completion.finishReason !== "tool-calls") return false;
  if (completion.refusal !== undefined) return false;
  if (completion.usage.estimated) return false;
  return completion.text.trim() !== "" || completion.toolCalls.length > 0;
}
