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

/** Turns a zod error into a message that names each field and what it expected. */
export function describeZodError(error: z.ZodError, root: string): string[] {
  return error.issues.map((issue) => {
    const path = [root, ...issue.path.map((p) => (typeof p === "number" ? `[${p}]` : String(p)))]
      .join(".")
      .replace(/\.\[/g, "[");
    return `${path}: ${issue.message}`;
  });
}
