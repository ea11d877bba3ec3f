import { cacheErrorReporter } from "../../caching/error-reporter.js";
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

/** The host's `onError`, or a throttled warning through the client's logger. */
export function errorReporter(
  onError: ((error: unknown, info: SemanticCacheErrorInfo) => void) | undefined,
): SemanticCacheErrorHandler {
  return cacheErrorReporter(
    onError,
    (info) => `semanticCache: ${info.operation} failed; the call goes on without the cache`,
  );
}
