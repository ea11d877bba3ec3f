// Fake OpenAI Batch API: POST /v1/files (multipart, purpose "batch"), GET /v1/files/{id}[/content],
// POST /v1/batches, GET /v1/batches/{id}. Shaped after node_modules/openai/resources/{batches,files}
// and the documented JSONL lines: input {custom_id, method, url, body}; output and error files
// {id, custom_id, response: {status_code, request_id, body} | null, error: {code, message} | null}.
// Item bodies are answered by the live endpoint's builder; fates and polls come from the batch book.
import type {
  ContentStep,
  ErrorStep,
  FakeExtension,
  FakeRequest,
  FakeResponse,
  FakeTools,
  RouteContext,
} from "./fake-server.js";

export interface OpenAIBatchBuilders {
  /** The live chat completion body for a step (fake-openai.ts). */
  answer(step: ContentStep, ctx: RouteContext): unknown;
  errorBody(step: ErrorStep, requestId: string): unknown;
}

interface StoredFile {
  id: string;
  filename: string;
  purpose: string;
  content: string;
  createdAt: number;
}

interface StoredBatch {
  id: string;
  endpoint: string;
  inputFileId: string;
  createdAt: number;
  lines: { custom_id: string; body: any }[];
  /** Why the input failed validation, if it did: the batch ends "failed" with these. */
  invalid: { code: string; message: string; line?: number }[];
  /** Set once the batch has ended: its files and counts. */
  result?: { status: string; outputFileId?: string; errorFileId?: string; completed: number; failed: number };
}

const FILE = /^\/v1\/files\/([^/]+)(\/content)?$/;
const BATCH = /^\/v1\/batches\/([^/]+)$/;

export function openAIBatchEndpoints(builders: OpenAIBatchBuilders): FakeExtension {
  const files = new Map<string, StoredFile>();
  const batches = new Map<string, StoredBatch>();

  function saveFile(tools: FakeTools, content: string, filename: string, purpose: string): StoredFile {
    const file = { id: tools.id("file-"), filename, purpose, content, createdAt: now() };
    files.set(file.id, file);
    return file;
  }

  function createBatch(request: FakeRequest, tools: FakeTools): FakeResponse {
    const body = request.body ?? {};
    const input = files.get(body.input_file_id);
    if (!input) return notFound(builders, tools, `No such File object: ${body.input_file_id}`);
    if (body.completion_window !== "24h") {
      return invalid(builders, tools, "completion_window: only '24h' is supported");
    }
    const batch: StoredBatch = {
      id: tools.id("batch_"),
      endpoint: body.endpoint,
      inputFileId: input.id,
      createdAt: now(),
      lines: [],
      invalid: [],
    };
    const ids = new Set<string>();
    const models = new Set<string>();
    input.content.split("\n").forEach((text, index) => {
      if (text.trim() === "") return;
      const line = safeParse(text);
      const problem =
        !line || typeof line.custom_id !== "string"
          ? "each line must be a JSON object with a custom_id"
          : line.method !== "POST" || line.url !== body.endpoint
            ? `each line must be a POST to ${body.endpoint}`
            : ids.has(line.custom_id)
              ? `duplicate custom_id ${line.custom_id}`
              : undefined;
      if (problem) batch.invalid.push({ code: "invalid_request", message: problem, line: index + 1 });
      if (!line) return;
      ids.add(line.custom_id);
      models.add(line.body?.model);
      batch.lines.push({ custom_id: line.custom_id, body: line.body });
    });
    // The live API refuses a batch that mixes models.
    if (models.size > 1) batch.invalid.push({ code: "model_mismatch", message: "one model per batch" });
    batches.set(batch.id, batch);
    tools.batch.created(
      batch.id,
      batch.lines.map((l) => l.custom_id),
    );
    return { json: batchObject(batch, "validating") };
  }

  function pollBatch(batch: StoredBatch, tools: FakeTools): FakeResponse {
    if (batch.result || !tools.batch.poll(batch.id)) {
      return { json: batchObject(batch, batch.result?.status ?? "in_progress") };
    }
    if (batch.invalid.length) {
      batch.result = { status: "failed", completed: 0, failed: 0 };
      return { json: batchObject(batch, "failed") };
    }
    const output: unknown[] = [];
    const errors: unknown[] = [];
    let expired = false;
    for (const { custom_id, body } of batch.lines) {
      const fate = tools.batch.fate(custom_id, body);
      const requestId = tools.id("req_");
      const id = tools.id("batch_req_");
      if (fate === "error") {
        const status = tools.batch.script.failStatus ?? 500;
        const step: ErrorStep = { kind: "error", status };
        const response = {
          status_code: status,
          request_id: requestId,
          body: builders.errorBody(step, requestId),
        };
        errors.push({ id, custom_id, response, error: null });
      } else if (fate === "expire") {
        expired = true;
        const error = {
          code: "batch_expired",
          message: "This request could not be executed before the completion window expired.",
        };
        errors.push({ id, custom_id, response: null, error });
      } else {
        const step = tools.batch.script.replyFor?.({ customId: custom_id, body }) ?? tools.defaultStep(body);
        const answer = builders.answer(step, { body, id: tools.id });
        const line = { id, custom_id, response: { status_code: 200, request_id: requestId, body: answer } };
        output.push({ ...line, error: null });
        if (fate === "duplicate") output.push({ ...line, id: tools.id("batch_req_"), error: null });
      }
    }
    const jsonl = (lines: unknown[]) => lines.map((l) => `${JSON.stringify(l)}\n`).join("");
    const outputFile = output.length
      ? saveFile(tools, jsonl(tools.batch.order(output)), "batch_output.jsonl", "batch_output")
      : undefined;
    const errorFile = errors.length
      ? saveFile(tools, jsonl(tools.batch.order(errors)), "batch_errors.jsonl", "batch_output")
      : undefined;
    batch.result = {
      // Items expire only when the whole batch runs out of time.
      status: expired ? "expired" : "completed",
      ...(outputFile && { outputFileId: outputFile.id }),
      ...(errorFile && { errorFileId: errorFile.id }),
      completed: output.length,
      failed: errors.length,
    };
    return { json: batchObject(batch, batch.result.status) };
  }

  return {
    claims: (_method, path) =>
      path === "/v1/files" || path === "/v1/batches" || FILE.test(path) || BATCH.test(path),
    handle(request, tools) {
      const { method, path } = request;
      if (method === "POST" && path === "/v1/files") {
        const form = parseMultipart(request);
        if (form.file === undefined || form.purpose === undefined) {
          return invalid(builders, tools, "a file and a purpose are required");
        }
        return { json: fileObject(saveFile(tools, form.file.content, form.file.filename, form.purpose)) };
      }
      if (method === "POST" && path === "/v1/batches") return createBatch(request, tools);
      const fileMatch = FILE.exec(path);
      if (method === "GET" && fileMatch) {
        const file = files.get(fileMatch[1]!);
        if (!file) return notFound(builders, tools, `No such File object: ${fileMatch[1]}`);
        return fileMatch[2] ? { text: file.content } : { json: fileObject(file) };
      }
      const batchMatch = BATCH.exec(path);
      if (method === "GET" && batchMatch) {
        const batch = batches.get(batchMatch[1]!);
        if (!batch) return notFound(builders, tools, `No such Batch object: ${batchMatch[1]}`);
        return pollBatch(batch, tools);
      }
      return notFound(builders, tools, `Unknown route ${method} ${path}`);
    },
    reset() {
      files.clear();
      batches.clear();
    },
  };
}

function batchObject(batch: StoredBatch, status: string) {
  const total = batch.lines.length;
  const r = batch.result;
  return {
    id: batch.id,
    object: "batch",
    endpoint: batch.endpoint,
    errors: batch.invalid.length ? { object: "list", data: batch.invalid } : null,
    input_file_id: batch.inputFileId,
    completion_window: "24h",
    status,
    output_file_id: r?.outputFileId ?? null,
    error_file_id: r?.errorFileId ?? null,
    created_at: batch.createdAt,
    in_progress_at: batch.createdAt,
    expires_at: batch.createdAt + 86_400,
    completed_at: status === "completed" ? now() : null,
    failed_at: status === "failed" ? now() : null,
    expired_at: status === "expired" ? now() : null,
    request_counts: { total, completed: r?.completed ?? 0, failed: r?.failed ?? 0 },
    metadata: null,
  };
}

function fileObject(file: StoredFile) {
  return {
    id: file.id,
    object: "file",
    bytes: Buffer.byteLength(file.content),
    created_at: file.createdAt,
    filename: file.filename,
    purpose: file.purpose,
    status: "processed",
    expires_at: null,
    status_details: null,
  };
}

/** The fields of a multipart/form-data body: text fields as strings, the file with its name. */
function parseMultipart(request: FakeRequest): {
  purpose?: string;
  file?: { filename: string; content: string };
} {
  const type = String(request.headers["content-type"] ?? "");
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(type);
  if (!boundary) return {};
  const out: { purpose?: string; file?: { filename: string; content: string } } = {};
  for (const part of request.raw.split(`--${boundary[1] ?? boundary[2]}`)) {
    const split = part.indexOf("\r\n\r\n");
    if (split < 0) continue;
    const head = part.slice(0, split);
    const content = part.slice(split + 4).replace(/\r\n$/, "");
    const name = /name="([^"]*)"/.exec(head)?.[1];
    if (name === "purpose") out.purpose = content;
    if (name === "file") out.file = { filename: /filename="([^"]*)"/.exec(head)?.[1] ?? "upload", content };
  }
  return out;
}

function notFound(builders: OpenAIBatchBuilders, tools: FakeTools, message: string): FakeResponse {
  return { status: 404, json: builders.errorBody({ kind: "error", status: 404, message }, tools.requestId) };
}

function invalid(builders: OpenAIBatchBuilders, tools: FakeTools, message: string): FakeResponse {
  return { status: 400, json: builders.errorBody({ kind: "error", status: 400, message }, tools.requestId) };
}

function safeParse(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const now = () => Math.floor(Date.now() / 1000);
