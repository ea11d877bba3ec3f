import { type FrugalError, ProviderError } from "../../core/errors.js";

/**
 * Statuses that say the request itself is wrong (malformed, unauthorised,
 * forbidden, unknown model, unprocessable): the same request fails the same
 * way, so no `retryOn` can make them retried.
 */
export const NEVER_RETRIED_STATUSES: ReadonlySet<number> = new Set([400, 401, 403, 404, 422]);

/** The settings the retry decision reads; validated by the factory. */
export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  maxRetryAfterMs: number;
  deadlineMs: number;
  retryOn: (error: FrugalError) => boolean;
}

/** Why a failed call is not retried. */
export type GiveUpReason = "not-retryable" | "attempts-exhausted" | "retry-after-beyond-cap" | "deadline";

export type RetryDecision = { retry: true; delayMs: number } | { retry: false; reason: GiveUpReason };

/**
 * The default `retryOn`: transient provider failures, as the provider
 * adapters classify them (429, 408, 409, 5xx, 529, connection resets,
 * timeouts, a stream cut short; a provider's `x-should-retry` wins).
 */
export function isTransient(error: FrugalError): boolean {
  return error instanceof ProviderError && error.retryable;
}

/**
 * Whether a failure may be retried at all, whatever `retryOn` says: only a
 * provider's failure, never a status that blames the request. A caller's
 * abort (`AbortedError`), a request the library rejected
 * (`InvalidRequestError`) and errors that are not the library's (a bug in a
 * middleware) are not `ProviderError`s, so they are never retried.
 */
export function mayRetry(error: unknown): error is ProviderError {
  if (!(error instanceof ProviderError)) return false;
  return error.status === undefined || !NEVER_RETRIED_STATUSES.has(error.status);
}

/**
 * Decides what follows failed call number `attempt` (1 for the first call):
 * another call after `delayMs`, or giving up. `elapsedMs` is the time spent
 * so far; `random` is in [0, 1).
 *
 * - A provider's `retry-after` is waited out exactly when it is within
 *   `maxRetryAfterMs`; beyond the cap the call is given up at once rather
 *   than sent early into a rate limit the provider announced.
 * - Otherwise the delay is full jitter: `random() * min(maxDelayMs,
 *   baseDelayMs * 2^(attempt - 1))`, floored to a whole millisecond.
 * - A delay that would end at or past the deadline gives up instead.
 */
export function decideRetry(
  error: unknown,
  attempt: number,
  elapsedMs: number,
  policy: RetryPolicy,
  random: () => number,
): RetryDecision {
  if (!mayRetry(error) || !policy.retryOn(error)) return { retry: false, reason: "not-retryable" };
  if (attempt >= policy.maxAttempts) return { retry: false, reason: "attempts-exhausted" };
  let delayMs: number;
  if (error.retryAfterMs !== undefined) {
    if (error.retryAfterMs > policy.maxRetryAfterMs)
      return { retry: false, reason: "retry-after-beyond-cap" };
    delayMs = Math.ceil(error.retryAfterMs);
  } else {
    delayMs = jitteredDelay(attempt, policy, random);
  }
  if (elapsedMs + delayMs >= policy.deadlineMs) return { retry: false, reason: "deadline" };
  return { retry: true, delayMs };
}

/** Full jitter (AWS architecture blog, "Exponential Backoff and Jitter"): uniform in [0, cap). */
export function jitteredDelay(
  attempt: number,
  policy: Pick<RetryPolicy, "baseDelayMs" | "maxDelayMs">,
  random: () => number,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const x = random();
  // Clamped into [0, 1), NaN read as 0: the delay stays a number under the cap.
  const r = x > 0 ? Math.min(x, 1 - Number.EPSILON) : 0;
  return Math.floor(r * ceiling);
}
