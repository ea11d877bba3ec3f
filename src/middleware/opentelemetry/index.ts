import type { Attributes, Meter, Span, SpanKind, SpanStatusCode, Tracer } from "@opentelemetry/api";
import { z } from "zod";
import type { Attempt, Completion, StreamEvent } from "../../core/completion.js";
import type { RequestContext } from "../../core/context.js";
import type { Middleware, Next } from "../../core/middleware.js";
import { parseOptions } from "../../core/options.js";
import { eventsOver, type Reply } from "../../core/reply.js";
import { billedTotals } from "../../pricing/rates.js";
import {
  ATTR,
  attemptAttributes,
  costAttributes,
  errorType,
  finishReason,
  OPERATION,
  requestAttributes,
  stateAttributes,
  usageAttributes,
} from "./attributes.js";
import { answerAttributes, promptAttributes } from "./messages.js";
import { GenAiMetrics } from "./metrics.js";
import { contextWithSpan } from "./parent-context.js";

export interface OpenTelemetryOptions {
  /**
   * The host's tracer, e.g. `trace.getTracer("my-service")`. Each request
   * gets a CLIENT span named `chat {model}` with a child span per provider
   * call. Omit it to record metrics only. The host registers the provider
   * and the exporter; this library never does.
   */
  tracer?: Tracer;
  /**
   * The host's meter, e.g. `metrics.getMeter("my-service")`, for the
   * `gen_ai.client.token.usage`, `gen_ai.client.operation.duration` and
   * `gen_ai.client.operation.time_to_first_chunk` histograms and the
   * `frugal.client.cost` counter. Omit it to record spans only. At least one
   * of `tracer` and `meter` is required.
   */
  meter?: Meter;
  /**
   * Record the prompt (`gen_ai.input.messages`, `gen_ai.system_instructions`)
   * and the answer (`gen_ai.output.messages`) on the request span, as JSON.
   * Default `false`: message text is personal data more often than not, and
   * never leaves the process through telemetry unless the host asks for it.
   * Inline image data is never recorded, even then.
   */
  recordPrompts?: boolean;
}

const optionsSchema = z
  .object({
    tracer: z
      .custom<Tracer>(
        (t) =>
          typeof (t as Tracer)?.startSpan === "function" &&
          typeof (t as Tracer)?.startActiveSpan === "function",
        'expected a Tracer from @opentelemetry/api, such as trace.getTracer("my-service")',
      )
      .optional(),
    meter: z
      .custom<Meter>(
        (m) =>
          typeof (m as Meter)?.createHistogram === "function" &&
          typeof (m as Meter)?.createCounter === "function",
        'expected a Meter from @opentelemetry/api, such as metrics.getMeter("my-service")',
      )
      .optional(),
    recordPrompts: z.boolean().optional(),
  })
  .strict()
  .refine((o) => o.tracer !== undefined || o.meter !== undefined, "give a tracer, a meter, or both");

// The API's enums are run-time values, and the API is imported for its types
// only; these numbers are the API's own, fixed since 1.0.
const CLIENT = 2 as SpanKind;
const ERROR = 2 as SpanStatusCode;

/**
 * Traces and measures every request with the OpenTelemetry GenAI semantic
 * conventions, through the tracer and meter the host passes in: one span per
 * request with a child span per provider call (retries, fallbacks and side
 * calls included), token usage, duration and cost metrics. List it first so
 * that its span covers everything the other middleware do.
 *
 * With a tracer that records nothing (no SDK registered, or a request
 * sampled out) and no meter, a call costs one no-op span and nothing else.
 *
 * @example
 * import { metrics, trace } from "@opentelemetry/api";
 * import { openTelemetry } from "frugal-llm/opentelemetry";
 *
 * const llm = createClient({
 *   providers: { openai: openai(new OpenAI()) },
 *   middleware: [
 *     openTelemetry({ tracer: trace.getTracer("my-service"), meter: metrics.getMeter("my-service") }),
 *   ],
 * });
 */
export function openTelemetry(options: OpenTelemetryOptions): Middleware {
  parseOptions(optionsSchema, options, "openTelemetry");
  const { tracer, recordPrompts = false } = options;
  const metrics = options.meter && new GenAiMetrics(options.meter);

  async function observe(ctx: RequestContext, next: Next, call: CallStart, span?: Span): Promise<Reply> {
    // A span that records nothing (no SDK, or sampled out) gets no attributes and no children.
    const recording = span?.isRecording() ? span : undefined;
    if (!recording && !metrics) {
      span?.end();
      return next(ctx);
    }
    const firstAttempt = ctx.attempts.length;
    let firstChunkAt: number | undefined;
    if (recording) {
      recording.setAttributes(requestAttributes(ctx));
      if (recordPrompts) recording.setAttributes(promptAttributes(ctx.request));
    }

    const finish = (outcome: { completion: Completion } | { error: unknown }): void => {
      try {
        const endedAt = ctx.clock.now();
        // Only the calls made inside this middleware: an outer layer's calls are not this span's.
        const attempts = ctx.attempts.slice(firstAttempt);
        const completion = "completion" in outcome ? outcome.completion : undefined;
        const providerKey = completion?.provider ?? attempts.at(-1)?.provider ?? call.provider;
        const state = ctx.state;

        // What the duration metric and the request span share.
        const common: Attributes = { [ATTR.operationName]: OPERATION, [ATTR.requestModel]: call.model };
        if (providerKey !== undefined) common[ATTR.providerName] = providerName(ctx, providerKey);
        if (completion) common[ATTR.responseModel] = completion.model;
        if ("error" in outcome) common[ATTR.errorType] = errorType(outcome.error);
        if (state.cache) common[ATTR.cacheStatus] = state.cache.status;

        const s = recording;
        if (s) {
          const { usage, cost } = billedTotals(attempts);
          s.setAttributes({
            ...common,
            ...usageAttributes(usage),
            ...costAttributes(cost),
            ...stateAttributes(state),
            [ATTR.attempts]: attempts.length,
          });
          if (completion) {
            s.setAttribute(ATTR.responseId, completion.id);
            s.setAttribute(ATTR.responseFinishReasons, [finishReason(completion.finishReason)]);
            if (recordPrompts) s.setAttributes(answerAttributes(completion));
          }
          if (firstChunkAt !== undefined) {
            s.setAttribute(ATTR.responseTimeToFirstChunk, (firstChunkAt - call.startedAt) / 1000);
          }
          for (const attempt of attempts) attemptSpan(tracer!, s, ctx, attempt, endedAt);
          if ("error" in outcome) s.setStatus({ code: ERROR, message: errorMessage(outcome.error) });
          s.end(endedAt);
        }
        if (metrics) {
          const ttfc = firstChunkAt === undefined ? undefined : (firstChunkAt - call.startedAt) / 1000;
          metrics.request(common, (endedAt - call.startedAt) / 1000, ttfc);
          for (const attempt of attempts) metrics.attempt(attempt, providerName(ctx, attempt.provider));
        }
      } catch (error) {
        // Telemetry never fails a call.
        ctx.services.log.warn("openTelemetry: could not record a request's telemetry", { error });
      }
    };

    let reply: Reply;
    try {
      reply = await next(ctx);
    } catch (error) {
      finish({ error });
      throw error;
    }
    // Streamed or not, the completion settles once the call is over. This
    // branch handles its rejection; the caller still gets the same promise.
    reply.completion.then(
      (completion) => finish({ completion }),
      (error: unknown) => finish({ error }),
    );
    if (!reply.events) return reply;
    // Read once, like every reply stream: a second reader gets an error, not silence.
    const events = eventsOver(
      onFirstEvent(reply.events, () => {
        firstChunkAt ??= ctx.clock.now();
      }),
      reply.events,
    );
    return { completion: reply.completion, events };
  }

  return {
    name: "opentelemetry",
    handle(ctx, next) {
      const call = callStart(ctx);
      if (!tracer) return observe(ctx, next, call);
      const attributes: Attributes = { [ATTR.operationName]: OPERATION, [ATTR.requestModel]: call.model };
      if (call.provider !== undefined) attributes[ATTR.providerName] = providerName(ctx, call.provider);
      // Active while the layers below run, so spans the host's instrumentation
      // makes for the SDKs' HTTP calls nest under this request.
      return tracer.startActiveSpan(
        `${OPERATION} ${call.model}`,
        { kind: CLIENT, startTime: call.startedAt, attributes },
        (span) => observe(ctx, next, call, span),
      );
    },
  };
}

/** The model a request is for, as known when it starts. */
interface CallStart {
  startedAt: number;
  /** The provider key, when the model ref names or implies one. */
  provider: string | undefined;
  /** The provider's model name, or the ref itself (`auto`) when it does not resolve yet. */
  model: string;
}

function callStart(ctx: RequestContext): CallStart {
  const startedAt = ctx.clock.now();
  const ref = ctx.request.model;
  if (ref === "auto") return { startedAt, provider: undefined, model: ref };
  try {
    const { provider, model } = ctx.services.resolveModel(ref);
    return { startedAt, provider, model };
  } catch {
    // A router below may still rewrite the model; the dispatcher reports the error if not.
    return { startedAt, provider: undefined, model: ref };
  }
}

/** One provider call as a child span, made after the fact from its record. */
function attemptSpan(tracer: Tracer, parent: Span, ctx: RequestContext, attempt: Attempt, now: number): void {
  const attributes: Attributes = {
    [ATTR.operationName]: OPERATION,
    [ATTR.providerName]: providerName(ctx, attempt.provider),
    [ATTR.providerKey]: attempt.provider,
    [ATTR.requestModel]: attempt.model,
    ...attemptAttributes(attempt),
  };
  // A call still in flight when the request ended (a side call nobody awaited).
  if (attempt.status === "pending") attributes[ATTR.attemptPending] = true;
  const span = tracer.startSpan(
    `${OPERATION} ${attempt.model}`,
    { kind: CLIENT, startTime: attempt.startedAt, attributes },
    contextWithSpan(parent),
  );
  if (attempt.status === "error") span.setStatus({ code: ERROR, message: attempt.error?.message ?? "" });
  span.end(attempt.endedAt ?? now);
}

/** The conventions' provider name: the adapter's (`openai`), whatever key the host configured it under. */
function providerName(ctx: RequestContext, key: string): string {
  return ctx.services.providers.get(key)?.name ?? key;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Passes every event through unchanged and calls `onFirst` before the first one. */
async function* onFirstEvent(
  events: AsyncIterable<StreamEvent>,
  onFirst: () => void,
): AsyncGenerator<StreamEvent> {
  let first = true;
  for await (const event of events) {
    if (first) {
      first = false;
      onFirst();
    }
    yield event;
  }
}
