/**
 * A host middleware: logs each request's latency, time to first event (for
 * streams), final usage and number of provider calls, and keeps the same
 * record on typed context state. It never needs to know whether the call
 * streamed: it reads `reply.completion`, and wraps `reply.events` only to
 * time the first event.
 *
 * In an application, import from "frugal-llm" and write
 * `declare module "frugal-llm"`; this file lives inside the repository, so it
 * imports the sources directly.
 */
import { eventsOver, type Middleware, type Reply, type StreamEvent, type Usage } from "../src/index.js";

/** What one request cost in time and tokens, as seen from this middleware. */
export interface CallLog {
  requestId: string;
  /** `metadata.tenant` of the request, when it has one. */
  tenant: string | undefined;
  /** `metadata.task` of the request, when it has one. */
  task: string | undefined;
  /** True when the caller asked for a stream (`llm.stream`, or `stream: true` through a wrapper). */
  streamed: boolean;
  /** Milliseconds from the request reaching this middleware to its final completion (or failure). */
  latencyMs: number;
  /** Milliseconds to the first stream event; `undefined` when no event stream was read. */
  firstEventMs: number | undefined;
  /** `provider:model` that answered; `undefined` when the call failed. */
  model: string | undefined;
  /** The final usage; `undefined` when the call failed. */
  usage: Usage | undefined;
  /** Provider calls made for this request so far (retries and side calls included). */
  attempts: number;
  /** The error's class name (`RateLimitError`, ...) when the call failed. */
  error: string | undefined;
}

declare module "../src/index.js" {
  interface ContextState {
    /** Set by `latencyAndUsageLog` once the request has finished. */
    callLog?: CallLog;
  }
}

export interface LatencyAndUsageLogOptions {
  /**
   * Called once per request, after it succeeded or failed. Runs on the
   * request's path: keep it fast (push to a queue, bump a metric). If it
   * throws, the error goes to the client's logger and the call is unaffected.
   */
  onLog: (log: CallLog) => void;
}

/**
 * Records latency, time to first event, usage and attempt count for every
 * request into `ctx.state.callLog` (so it is also on `completion.meta.state`)
 * and hands it to `options.onLog`. List it first to measure everything the
 * other middleware add.
 *
 * @example
 * const llm = createClient({
 *   providers: { openai: openai(new OpenAI()) },
 *   middleware: [latencyAndUsageLog({ onLog: (log) => metrics.record(log) })],
 * });
 */
export function latencyAndUsageLog(options: LatencyAndUsageLogOptions): Middleware {
  if (typeof options?.onLog !== "function") {
    throw new TypeError("latencyAndUsageLog: options.onLog must be a function");
  }
  return {
    name: "latency-and-usage-log",
    async handle(ctx, next) {
      const startedAt = ctx.clock.now();
      let firstEventMs: number | undefined;

      const record = (outcome: { model?: string; usage?: Usage; error?: unknown }): void => {
        const log: CallLog = {
          requestId: ctx.id,
          tenant: ctx.request.metadata?.tenant,
          task: ctx.request.metadata?.task,
          streamed: ctx.request.stream === true,
          latencyMs: ctx.clock.now() - startedAt,
          firstEventMs,
          model: outcome.model,
          usage: outcome.usage,
          attempts: ctx.attempts.length,
          error: outcome.error === undefined ? undefined : errorName(outcome.error),
        };
        ctx.state.callLog = log;
        try {
          options.onLog(log);
        } catch (error) {
          ctx.services.log.error("latencyAndUsageLog: onLog threw", { error });
        }
      };

      let reply: Reply;
      try {
        reply = await next(ctx);
      } catch (error) {
        record({ error });
        throw error;
      }

      // The completion settles once the call is over, streamed or not.
      const completion = reply.completion.then(
        (c) => {
          record({ model: `${c.provider}:${c.model}`, usage: c.usage });
          return c;
        },
        (error: unknown) => {
          record({ error });
          throw error;
        },
      );
      // Nobody may await this copy (a caller that only reads the events):
      // that must not become an unhandled rejection.
      completion.catch(() => {});

      if (!reply.events) return { completion };
      // eventsOver: read once, and closing the stream unread closes the one below too.
      const timed = timeFirstEvent(reply.events, () => {
        firstEventMs ??= ctx.clock.now() - startedAt;
      });
      return { completion, events: eventsOver(timed, reply.events) };
    },
  };
}

/** Passes every event through unchanged and calls `onFirst` before the first one. */
async function* timeFirstEvent(
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

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
