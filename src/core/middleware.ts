import type { RequestContext } from "./context.js";
import type { Reply } from "./reply.js";

/** The rest of the pipeline below a middleware. */
export type Next = (ctx: RequestContext) => Promise<Reply>;

/**
 * A cost middleware. One `handle` serves streaming and non-streaming calls:
 * `reply.completion` always settles with the final completion, and
 * `reply.events` is there when the request streams.
 *
 * A middleware may call `next` zero times (a cache hit, a refusal), once, or
 * several times (retry, cascade, fallback); each call is an independent
 * attempt.
 */
export interface Middleware {
  readonly name: string;
  handle(ctx: RequestContext, next: Next): Promise<Reply>;
  /**
   * True when this middleware retries failed calls itself: the SDKs' own
   * per-request retries are then turned off, so one failure is never retried
   * twice over.
   */
  readonly ownsRetries?: boolean;
}

/**
 * Composes middleware around a terminal handler. The first middleware in the
 * list is the outermost: it sees the request first and the reply last.
 * Composed once per client, so a call costs one closure hop per middleware.
 */
export function compose(middleware: readonly Middleware[], terminal: Next): Next {
  return middleware.reduceRight<Next>((next, mw) => (ctx) => mw.handle(ctx, next), terminal);
}
