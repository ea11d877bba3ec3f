import type { RequestContext } from "../../core/context.js";

/** A failure the semantic cache survived, as `onError` receives it. */
export interface SemanticCacheErrorInfo {
  /** What the cache was doing: embedding the prompt, querying or writing the index, reading or writing the store, verifying a hit. */
  operation: "embed" | "query" | "get" | "set" | "upsert" | "verify";
  /** The namespace (tenant scope, embedder, policy version, context hash; no prompt text). */
  namespace: string;
}

export type SemanticCacheErrorHandler = (
  error: unknown,
  info: SemanticCacheErrorInfo,
  ctx: RequestContext,
) => void;

/** The host's `onError`, or a warning through the client's logger, at most one per operation every 10 s. */
export function errorReporter(
  onError: ((error: unknown, info: SemanticCacheErrorInfo) => void) | undefined,
): SemanticCacheErrorHandler {
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
    ctx.services.log.warn(`semanticCache: ${info.operation} failed; the call goes on without the cache`, {
      requestId: ctx.id,
      error,
      suppressedSinceLastWarning: suppressed.get(info.operation) ?? 0,
    });
    suppressed.set(info.operation, 0);
  };
}
