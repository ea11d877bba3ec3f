import { describe, expect, it } from "vitest";
import {
  AbortedError,
  ConnectionError,
  FrugalError,
  InvalidRequestError,
  ProviderError,
  RateLimitError,
} from "../../core/errors.js";
import { decideRetry, isTransient, jitteredDelay, type RetryPolicy } from "./policy.js";

const policy: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 100,
  maxDelayMs: 1_000,
  maxRetryAfterMs: 10_000,
  deadlineMs: Number.POSITIVE_INFINITY,
  retryOn: isTransient,
};
const status = (s: number, extra: { retryAfterMs?: number } = {}) =>
  new ProviderError(`answered ${s}`, {
    provider: "openai",
    model: "m",
    status: s,
    retryable: s === 408 || s === 409 || s === 429 || s >= 500,
    ...extra,
  });

describe("retry policy", () => {
  it("jitter stays within [0, min(maxDelay, base * 2^(n-1))) for any draw", () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const ceiling = Math.min(1_000, 100 * 2 ** (attempt - 1));
      for (const r of [0, 1e-9, 0.25, 0.5, 0.999999]) {
        const d = jitteredDelay(attempt, policy, () => r);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(ceiling);
        expect(Number.isInteger(d)).toBe(true);
      }
    }
  });

  it("a random source out of range is clamped into [0, 1), never a negative, oversized or NaN wait", () => {
    expect(jitteredDelay(1, policy, () => -3)).toBe(0);
    expect(jitteredDelay(1, policy, () => 7)).toBe(99); // under the cap, as [0, cap) says
    expect(jitteredDelay(1, policy, () => 1)).toBe(99);
    expect(jitteredDelay(1, policy, () => Number.NaN)).toBe(0);
  });

  it("an attempt number large enough to overflow 2^n is still capped", () => {
    expect(jitteredDelay(5_000, policy, () => 0.5)).toBe(500);
  });

  it("a retry-after within the cap is waited exactly, beyond it the call is given up", () => {
    expect(decideRetry(status(429, { retryAfterMs: 2_500 }), 1, 0, policy, () => 0)).toEqual({
      retry: true,
      delayMs: 2_500,
    });
    expect(decideRetry(status(429, { retryAfterMs: 10_001 }), 1, 0, policy, () => 0)).toEqual({
      retry: false,
      reason: "retry-after-beyond-cap",
    });
  });

  it("gives up when the attempts are used up or the wait would reach the deadline", () => {
    expect(decideRetry(status(500), 5, 0, policy, () => 0)).toEqual({
      retry: false,
      reason: "attempts-exhausted",
    });
    const withDeadline = { ...policy, deadlineMs: 1_000 };
    expect(decideRetry(status(429, { retryAfterMs: 400 }), 1, 599, withDeadline, () => 0)).toEqual({
      retry: true,
      delayMs: 400,
    });
    expect(decideRetry(status(429, { retryAfterMs: 400 }), 1, 600, withDeadline, () => 0)).toEqual({
      retry: false,
      reason: "deadline",
    });
  });

  it("never retries what blames the request, an abort, or an error that is not a provider's", () => {
    const always = { ...policy, retryOn: () => true };
    for (const s of [400, 401, 403, 404, 422]) {
      expect(decideRetry(status(s), 1, 0, always, () => 0).retry).toBe(false);
    }
    for (const e of [
      new AbortedError("aborted"),
      new InvalidRequestError("bad"),
      new FrugalError("odd"),
      new TypeError("bug"),
    ]) {
      expect(decideRetry(e, 1, 0, always, () => 0).retry).toBe(false);
    }
  });

  it("retries transient failures by default, and honours x-should-retry through `retryable`", () => {
    for (const s of [408, 409, 429, 500, 502, 503, 504, 529]) {
      expect(decideRetry(status(s), 1, 0, policy, () => 0).retry).toBe(true);
    }
    const reset = new ConnectionError("reset", { provider: "openai", model: "m", retryable: true });
    expect(decideRetry(reset, 1, 0, policy, () => 0).retry).toBe(true);
    const toldNot = new RateLimitError("no", {
      provider: "openai",
      model: "m",
      status: 429,
      retryable: false,
    });
    expect(decideRetry(toldNot, 1, 0, policy, () => 0).retry).toBe(false);
  });
});
