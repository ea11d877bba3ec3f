import type { RequestContext } from "../core/context.js";

export type CacheErrorHandler<I extends { operation: string }> = (
  error: unknown,
  info: I,
  ctx: RequestContext,
) => void;

/**
 * What a cache does with a failure it survives (a store or index outage is a
 * miss, never a failed call): the host's `onError`, or else a warning through
 * the client's logger, at most one per operation every 10 s with a count of
 * what was suppressed.
 */
export function cacheErrorReporter<I extends { operation: string }>(
  onError: ((error: unknown, info: I) => void) | undefined,
  describe: (info: I) => string,
): CacheErrorHandler<I> {
  if (onError) {
    return (error, info) => {
      try {
        onError(error, info);
      } catch {
        // A failing handler must not fail the LLM call either.
      }
    };
  }
  const lastWarned = new Map<string, number>();
  const suppressed = new Map<string, number>();
  return (error, info, ctx) => {
    const now = performance.now();
    const last = lastWarned.get(info.operation);
    if (last !== undefined && now - last < 10_000) {
      suppressed.set(info.operation, (suppressed.get(info.operation) ?? 0) + 1);
      return;
    }
    lastWarned.set(info.operation, now);
    ctx.services.log.warn(describe(info), {
      requestId: ctx.id,
      error,
      suppressedSinceLastWarning: suppressed.get(info.operation) ?? 0,
    });
    suppressed.set(info.operation, 0);
  };
}
