import type { Message } from "@anthropic-ai/sdk/resources/messages";
import type { MessageBatchIndividualResponse } from "@anthropic-ai/sdk/resources/messages/batches";
import type { ChatRequest } from "../../core/request.js";
import { responseFromAnthropic } from "../../providers/anthropic/from-wire.js";
import { toAnthropicParams } from "../../providers/anthropic/to-wire.js";
import type { BatchClient, EndedBatch, ItemOutcome } from "./batch-client.js";
import type { AnthropicBatchSdk } from "./options.js";

/** Anthropic error types by the HTTP status the live API gives them (errors.md of the API). */
const STATUS: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};
const RETRYABLE = new Set(["api_error", "overloaded_error", "rate_limit_error", "timeout_error"]);

/**
 * Anthropic Message Batches over the host's SDK: `messages.batches.create` with one
 * `{ custom_id, params }` per item (models may mix), `retrieve` to poll until
 * `processing_status` is `ended`, and `results` to stream the JSONL results.
 */
export function anthropicBatchClient(sdk: AnthropicBatchSdk, defaultMaxTokens: number): BatchClient {
  return {
    api: "anthropic",
    params(request: ChatRequest, model: string) {
      const params = toAnthropicParams({ ...request, stream: false }, model, defaultMaxTokens);
      const body = params as unknown as Record<string, unknown>;
      delete body.stream;
      return body;
    },
    // Each item names its own model, so one batch serves them all.
    group: () => "anthropic",
    async submit(items) {
      const batch = await sdk.messages.batches.create({
        requests: items.map((item) => ({ custom_id: item.id, params: item.params as never })),
      });
      return batch.id;
    },
    async check(batchId): Promise<EndedBatch | undefined> {
      const batch = await sdk.messages.batches.retrieve(batchId);
      if (batch.processing_status !== "ended") return undefined;
      const outcomes: ItemOutcome[] = [];
      for await (const line of await sdk.messages.batches.results(batchId)) {
        const outcome = outcomeOf(line);
        if (outcome) outcomes.push(outcome);
      }
      const c = batch.request_counts;
      return {
        outcomes,
        note: `batch ended: ${c.succeeded} succeeded, ${c.errored} errored, ${c.expired} expired, ${c.canceled} canceled`,
      };
    },
  };
}

function outcomeOf(line: MessageBatchIndividualResponse): ItemOutcome | undefined {
  if (typeof line?.custom_id !== "string" || !line.result) return undefined;
  const customId = line.custom_id;
  const result = line.result;
  switch (result.type) {
    case "succeeded":
      return { customId, ok: true, response: responseFromAnthropic(result.message as Message) };
    case "errored": {
      const type = result.error?.error?.type ?? "api_error";
      const requestId = result.error?.request_id;
      return {
        customId,
        ok: false,
        reason: "errored",
        status: STATUS[type] ?? 500,
        message: `anthropic: ${type}: ${result.error?.error?.message ?? "no message"}`,
        retryable: RETRYABLE.has(type),
        ...(requestId && { providerRequestId: requestId }),
      };
    }
    case "expired":
      return {
        customId,
        ok: false,
        reason: "expired",
        message: "anthropic: the batch expired first",
        retryable: true,
      };
    case "canceled":
      return {
        customId,
        ok: false,
        reason: "canceled",
        message: "anthropic: the batch was canceled",
        retryable: false,
      };
    default:
      return undefined;
  }
}
