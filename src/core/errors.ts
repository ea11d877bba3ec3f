import type { z } from "zod";
import type { Attempt } from "./completion.js";
import { redactSecrets } from "./redact.js";

/**
 * The base of every error frugal-llm throws. Branch with `instanceof`, never
 * by parsing messages. Messages are redacted: no API key ever appears in one.
 */
export class FrugalError extends Error {
  /** Every provider call made for the request before it failed. */
  attempts: readonly Attempt[] = [];

  constructor(message: string, options?: { cause?: unknown }) {
    super(redactSecrets(message), options);
    this.name = new.target.name;
  }
}

/** The client's configuration is invalid. Thrown by `createClient`. */
export class ConfigError extends FrugalError {}

/** A request is invalid; `issues` names each field and what it expected. */
export class InvalidRequestError extends FrugalError {
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
  ) {
    super(message);
  }
}

/** A provider answered with an error or could not be reached. */
export class ProviderError extends FrugalError {
  readonly provider: string;
  readonly model: string;
  /** HTTP status, when the provider answered. */
  readonly status: number | undefined;
  /** True for transient failures worth retrying (429, 408, 409, 5xx, 529, resets, timeouts). */
  readonly retryable: boolean;
  /** The provider's `retry-after`, in milliseconds, when it sent one. */
  readonly retryAfterMs: number | undefined;
  /** The provider's request id, for support tickets. */
  readonly providerRequestId: string | undefined;

  constructor(
    message: string,
    init: {
      provider: string;
      model: string;
      status?: number;
      retryable: boolean;
      retryAfterMs?: number;
      providerRequestId?: string;
      cause?: unknown;
    },
  ) {
    super(message, { cause: init.cause });
    this.provider = init.provider;
    this.model = init.model;
    this.status = init.status;
    this.retryable = init.retryable;
    this.retryAfterMs = init.retryAfterMs;
    this.providerRequestId = init.providerRequestId;
  }
}

/** 429: slow down; see `retryAfterMs`. */
export class RateLimitError extends ProviderError {}

/** 529 (Anthropic) or 503: the provider is overloaded. */
export class OverloadedError extends ProviderError {}

/** The connection failed or was reset before a complete answer arrived. */
export class ConnectionError extends ProviderError {}

/** The provider did not answer in time. */
export class TimeoutError extends ProviderError {}

/**
 * A stream ended without its finish (cut mid-delta, or malformed). `partial`
 * holds what arrived, with usage marked estimated, so it can still be charged.
 */
export class StreamInterruptedError extends ProviderError {
  partial: import("./completion.js").Completion | undefined;
}

/** The caller's AbortSignal fired, or the caller stopped reading a stream. */
export class AbortedError extends FrugalError {}

/** One model of the chain and why it did not answer. */
export interface ModelFailure {
  /** The model ref, as the chain (or the request) names it. */
  readonly model: string;
  /** Its error: a `ProviderError`, or a `CircuitOpenError` (from `fallback`) when its circuit was open and it was skipped. */
  readonly error: FrugalError;
}

/**
 * Every model of a fallback chain failed or was skipped. `failures` lists
 * each model tried or skipped, in order, with its error; `attempts` every
 * provider call made for the request (retries included), each priced.
 */
export class AllModelsFailedError extends FrugalError {
  readonly failures: readonly ModelFailure[];

  constructor(failures: readonly ModelFailure[], attempts: readonly Attempt[], message?: string) {
    super(message ?? `every model failed: ${summary(failures)}`, { cause: failures.at(-1)?.error });
    this.failures = failures;
    this.attempts = attempts;
  }
}

/**
 * The cost guard refused a fallback to a more expensive model and nothing
 * cheaper answered (or `degrade: "error"`). It is an `AllModelsFailedError`:
 * `failures` holds what failed before.
 */
export class CostGuardError extends AllModelsFailedError {
  /** The model ref the request would have fallen back to. */
  readonly model: string;
  /** Which allowance was used up. */
  readonly scope: "overall" | "tenant";
  /** The share of requests that escalated in that scope, over the window. */
  readonly share: number;
  readonly maxShare: number;

  constructor(
    refusal: { model: string; scope: "overall" | "tenant"; share: number; maxShare: number },
    failures: readonly ModelFailure[],
    attempts: readonly Attempt[],
  ) {
    const pct = (n: number) => `${Math.round(n * 1000) / 10}%`;
    super(
      failures,
      attempts,
      `the cost guard refused a fallback to ${refusal.model}: the ${refusal.scope} share of escalations is ` +
        `${pct(refusal.share)}, the cap ${pct(refusal.maxShare)}` +
        (failures.length ? `; before that: ${summary(failures)}` : ""),
    );
    this.model = refusal.model;
    this.scope = refusal.scope;
    this.share = refusal.share;
    this.maxShare = refusal.maxShare;
  }
}

/** Turns a zod error into a message that names each field and what it expected. */
export function describeZodError(error: z.ZodError, root: string): string[] {
  return error.issues.map((issue) => {
    const path = [root, ...issue.path.map((p) => (typeof p === "number" ? `[${p}]` : String(p)))]
      .join(".")
      .replace(/\.\[/g, "[");
    return `${path}: ${issue.message}`;
  });
}

function summary(failures: readonly ModelFailure[]): string {
  return failures
    .map(({ model, error }) => {
      const status = error instanceof ProviderError && error.status !== undefined ? ` ${error.status}` : "";
      return `${model} (${error.name}${status})`;
    })
    .join(", ");
}
