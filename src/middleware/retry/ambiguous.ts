import type { Attempt, Usage } from "../../core/completion.js";
import { emptyUsage } from "../../core/completion.js";
import type { RequestContext } from "../../core/context.js";

/** Attempt errors that leave it open whether the provider did (and billed) the work. */
const AMBIGUOUS = new Set(["ConnectionError", "TimeoutError", "ProviderError"]);

/**
 * Charges the calls that failed ambiguously (R4): the request reached the
 * provider, or may have, but no answer came back (a connection reset, even
 * after a complete answer was written; a timeout; a body cut short). The
 * provider may have billed such a call, and the dispatcher, having received
 * no usage, recorded none.
 *
 * Each such attempt from index `from` on gets an estimated usage, flagged
 * `estimated`, priced at the attempt's own model: the usage of the answer
 * that was served when it came from the same model (the same prompt, most
 * likely a similar answer), otherwise the request's input alone, from a
 * rough four-characters-a-token count. A connection refused before the
 * request was sent looks the same from here, so it is charged too: a
 * visible estimate is preferred to a bill that never shows.
 */
export function chargeAmbiguousAttempts(ctx: RequestContext, from: number): void {
  const answering = ctx.attempts.findLast((a) => a.status === "ok" && a.purpose !== "side-call");
  for (let i = from; i < ctx.attempts.length; i++) {
    const attempt = ctx.attempts[i]!;
    if (!isAmbiguous(attempt)) continue;
    const usage: Usage =
      answering?.usage && answering.provider === attempt.provider && answering.model === attempt.model
        ? { ...answering.usage, estimated: true }
        : { ...emptyUsage(), inputTokens: roughInputTokens(ctx), estimated: true };
    attempt.usage = usage;
    attempt.cost = ctx.services.prices.cost(attempt.provider, attempt.model, usage);
  }
}

function isAmbiguous(a: Attempt): boolean {
  return (
    a.status === "error" &&
    a.usage === undefined &&
    a.purpose !== "side-call" &&
    a.error !== undefined &&
    a.error.status === undefined &&
    AMBIGUOUS.has(a.error.name)
  );
}

/** The same rough count the dispatcher uses for a stream cut before any usage arrived. */
function roughInputTokens(ctx: RequestContext): number {
  const { system, messages, tools } = ctx.request;
  return Math.ceil(JSON.stringify([system, messages, tools]).length / 4);
}
