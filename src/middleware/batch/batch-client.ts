import type { ProviderResponse } from "../../core/provider.js";
import type { ChatRequest } from "../../core/request.js";
import type { BatchFailureReason } from "./errors.js";
import type { BatchApi } from "./job-store.js";

/** One line of a batch: the job id (sent as `custom_id`) and the provider's request body. */
export interface BatchItem {
  id: string;
  params: Record<string, unknown>;
}

/** What the provider said about one item of an ended batch. */
export type ItemOutcome =
  | { customId: string; ok: true; response: ProviderResponse }
  | {
      customId: string;
      ok: false;
      reason: BatchFailureReason;
      message: string;
      status?: number;
      /** Worth sending again: a 5xx, 408, 409, 429, an expiry, a missing line. */
      retryable: boolean;
      providerRequestId?: string;
    };

/** An ended batch: the item outcomes in whatever order the provider gave them, and why it ended. */
export interface EndedBatch {
  outcomes: ItemOutcome[];
  /** The provider's status, plus its batch-level errors when it refused the whole input. */
  note: string;
}

/**
 * One provider's batch API over the host's SDK instance. It translates and transports; it never
 * retries, prices or stores anything (the runner does).
 */
export interface BatchClient {
  readonly api: BatchApi;
  /** The provider's non-streamed request body; throws `InvalidRequestError` like the live adapter. */
  params(request: ChatRequest, model: string): Record<string, unknown>;
  /** Items with equal groups may share one batch. */
  group(model: string): string;
  /** Sends the items as one batch; resolves with the provider's batch id. */
  submit(items: readonly BatchItem[]): Promise<string>;
  /** `undefined` while the batch runs; its outcomes once it has ended (completed, failed, expired...). */
  check(batchId: string): Promise<EndedBatch | undefined>;
}
