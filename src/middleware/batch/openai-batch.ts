import { File } from "node:buffer";
import type { ChatCompletion } from "openai/resources/chat/completions";
import type { ChatRequest } from "../../core/request.js";
import { responseFromOpenAI } from "../../providers/openai/from-wire.js";
import { toOpenAIParams } from "../../providers/openai/to-wire.js";
import { isRetryableStatus } from "../../providers/sdk-calls.js";
import type { BatchClient, EndedBatch, ItemOutcome } from "./batch-client.js";
import type { OpenAIBatchSdk } from "./options.js";

const ENDPOINT = "/v1/chat/completions";
const ENDED = new Set(["completed", "failed", "expired", "cancelled"]);

/**
 * The OpenAI Batch API over the host's SDK: the items go up as one JSONL file (`files.create`,
 * purpose `batch`), `batches.create` starts the batch on Chat Completions with a 24h window,
 * `batches.retrieve` polls it, and `files.content` downloads the output and error files.
 * One model per batch, as the API requires.
 */
export function openAIBatchClient(sdk: OpenAIBatchSdk): BatchClient {
  return {
    api: "openai",
    params(request: ChatRequest, model: string) {
      const params = toOpenAIParams({ ...request, stream: false }, model) as unknown as Record<
        string,
        unknown
      >;
      // A batch line is never streamed; the key is dropped rather than sent as false.
      delete params.stream;
      return params;
    },
    group: (model) => `openai:${model}`,
    async submit(items) {
      const jsonl = items
        .map((item) =>
          JSON.stringify({ custom_id: item.id, method: "POST", url: ENDPOINT, body: item.params }),
        )
        .join("\n");
      const file = await sdk.files.create({
        file: new File([`${jsonl}\n`], "frugal-batch.jsonl", { type: "application/jsonl" }) as never,
        purpose: "batch",
      });
      const batch = await sdk.batches.create({
        input_file_id: file.id,
        endpoint: ENDPOINT,
        completion_window: "24h",
      });
      return batch.id;
    },
    async check(batchId): Promise<EndedBatch | undefined> {
      const batch = await sdk.batches.retrieve(batchId);
      if (!ENDED.has(batch.status)) return undefined;
      const outcomes: ItemOutcome[] = [];
      // Completed, expired and cancelled batches may all carry partial output and an error file.
      for (const fileId of [batch.output_file_id, batch.error_file_id]) {
        if (!fileId) continue;
        const text = await (await sdk.files.content(fileId)).text();
        for (const line of text.split("\n")) {
          const outcome = line.trim() === "" ? undefined : outcomeOf(line);
          if (outcome) outcomes.push(outcome);
        }
      }
      const errors = batch.errors?.data?.map((e) => e.message ?? e.code).filter(Boolean) ?? [];
      return { outcomes, note: [`batch ${batch.status}`, ...errors].join(": ") };
    },
  };
}

interface OutputLine {
  custom_id?: unknown;
  response?: { status_code?: number; request_id?: string; body?: unknown } | null;
  error?: { code?: string; message?: string } | null;
}

/** One output or error line; a line that cannot be read is skipped (its item counts as missing). */
function outcomeOf(text: string): ItemOutcome | undefined {
  let line: OutputLine;
  try {
    line = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof line.custom_id !== "string") return undefined;
  const customId = line.custom_id;
  const response = line.response;
  const requestId = response?.request_id ? { providerRequestId: response.request_id } : {};
  if (response && response.status_code === 200 && response.body) {
    const parsed = responseFromOpenAI(response.body as ChatCompletion);
    return { customId, ok: true, response: { ...parsed, ...requestId } };
  }
  if (response && typeof response.status_code === "number") {
    const status = response.status_code;
    const body = response.body as { error?: { message?: string } } | undefined;
    return {
      customId,
      ok: false,
      reason: "errored",
      status,
      message: `openai answered ${status}: ${body?.error?.message ?? "no message"}`,
      retryable: isRetryableStatus(status),
      ...requestId,
    };
  }
  const code = line.error?.code ?? "unknown";
  const message = `openai: ${code}: ${line.error?.message ?? "no message"}`;
  if (code === "batch_expired") return { customId, ok: false, reason: "expired", message, retryable: true };
  if (code === "batch_cancelled")
    return { customId, ok: false, reason: "canceled", message, retryable: false };
  return { customId, ok: false, reason: "errored", message, retryable: true };
}
