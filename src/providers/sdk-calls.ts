import type { StreamEvent } from "../core/completion.js";
import {
  AbortedError,
  ConnectionError,
  FrugalError,
  OverloadedError,
  ProviderError,
  RateLimitError,
  StreamInterruptedError,
  TimeoutError,
} from "../core/errors.js";
import type { ProviderCallOptions, ProviderStream } from "../core/provider.js";
import { redactSecrets } from "../core/redact.js";

/**
 * Per-request options for either SDK: the call's signal, and retries when the
 * library owns them; none at all (as in a plain SDK call) when neither applies.
 */
export function sdkRequestOptions(
  o: ProviderCallOptions,
): { signal?: AbortSignal; maxRetries?: number } | undefined {
  if (!o.signal && o.maxRetries === undefined) return undefined;
  return {
    ...(o.signal && { signal: o.signal }),
    ...(o.maxRetries !== undefined && { maxRetries: o.maxRetries }),
  };
}

/**
 * Both official SDKs throw the same family of errors (`APIError` with
 * `status`, `headers`, `requestID`; `APIConnectionError`,
 * `APIConnectionTimeoutError`, `APIUserAbortError`). This maps them to
 * frugal-llm's errors in one place. Only the status, `retry-after` and the
 * request id are kept: headers and bodies may carry credentials.
 */
export function fromSdkError(error: unknown, provider: string, model: string): FrugalError {
  if (error instanceof FrugalError) return error;
  const e = error as {
    name?: string;
    constructor?: { name?: string };
    status?: unknown;
    headers?: unknown;
    requestID?: unknown;
    message?: unknown;
  };
  const kind = e?.constructor?.name ?? e?.name ?? "";
  const message = typeof e?.message === "string" ? e.message : String(error);
  if (kind === "APIUserAbortError" || e?.name === "AbortError") {
    return new AbortedError("the request was aborted by the caller", { cause: redactedCopy(error) });
  }
  // The SDK's error echoes the provider's message, which may quote a key: keep a redacted copy only.
  const base = { provider, model, cause: redactedCopy(error) };
  if (kind === "APIConnectionTimeoutError") {
    return new TimeoutError(`${provider} did not answer in time`, { ...base, retryable: true });
  }
  const status = typeof e?.status === "number" ? e.status : undefined;
  if (error instanceof SyntaxError) {
    // A body that is not JSON: usually a proxy or a cut response, worth another try.
    return new ProviderError(`${provider} sent a response that is not valid JSON`, {
      ...base,
      retryable: true,
    });
  }
  if (status === undefined) {
    return new ConnectionError(`could not reach ${provider}: ${message}`, { ...base, retryable: true });
  }
  const retryAfterMs = parseRetryAfter(header(e.headers, "retry-after-ms"), header(e.headers, "retry-after"));
  const providerRequestId =
    (typeof e.requestID === "string" && e.requestID) ||
    header(e.headers, "x-request-id") ||
    header(e.headers, "request-id");
  const init = {
    ...base,
    status,
    retryable: isRetryableStatus(status, header(e.headers, "x-should-retry")),
    ...(retryAfterMs !== undefined && { retryAfterMs }),
    ...(providerRequestId && { providerRequestId }),
  };
  // The SDKs start their message with the status already.
  const text = `${provider} answered ${status}: ${message.replace(/^\d{3}\s+/, "")}`;
  if (status === 429) return new RateLimitError(text, init);
  if (status === 529 || status === 503) return new OverloadedError(text, init);
  return new ProviderError(text, init);
}

/** Transient statuses, unless the provider says otherwise with `x-should-retry`. */
export function isRetryableStatus(status: number, shouldRetry?: string): boolean {
  if (shouldRetry === "true") return true;
  if (shouldRetry === "false") return false;
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

function header(headers: unknown, name: string): string | undefined {
  if (headers && typeof (headers as Headers).get === "function") {
    return (headers as Headers).get(name) ?? undefined;
  }
  if (headers && typeof headers === "object") {
    const value = (headers as Record<string, unknown>)[name];
    return typeof value === "string" ? value : undefined;
  }
  return undefined;
}

/** `retry-after-ms` first, then `retry-after` as seconds or an HTTP date. */
function parseRetryAfter(ms: string | undefined, seconds: string | undefined): number | undefined {
  if (ms !== undefined && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  if (seconds === undefined) return undefined;
  if (Number.isFinite(Number(seconds))) return Math.max(0, Number(seconds) * 1000);
  const date = Date.parse(seconds);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * An error thrown by the SDK mid-stream, as a frugal-llm error. A cut
 * connection surfaces as a bare `TypeError("terminated")`, an SDK base error
 * with no status, or a half-received JSON event: that is a stream cut short.
 */
export function fromSdkStreamError(error: unknown, provider: string, model: string): FrugalError {
  const mapped = fromSdkError(error, provider, model);
  if (mapped instanceof ProviderError && mapped.status === undefined && !(mapped instanceof TimeoutError)) {
    return new StreamInterruptedError(`the ${provider} stream was cut short: ${mapped.message}`, {
      provider,
      model,
      retryable: true,
      cause: mapped.cause,
    });
  }
  return mapped;
}

function redactedCopy(error: unknown): Error {
  const source = error instanceof Error ? error : new Error(String(error));
  const copy = new Error(redactSecrets(source.message));
  copy.name = source.name;
  copy.stack = redactSecrets(source.stack ?? "");
  return copy;
}

/**
 * The adapter's events, cancellable through the SDK stream's own
 * AbortController (both SDKs' `Stream` carry one), so that a stream closed
 * before its first read still ends its HTTP request.
 */
export function withSdkCancel(events: AsyncIterable<StreamEvent>, sdkStream: unknown): ProviderStream {
  const controller = (sdkStream as { controller?: unknown }).controller;
  if (!(controller instanceof AbortController)) return events;
  return Object.assign(events, { cancel: () => controller.abort() });
}
