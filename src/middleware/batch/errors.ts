import { FrugalError, ProviderError } from "../../core/errors.js";

/** Why a batch item failed for good. */
export type BatchFailureReason =
  /** The provider answered the item with an error. */
  | "errored"
  /** The batch ran out of time before the item was processed. */
  | "expired"
  /** Someone cancelled the batch (frugal-llm never does). */
  | "canceled"
  /** The ended batch had no line for the item. */
  | "missing"
  /** The provider refused the batch that carried the item (a 4xx on upload or create). */
  | "rejected";

/**
 * A deferred request failed: its item failed and was retried, alone, `maxItemRetries` times,
 * or failed in a way that is never retried (a 4xx item error). `attempts` holds every send.
 */
export class BatchItemError extends ProviderError {
  readonly jobId: string;
  readonly reason: BatchFailureReason;

  constructor(
    message: string,
    init: {
      jobId: string;
      reason: BatchFailureReason;
      provider: string;
      model: string;
      status?: number;
      providerRequestId?: string;
    },
  ) {
    super(message, { ...init, retryable: false });
    this.jobId = init.jobId;
    this.reason = init.reason;
  }
}

/**
 * The answer is deferred to `batcher.job(jobId)`: the request was queued durably, and either
 * the host asked for detached jobs (`reason: "detached"`), or the batcher was closed before
 * the answer came (`reason: "closed"`; a new instance's `resume()` carries the job on).
 * Not a failure: no money was lost, and the job goes on.
 */
export class BatchDeferredError extends FrugalError {
  constructor(
    readonly jobId: string,
    readonly reason: "detached" | "closed",
  ) {
    super(
      reason === "detached"
        ? `deferred to batch job ${jobId}: read its answer with job("${jobId}")`
        : `the batcher closed before batch job ${jobId} finished: read its answer with job("${jobId}") after resume()`,
    );
  }
}

/** `job(id)` for an id the store does not hold: never queued here, or its answer outlived `resultTtlMs`. */
export class BatchJobNotFoundError extends FrugalError {
  constructor(readonly jobId: string) {
    super(`no batch job ${jobId} in the store: unknown id, or its answer expired (resultTtlMs)`);
  }
}
