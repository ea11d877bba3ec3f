// Fake Anthropic Message Batches: POST /v1/messages/batches, GET /v1/messages/batches/{id} and
// the results_url it hands out once the batch has ended (GET .../{id}/results, JSONL lines
// {custom_id, result: {type: succeeded | errored | canceled | expired, message | error}}).
// Shaped after node_modules/@anthropic-ai/sdk/resources/messages/batches. Item params are answered
// by the live endpoint's builder; fates and polls come from the batch book.
import type {
  ContentStep,
  ErrorStep,
  FakeExtension,
  FakeResponse,
  FakeTools,
  RouteContext,
} from "./fake-server.js";

export interface AnthropicBatchBuilders {
  /** The live message body for a step (fake-anthropic.ts). */
  answer(step: ContentStep, ctx: RouteContext): unknown;
  errorBody(step: ErrorStep, requestId: string): unknown;
}

interface StoredBatch {
  id: string;
  createdAt: Date;
  requests: { custom_id: string; params: any }[];
  /** Set once the batch has ended. */
  results?: { jsonl: string; counts: Record<Counted, number>; endedAt: Date };
}

type Counted = "succeeded" | "errored" | "canceled" | "expired";

const BATCHES = "/v1/messages/batches";
const ONE = /^\/v1\/messages\/batches\/([^/]+)(\/results)?$/;
const CUSTOM_ID = /^[a-zA-Z0-9_-]{1,64}$/;

export function anthropicBatchEndpoints(builders: AnthropicBatchBuilders): FakeExtension {
  const batches = new Map<string, StoredBatch>();

  function create(body: any, tools: FakeTools): FakeResponse {
    const requests: unknown[] = Array.isArray(body?.requests) ? body.requests : [];
    if (requests.length === 0) return invalid(builders, tools, "requests: at least one request is required");
    const ids = new Set<string>();
    for (const [i, r] of requests.entries()) {
      const id = (r as { custom_id?: unknown })?.custom_id;
      // The live API checks custom ids up front and refuses the whole batch.
      if (typeof id !== "string" || !CUSTOM_ID.test(id)) {
        return invalid(builders, tools, `requests.${i}.custom_id: must match ${CUSTOM_ID}`);
      }
      if (ids.has(id)) return invalid(builders, tools, `requests.${i}.custom_id: duplicate "${id}"`);
      ids.add(id);
      const problem = paramsProblem((r as { params?: any }).params);
      if (problem) return invalid(builders, tools, `requests.${i}.params.${problem}`);
    }
    const batch: StoredBatch = {
      id: tools.id("msgbatch_"),
      createdAt: new Date(),
      requests: requests as StoredBatch["requests"],
    };
    batches.set(batch.id, batch);
    tools.batch.created(batch.id, [...ids]);
    return { json: batchObject(batch, tools) };
  }

  function end(batch: StoredBatch, tools: FakeTools): void {
    const counts: Record<Counted, number> = { succeeded: 0, errored: 0, canceled: 0, expired: 0 };
    const lines: unknown[] = [];
    for (const { custom_id, params } of batch.requests) {
      const fate = tools.batch.fate(custom_id, params);
      if (fate === "error") {
        const step: ErrorStep = { kind: "error", status: tools.batch.script.failStatus ?? 500 };
        counts.errored++;
        lines.push({
          custom_id,
          result: { type: "errored", error: builders.errorBody(step, tools.id("req_")) },
        });
      } else if (fate === "expire") {
        counts.expired++;
        lines.push({ custom_id, result: { type: "expired" } });
      } else {
        const step =
          tools.batch.script.replyFor?.({ customId: custom_id, body: params }) ?? tools.defaultStep(params);
        const line = {
          custom_id,
          result: { type: "succeeded", message: builders.answer(step, { body: params, id: tools.id }) },
        };
        counts.succeeded++;
        lines.push(line);
        if (fate === "duplicate") lines.push(line);
      }
    }
    const jsonl = tools.batch
      .order(lines)
      .map((l) => `${JSON.stringify(l)}\n`)
      .join("");
    batch.results = { jsonl, counts, endedAt: new Date() };
  }

  function batchObject(batch: StoredBatch, tools: FakeTools) {
    const r = batch.results;
    const counts = r?.counts ?? { succeeded: 0, errored: 0, canceled: 0, expired: 0 };
    return {
      id: batch.id,
      type: "message_batch",
      processing_status: r ? "ended" : "in_progress",
      request_counts: { processing: r ? 0 : batch.requests.length, ...counts },
      ended_at: r ? r.endedAt.toISOString() : null,
      created_at: batch.createdAt.toISOString(),
      expires_at: new Date(batch.createdAt.getTime() + 86_400_000).toISOString(),
      archived_at: null,
      cancel_initiated_at: null,
      results_url: r ? `${tools.origin}${BATCHES}/${batch.id}/results` : null,
    };
  }

  return {
    claims: (_method, path) => path === BATCHES || ONE.test(path),
    handle(request, tools) {
      const { method, path } = request;
      if (method === "POST" && path === BATCHES) return create(request.body, tools);
      const match = ONE.exec(path);
      const batch = match && batches.get(match[1]!);
      if (method !== "GET" || !match) return notFound(builders, tools, `Unknown route ${method} ${path}`);
      if (!batch) return notFound(builders, tools, `message batch ${match[1]} not found`);
      if (match[2]) {
        if (!batch.results) return notFound(builders, tools, `message batch ${batch.id} has not ended`);
        return { text: batch.results.jsonl, contentType: "application/binary" };
      }
      if (!batch.results && tools.batch.poll(batch.id)) end(batch, tools);
      return { json: batchObject(batch, tools) };
    },
    reset() {
      batches.clear();
    },
  };
}

/** The checks the live API makes on create, refusing the whole batch for one bad request. */
function paramsProblem(params: any): string | undefined {
  if (typeof params?.model !== "string") return "model: Field required";
  if (!Number.isInteger(params.max_tokens) || params.max_tokens < 1) return "max_tokens: must be at least 1";
  if (!Array.isArray(params.messages) || params.messages.length === 0) return "messages: Field required";
  if (params.stream === true) return "stream: streaming is not supported in batches";
  return undefined;
}

function notFound(builders: AnthropicBatchBuilders, tools: FakeTools, message: string): FakeResponse {
  return {
    status: 404,
    json: builders.errorBody({ kind: "error", status: 404, message }, tools.requestId),
  };
}

function invalid(builders: AnthropicBatchBuilders, tools: FakeTools, message: string): FakeResponse {
  return {
    status: 400,
    json: builders.errorBody({ kind: "error", status: 400, message }, tools.requestId),
  };
}
