import { z } from "zod";
import type { Completion } from "../../core/completion.js";
import type { FrugalError } from "../../core/errors.js";
import type { Middleware } from "../../core/middleware.js";
import { parseOptions } from "../../core/options.js";
import type { Reply } from "../../core/reply.js";
import { chargeAmbiguousAttempts } from "./ambiguous.js";
import { isTransient } from "./policy.js";
import { resumableStream } from "./resumable-stream.js";
import { abortableSleep, RetryRun, type RetrySettings } from "./run.js";

declare module "../../core/events.js" {
  interface EventMap {
    /** `retry` is about to call the provider again, after `delayMs`. */
    retry: {
      requestId: string;
      /** The model ref of the request, as `retry` received it. */
      model: string;
      /** The number of the call about to be made: 2 for the first retry. */
      attempt: number;
      /** How long it waits first, in milliseconds. */
      delayMs: number;
      /** Why: the failure of the previous call. */
      error: FrugalError;
    };
  }
}

export interface RetryOptions {
  /**
   * Provider calls in all, the first one included: `3` means one call and up
   * to two retries. An integer of at least 1; `1` never retries (and still
   * turns the SDKs' own retries off). Default 3.
   */
  maxAttempts?: number;
  /**
   * The backoff before retry `n` (1 for the first) is drawn uniformly from
   * `[0, min(maxDelayMs, baseDelayMs * 2^(n-1)))` ("full jitter"), in
   * milliseconds. Non-negative; `0` retries at once. Default 500.
   */
  baseDelayMs?: number;
  /** The ceiling of one backoff, in milliseconds. Non-negative. Default 8,000. */
  maxDelayMs?: number;
  /**
   * The longest `retry-after` (or `retry-after-ms`) a provider may ask for,
   * in milliseconds. A `retry-after` within it is waited out exactly, in
   * place of the backoff; one beyond it gives up at once, with the
   * provider's error (its `retryAfterMs` tells the caller when to come
   * back), rather than call again early into a limit the provider
   * announced. Non-negative or `Infinity`; `0` honours only `retry-after: 0`.
   * Default 60,000.
   */
  maxRetryAfterMs?: number;
  /**
   * A total time budget for the request's calls and waits, in milliseconds,
   * from when the request reaches `retry`: no wait is started that would
   * end at or after it, so no call starts after it. A call already in
   * flight is not cut (the SDK's `timeout` bounds a call; the caller's
   * `AbortSignal` bounds everything). Positive or `Infinity`. Default
   * `Infinity` (no deadline).
   */
  deadlineMs?: number;
  /**
   * Cuts a stream when the provider sends nothing for this long while the
   * reader waits for the next event, in milliseconds: the call is aborted
   * and fails with a `StreamInterruptedError` holding the partial answer,
   * charged. Before any output reached the caller, that failure is retried
   * like any other. Time the reader spends elsewhere does not count.
   * Positive or `Infinity`. Default `Infinity` (off): reasoning models can
   * think for minutes before their first event, so pick a value that fits
   * your models (60,000 suits most chat models).
   */
  idleTimeoutMs?: number;
  /**
   * Which failures to retry. Default: `ProviderError`s with `retryable`
   * set (429, 408, 409, 5xx, 529, connection resets, timeouts, streams cut
   * before any output; a provider's `x-should-retry` header wins). Whatever
   * it returns, a status of 400, 401, 403, 404 or 422, an `AbortedError`,
   * an `InvalidRequestError` and any error that is not a `ProviderError`
   * are never retried.
   */
  retryOn?: (error: FrugalError) => boolean;
  /**
   * Charge an estimate for calls that failed with no answer (a connection
   * reset, a timeout, a body cut short), which the provider may still have
   * billed: the served answer's usage when it came from the same model,
   * otherwise the request's input, flagged `estimated`. Default `true`.
   */
  chargeAmbiguous?: boolean;
  /** Waits between calls; rejects when `signal` fires. Injectable for tests. Default: a timer. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** A number in [0, 1) for the jitter. Injectable for tests. Default `Math.random`. */
  random?: () => number;
}

const nonNegative = z.union([z.number().nonnegative(), z.literal(Number.POSITIVE_INFINITY)]);
const positive = z.union([z.number().positive(), z.literal(Number.POSITIVE_INFINITY)]);

const optionsSchema = z
  .object({
    maxAttempts: z.number().int().min(1).optional(),
    baseDelayMs: z.number().nonnegative().optional(),
    maxDelayMs: z.number().nonnegative().optional(),
    maxRetryAfterMs: nonNegative.optional(),
    deadlineMs: positive.optional(),
    idleTimeoutMs: positive.optional(),
    retryOn: z.function().optional(),
    chargeAmbiguous: z.boolean().optional(),
    sleep: z.function().optional(),
    random: z.function().optional(),
  })
  .strict();

/**
 * Retries transient provider failures with exponential backoff and full
 * jitter, honours `retry-after` up to a cap, stops at a total deadline, and
 * turns the SDKs' own retries off while it is listed (`ownsRetries`), so one
 * failure is never retried twice over. Each retry is recorded as an attempt
 * with `purpose: "retry"` and announced with a `retry` event.
 *
 * A stream is retried only while nothing of it has reached the caller: the
 * caller then reads one clean stream. Once output has been passed on, a
 * failure reaches the caller with the partial answer.
 *
 * List it last (innermost), after `fallback` and inside `costTracker`.
 *
 * @example
 * const llm = createClient({
 *   providers: { openai: openai(new OpenAI()) },
 *   middleware: [costTracker(), retry({ maxAttempts: 3, deadlineMs: 30_000 })],
 * });
 */
export function retry(options: RetryOptions = {}): Middleware {
  parseOptions(optionsSchema, options, "retry");
  const settings: RetrySettings = {
    maxAttempts: options.maxAttempts ?? 3,
    baseDelayMs: options.baseDelayMs ?? 500,
    maxDelayMs: options.maxDelayMs ?? 8_000,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
    deadlineMs: options.deadlineMs ?? Number.POSITIVE_INFINITY,
    idleTimeoutMs: options.idleTimeoutMs ?? Number.POSITIVE_INFINITY,
    retryOn: options.retryOn ?? isTransient,
    sleep: options.sleep ?? abortableSleep,
    random: options.random ?? Math.random,
  };
  const chargeAmbiguous = options.chargeAmbiguous ?? true;

  return {
    name: "retry",
    ownsRetries: true,
    async handle(ctx, next) {
      const run = new RetryRun(ctx, next, settings);
      const settle = () => {
        if (chargeAmbiguous) chargeAmbiguousAttempts(ctx, run.firstAttempt);
      };
      let reply: Reply;
      try {
        reply = await run.call();
      } catch (error) {
        settle();
        throw error;
      }
      const outcome = reply.events ? resumableStream(reply, (error) => run.resume(error)) : reply;
      // Charged before the layers above (the cost tracker) see the outcome.
      const completion = outcome.completion.then(
        (c: Completion) => {
          settle();
          return c;
        },
        (error: unknown) => {
          settle();
          throw error;
        },
      );
      completion.catch(() => {});
      return outcome.events ? { completion, events: outcome.events } : { completion };
    },
  };
}
