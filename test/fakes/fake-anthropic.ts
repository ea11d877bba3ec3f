// Fake Anthropic Messages API: /v1/messages (JSON and SSE), shaped after the types in
// node_modules/@anthropic-ai/sdk/resources/messages and the event order of the live API; Message
// Batches are in fake-anthropic-batch.ts.
import { createHash } from "node:crypto";
import { anthropicBatchEndpoints } from "./fake-anthropic-batch.js";
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

const DEFAULT_MODEL = "claude-sonnet-4-6";

type Block =
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: unknown }
  | { type: "thinking"; thinking: string; signature: string };

export function startFakeAnthropic(
  options: { defaultText?: (body: any) => string } = {},
): Promise<FakeServer> {
  return startFakeServer(
    {
      // The SDK appends /v1/messages to baseURL itself.
      basePath: "",
      requestIdHeader: "request-id",
      routes: { "POST /v1/messages": { consumesContentSteps: true, json: message, sse: messageEvents } },
      extensions: [anthropicBatchEndpoints({ answer: message, errorBody })],
      errorBody,
      // The SDK ignores SSE events without an event name, so the bad line must carry one.
      malformedEvent: {
        event: "content_block_delta",
        data: '{"type": "content_block_delta", "index": 0, "delta": {',
      },
    },
    options,
  );
}

/** Blocks, stop reason and usage for a step: the common ground of both response shapes. */
function reply(step: ContentStep, ctx: RouteContext) {
  const blocks: Block[] = [];
  if (step.kind === "thinking") {
    // Real signatures are opaque base64; a hash keeps the fake deterministic.
    const signature = createHash("sha256").update(step.thinking).digest("base64");
    blocks.push({ type: "thinking", thinking: step.thinking, signature });
  }
  if (step.kind !== "tool-calls" || step.text) blocks.push({ type: "text", text: step.text ?? "" });
  if (step.kind === "tool-calls") {
    for (const c of step.calls)
      blocks.push({ type: "tool_use", id: c.id ?? ctx.id("toolu_"), name: c.name, input: c.arguments });
  }
  const stopReason =
    step.kind === "tool-calls"
      ? "tool_use"
      : step.kind === "refusal"
        ? "refusal"
        : step.kind === "text"
          ? (step.finishReason ?? "end_turn")
          : "end_turn";
  const given: FakeUsage | undefined = "usage" in step ? step.usage : undefined;
  const generated = blocks.map((b) =>
    b.type === "tool_use" ? `${b.name} ${JSON.stringify(b.input)}` : "text" in b ? b.text : "",
  );
  const u = resolveUsage(given, ctx.body, generated.join(" "), step.kind === "thinking" ? step.thinking : "");
  const inputUsage = {
    input_tokens: u.input,
    cache_creation_input_tokens: u.cacheWrite5m + u.cacheWrite1h,
    cache_read_input_tokens: u.cacheRead,
  };
  return {
    id: ctx.id("msg_"),
    model: (step.kind === "text" && step.model) || ctx.body?.model || DEFAULT_MODEL,
    blocks,
    stopReason,
    // Only refusals report structured stop details.
    stopDetails:
      step.kind === "refusal" ? { stop_details: { type: "refusal", category: null, explanation: null } } : {},
    inputUsage,
    usage: {
      ...inputUsage,
      cache_creation: {
        ephemeral_5m_input_tokens: u.cacheWrite5m,
        ephemeral_1h_input_tokens: u.cacheWrite1h,
      },
      output_tokens: u.output,
      service_tier: "standard",
    },
  };
}

function message(step: ContentStep, ctx: RouteContext) {
  const r = reply(step, ctx);
  return {
    id: r.id,
    type: "message",
    role: "assistant",
    model: r.model,
    content: r.blocks,
    stop_reason: r.stopReason,
    stop_sequence: null,
    ...r.stopDetails,
    usage: r.usage,
  };
}

function messageEvents(step: ContentStep, ctx: RouteContext): SseEvent[] {
  const r = reply(step, ctx);
  const ev = (type: string, data: object, delta = false): SseEvent => ({
    event: type,
    data: { type, ...data },
    delta,
  });
  const events: SseEvent[] = [
    ev("message_start", {
      message: {
        id: r.id,
        type: "message",
        role: "assistant",
        model: r.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        // The live API reports output_tokens 1 up front and the real count in message_delta.
        usage: { ...r.usage, output_tokens: 1 },
      },
    }),
    ev("ping", {}),
  ];
  r.blocks.forEach((block, index) => {
    const delta = (d: object) => ev("content_block_delta", { index, delta: d }, true);
    if (block.type === "text") {
      events.push(ev("content_block_start", { index, content_block: { type: "text", text: "" } }));
      for (const w of splitWords(block.text)) events.push(delta({ type: "text_delta", text: w }));
    } else if (block.type === "thinking") {
      events.push(
        ev("content_block_start", {
          index,
          content_block: { type: "thinking", thinking: "", signature: "" },
        }),
      );
      for (const w of splitWords(block.thinking)) events.push(delta({ type: "thinking_delta", thinking: w }));
      events.push(delta({ type: "signature_delta", signature: block.signature }));
    } else {
      const start = { type: "tool_use", id: block.id, name: block.name, input: {} };
      events.push(ev("content_block_start", { index, content_block: start }));
      // The live API opens every tool input with an empty partial_json.
      for (const part of ["", ...splitFragments(JSON.stringify(block.input))]) {
        events.push(delta({ type: "input_json_delta", partial_json: part }));
      }
    }
    events.push(ev("content_block_stop", { index }));
  });
  events.push(
    ev("message_delta", {
      delta: { stop_reason: r.stopReason, stop_sequence: null, ...r.stopDetails },
      // Cumulative totals; the SDK overwrites its snapshot with whichever are present.
      usage: { ...r.inputUsage, output_tokens: r.usage.output_tokens },
    }),
    ev("message_stop", {}),
  );
  return events;
}

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
};

function errorBody({ status, message, errorType }: ErrorStep, requestId: string) {
  const type = errorType ?? ERROR_TYPES[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
  return { type: "error", error: { type, message: message ?? defaultMessage(type) }, request_id: requestId };
}

function defaultMessage(type: string): string {
  if (type === "overloaded_error") return "Overloaded";
  if (type === "rate_limit_error") return "Number of request tokens has exceeded your per-minute rate limit";
  if (type === "api_error") return "Internal server error";
  return `Fake ${type}`;
}
