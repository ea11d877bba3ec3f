// Fake OpenAI API: /v1/chat/completions (JSON and SSE) and /v1/embeddings, shaped after the
// types in node_modules/openai/resources/chat/completions and the live API's chunk layout; the
// Batch API (files and batches) is in fake-openai-batch.ts.
import { createHash } from "node:crypto";
import { openAIBatchEndpoints } from "./fake-openai-batch.js";
import {
  type ContentStep,
  type ErrorStep,
  type FakeServer,
  type FakeUsage,
  type RouteContext,
  resolveUsage,
  type SseEvent,
  splitFragments,
  splitWords,
  startFakeServer,
} from "./fake-server.js";

const DEFAULT_MODEL = "gpt-4o-mini";
const EMBEDDING_DIMENSIONS = 8;

export function startFakeOpenAI(options: { defaultText?: (body: any) => string } = {}): Promise<FakeServer> {
  return startFakeServer(
    {
      basePath: "/v1",
      requestIdHeader: "x-request-id",
      routes: {
        "POST /v1/chat/completions": { consumesContentSteps: true, json: completion, sse: completionChunks },
        "POST /v1/embeddings": { consumesContentSteps: false, json: embeddings },
      },
      extensions: [openAIBatchEndpoints({ answer: completion, errorBody })],
      errorBody,
      malformedEvent: { data: '{"id": "chatcmpl-broken", "choices": [{"delta": {"content": "oops' },
    },
    options,
  );
}

/** Everything the two response shapes need, derived once from a step. */
function reply(step: ContentStep, ctx: RouteContext) {
  const text = step.kind === "tool-calls" ? (step.text ?? "") : step.text;
  const calls =
    step.kind === "tool-calls"
      ? step.calls.map((c) => ({
          id: c.id ?? ctx.id("call_"),
          name: c.name,
          args: JSON.stringify(c.arguments),
        }))
      : [];
  const given: FakeUsage | undefined = "usage" in step ? step.usage : undefined;
  const generated = [text, ...calls.map((c) => `${c.name} ${c.args}`)].join(" ");
  const u = resolveUsage(given, ctx.body, generated, step.kind === "thinking" ? step.thinking : "");
  const finishReason =
    step.kind === "tool-calls" ? "tool_calls" : step.kind === "text" ? (step.finishReason ?? "stop") : "stop";
  return {
    id: ctx.id("chatcmpl-"),
    created: Math.floor(Date.now() / 1000),
    model: (step.kind === "text" && step.model) || ctx.body?.model || DEFAULT_MODEL,
    refusal: step.kind === "refusal" ? step.text : null,
    // Refusals and tool-only replies carry content null, as the real API does.
    content: step.kind === "refusal" || (step.kind === "tool-calls" && !step.text) ? null : text,
    calls,
    finishReason,
    usage: {
      prompt_tokens: u.input + u.cacheRead,
      completion_tokens: u.output,
      total_tokens: u.input + u.cacheRead + u.output,
      prompt_tokens_details: { cached_tokens: u.cacheRead, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: u.reasoning,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    },
  };
}

function completion(step: ContentStep, ctx: RouteContext) {
  const r = reply(step, ctx);
  const toolCalls = r.calls.map((c) => ({
    id: c.id,
    type: "function",
    function: { name: c.name, arguments: c.args },
  }));
  return {
    id: r.id,
    object: "chat.completion",
    created: r.created,
    model: r.model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: r.content,
          refusal: r.refusal,
          annotations: [],
          ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: r.finishReason,
      },
    ],
    usage: r.usage,
    service_tier: "default",
    system_fingerprint: "fp_fake",
  };
}

function completionChunks(step: ContentStep, ctx: RouteContext): SseEvent[] {
  const r = reply(step, ctx);
  const includeUsage = ctx.body?.stream_options?.include_usage === true;
  // With include_usage every chunk carries `usage: null`; without it the key is absent.
  const chunk = (choices: unknown[], usage: unknown = null) => ({
    id: r.id,
    object: "chat.completion.chunk",
    created: r.created,
    model: r.model,
    service_tier: "default",
    system_fingerprint: "fp_fake",
    choices,
    ...(includeUsage ? { usage } : {}),
  });
  const choice = (delta: unknown, finishReason: string | null = null) => [
    { index: 0, delta, logprobs: null, finish_reason: finishReason },
  ];
  const toolHeader = (c: (typeof r.calls)[number], index: number) => ({
    index,
    id: c.id,
    type: "function",
    function: { name: c.name, arguments: "" },
  });

  const events: SseEvent[] = [];
  const firstCall = r.calls[0];
  if (step.kind === "refusal") {
    events.push({ data: chunk(choice({ role: "assistant", content: null, refusal: "" })) });
    for (const w of splitWords(r.refusal ?? ""))
      events.push({ data: chunk(choice({ refusal: w })), delta: true });
  } else if (firstCall && r.content === null) {
    // A tool-only reply opens with the role and the first call's header in one chunk.
    events.push({
      data: chunk(
        choice({ role: "assistant", content: null, tool_calls: [toolHeader(firstCall, 0)], refusal: null }),
      ),
    });
  } else {
    events.push({ data: chunk(choice({ role: "assistant", content: "", refusal: null })) });
    for (const w of splitWords(r.content ?? ""))
      events.push({ data: chunk(choice({ content: w })), delta: true });
  }
  r.calls.forEach((c, index) => {
    const headerSent = c === firstCall && r.content === null;
    if (!headerSent) events.push({ data: chunk(choice({ tool_calls: [toolHeader(c, index)] })) });
    for (const part of splitFragments(c.args)) {
      events.push({
        data: chunk(choice({ tool_calls: [{ index, function: { arguments: part } }] })),
        delta: true,
      });
    }
  });
  events.push({ data: chunk(choice({}, r.finishReason)) });
  if (includeUsage) events.push({ data: chunk([], r.usage) });
  events.push({ data: "[DONE]" });
  return events;
}

/** Deterministic unit vectors: the same text always maps to the same direction. */
function embeddings(_step: ContentStep, ctx: RouteContext) {
  const raw = ctx.body?.input;
  const inputs: string[] = (Array.isArray(raw) ? raw : [raw]).map((x) =>
    typeof x === "string" ? x : JSON.stringify(x),
  );
  // The SDK asks for base64 (little-endian float32) unless the caller chose a format.
  const base64 = ctx.body?.encoding_format === "base64";
  const tokens = inputs.reduce((n, text) => n + Math.ceil(text.length / 4), 0);
  return {
    object: "list",
    data: inputs.map((text, index) => {
      const vector = embed(text);
      return {
        object: "embedding",
        index,
        embedding: base64 ? Buffer.from(new Float32Array(vector).buffer).toString("base64") : vector,
      };
    }),
    model: ctx.body?.model ?? "text-embedding-3-small",
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

export function embed(text: string): number[] {
  const digest = createHash("sha256").update(text).digest();
  const raw = Array.from(
    { length: EMBEDDING_DIMENSIONS },
    (_, i) => digest.readInt16LE(i * 2) / 32768 || 1e-3,
  );
  const norm = Math.hypot(...raw);
  return raw.map((x) => x / norm);
}

function errorBody({ status, message, errorType }: ErrorStep) {
  const [type, code] =
    status === 429
      ? ["rate_limit_exceeded", "rate_limit_exceeded"]
      : status === 401
        ? ["invalid_request_error", "invalid_api_key"]
        : status >= 500
          ? ["server_error", null]
          : ["invalid_request_error", null];
  return {
    error: { message: message ?? defaultMessage(status), type: errorType ?? type, param: null, code },
  };
}

function defaultMessage(status: number): string {
  if (status === 429) return "Rate limit reached for requests. Please try again later.";
  if (status >= 500) return "The server had an error while processing your request. Sorry about that!";
  return `Fake error ${status}`;
}
