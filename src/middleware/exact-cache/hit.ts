import type { Completion, Cost } from "../../core/completion.js";
import type { RequestContext } from "../../core/context.js";
import type { CacheOutcome } from "../../core/cost-record.js";
import { completedReply, type Reply } from "../../core/reply.js";

/** An answer as a cache keeps it: no meta (a hit gets the current request's), no raw provider body. */
export type Answer = Omit<Completion, "meta" | "raw">;
export type Saved = NonNullable<CacheOutcome["saved"]>;

/**
 * Serves an answer that made no provider call for this request: a stored
 * entry, or the answer of an identical call in flight. The request records
 * the hit and what the answer cost when it was made (`saved`); the
 * completion it gets costs $0 and keeps the answer's own usage, from which
 * the cost tracker prices the counterfactual. `meta` is this request's.
 * Replayed as a stream when the caller streamed.
 */
export function hitReply(
  ctx: RequestContext,
  answer: Answer,
  kind: CacheOutcome["kind"],
  saved: Saved,
): Reply {
  ctx.state.cache = { status: "hit", kind, saved };
  const completion: Completion = {
    ...answer,
    cost: free(kind),
    meta: { requestId: ctx.id, attempts: ctx.attempts, state: ctx.state },
  };
  return completedReply(completion, ctx.request.stream === true);
}

/** What an answer cost when it was made, from the answer itself. */
export function savedOf(answer: Answer): Saved {
  return { provider: answer.provider, model: answer.model, usage: answer.usage, cost: answer.cost };
}

function free(kind: CacheOutcome["kind"]): Cost {
  return {
    priced: true,
    usd: 0,
    breakdown: { input: 0, cacheRead: 0, cacheWrite: 0, output: 0 },
    source: kind === "dedupe" ? "dedupe: served from an identical call in flight" : `${kind} cache hit`,
    estimated: false,
  };
}
