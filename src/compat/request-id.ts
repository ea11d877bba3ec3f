import type { Completion } from "../core/completion.js";

/**
 * As the SDKs do, adds the provider's request id as a non-enumerable
 * `_request_id`: from the attempt that produced the answer, or `null` when no
 * provider call did (a cache hit).
 */
export function withRequestId<T extends object>(
  value: T,
  completion: Completion,
): T & { _request_id: string | null } {
  // Not a side call's (a judge or a classifier may answer after the call that produced the answer).
  const answered = completion.meta.attempts.findLast((a) => a.status === "ok" && a.purpose !== "side-call");
  const requestId = answered?.providerRequestId ?? null;
  return Object.defineProperty(value, "_request_id", { value: requestId, enumerable: false }) as T & {
    _request_id: string | null;
  };
}
