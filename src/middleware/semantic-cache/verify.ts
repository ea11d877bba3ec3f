import type { RequestContext } from "../../core/context.js";
import type { ChatRequest } from "../../core/request.js";

export interface VerifyOptions {
  /** The model that judges (a cheap one: `openai:gpt-4o-mini`, `anthropic:claude-haiku-4-5`), as a ref or alias. */
  model: string;
  /** Verify only requests whose `metadata.task` is listed. Default: every request. */
  tasks?: readonly string[];
}

/**
 * Asks a cheap model whether the cached answer to `cached` answers
 * `prompt`, through `ctx.services.dispatch` with purpose `side-call` and
 * label `verify`: the call is an attempt of this request, priced and in its
 * cost record. Anything but a clear "yes" (a "no", an error, an empty or
 * cut answer) refuses the hit.
 */
export async function verifyHit(
  ctx: RequestContext,
  options: VerifyOptions,
  prompt: string,
  cached: string,
): Promise<boolean> {
  const request: ChatRequest = {
    model: options.model,
    system:
      "You check a cache of answers. Two user questions follow. Reply with one word: yes if an answer " +
      "written for the cached question fully and correctly answers the new question, no otherwise " +
      "(different numbers, names, negation, scope or intent mean no).",
    messages: [{ role: "user", content: `Cached question:\n${cached}\n\nNew question:\n${prompt}` }],
    temperature: 0,
    maxOutputTokens: 5,
    stream: false,
    ...(ctx.request.metadata && { metadata: ctx.request.metadata }),
  };
  const reply = await ctx.services.dispatch({ ...ctx, request, purpose: "side-call", label: "verify" });
  const completion = await reply.completion;
  return completion.finishReason !== "content-filter" && /^\W*yes\b/i.test(completion.text);
}
