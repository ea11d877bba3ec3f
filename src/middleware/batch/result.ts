import type { Attempt, Completion } from "../../core/completion.js";
import type { PriceBook } from "../../core/pricing.js";
import type { ProviderResponse } from "../../core/provider.js";
import { completionOf } from "../../core/provider.js";
import type { ItemOutcome } from "./batch-client.js";
import { BatchItemError } from "./errors.js";
import type { JobRecord } from "./job-store.js";

/**
 * The attempt and completion of an item that succeeded, as `dispatch` builds them for a live
 * call, but priced at the batch rate: `prices.cost(..., { batch: true })`.
 */
export function succeeded(
  job: JobRecord,
  response: ProviderResponse,
  prices: PriceBook,
  endedAt: number,
): { attempt: Attempt; completion: Completion } {
  const model = response.model || job.model;
  const cost = prices.cost(job.provider, model, response.usage, { batch: true });
  const attempt: Attempt = {
    ...sendOf(job, endedAt),
    status: "ok",
    usage: response.usage,
    cost,
    ...(response.providerRequestId && { providerRequestId: response.providerRequestId }),
  };
  const completion = completionOf(response, job.provider, model, cost, {
    requestId: job.requestId,
    attempts: job.attempts,
    state: {},
  });
  return { attempt, completion };
}

/** The attempt of an item that failed. Failed items are not billed: no usage, no cost. */
export function failed(
  job: JobRecord,
  outcome: Extract<ItemOutcome, { ok: false }>,
  endedAt: number,
): Attempt {
  return {
    ...sendOf(job, endedAt),
    status: "error",
    error: {
      name: "BatchItemError",
      message: outcome.message,
      ...(outcome.status !== undefined && { status: outcome.status }),
      retryable: outcome.retryable,
    },
    ...(outcome.providerRequestId && { providerRequestId: outcome.providerRequestId }),
  };
}

/** The error a caller of a failed job rejects with; `attempts` are the caller's own when it has a context. */
export function itemError(
  job: JobRecord,
  attempts: readonly import("../../core/completion.js").Attempt[],
): BatchItemError {
  const e = job.error ?? { message: "the batch item failed", reason: "errored" as const };
  const error = new BatchItemError(e.message, {
    jobId: job.id,
    reason: e.reason,
    provider: job.provider,
    model: job.model,
    ...(e.status !== undefined && { status: e.status }),
    ...(e.providerRequestId !== undefined && { providerRequestId: e.providerRequestId }),
  });
  error.attempts = attempts;
  return error;
}

/** The first send is the request's primary attempt; sends after a failed item are retries. */
function sendOf(job: JobRecord, endedAt: number) {
  return {
    purpose: job.tries > 1 ? ("retry" as const) : ("primary" as const),
    label: "batch",
    provider: job.provider,
    model: job.model,
    startedAt: job.submittedAt ?? endedAt,
    endedAt,
  };
}
