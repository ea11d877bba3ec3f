import { z } from "zod";
import type { StreamEvent } from "../../core/completion.js";
import type { RequestContext } from "../../core/context.js";
import type { CostRecord } from "../../core/cost-record.js";
import type { Logger } from "../../core/logger.js";
import type { Middleware } from "../../core/middleware.js";
import { parseOptions } from "../../core/options.js";
import { eventsOver, type Reply } from "../../core/reply.js";
import type { LedgerSink } from "../../storage/ledger.js";
import { LedgerWriter, type LedgerWriterOptions } from "../../storage/ledger-writer.js";
import { buildCostRecord } from "./record.js";

declare module "../../core/context.js" {
  interface ContextState {
    /** The request's cost record, set by `costTracker` when the request ends. */
    costRecord?: CostRecord;
  }
}

export interface CostTrackerOptions {
  /** Where records go, through a bounded buffer: writing never blocks or fails the LLM call. */
  ledger?: LedgerSink;
  /** Buffering of ledger writes (batch size, flush interval, bound). */
  writer?: Omit<LedgerWriterOptions, "onError">;
  /** Called synchronously with each record (alerts, metrics). A throw is reported, never propagated. */
  onRecord?: (record: CostRecord) => void;
  /** Receives ledger and hook errors. Default: the client's logger. */
  onError?: (error: unknown) => void;
  /**
   * The model the counterfactual "without frugal-llm" cost is priced at: a
   * model ref, or a function of the request (called when the request ends).
   * Default: the model the caller asked for; for `auto` or a host route, the
   * router's `baseline` (its costliest tier for the route). `false` disables it.
   */
  baseline?: string | false | ((ctx: RequestContext) => string | undefined);
  /** Keep the request's messages in the record. Default `false`: prompts are stored only when the host opts in. */
  storePrompts?: boolean;
}

const optionsSchema = z
  .object({
    ledger: z
      .custom<LedgerSink>((s) => typeof (s as LedgerSink)?.write === "function", "expected a LedgerSink")
      .optional(),
    writer: z.record(z.string(), z.unknown()).optional(),
    onRecord: z.function().optional(),
    onError: z.function().optional(),
    baseline: z.union([z.string().min(1), z.literal(false), z.function()]).optional(),
    storePrompts: z.boolean().optional(),
  })
  .strict();

/** The cost tracker middleware, with a handle on its ledger buffer. */
export interface CostTracker extends Middleware {
  /** Resolves once every record so far is written to the ledger. */
  flush(): Promise<void>;
  /** Flushes and stops the ledger buffer. */
  close(): Promise<void>;
  /** Ledger buffer counters: buffered, written, dropped, failed writes. */
  stats(): ReturnType<LedgerWriter["stats"]> | undefined;
}

/**
 * Records one `CostRecord` per request (cache hits and failures included):
 * usage by bucket, cost with its price source, every attempt, the
 * counterfactual baseline and the savings. The record is on
 * `completion.meta.state.costRecord`, goes to the ledger and to `onRecord`.
 * List it first so it sees every attempt the other middleware make.
 *
 * @example
 * const tracker = costTracker({ ledger: jsonlLedger({ path: "costs.jsonl" }) });
 * const llm = createClient({ providers, middleware: [tracker, exactCache()] });
 */
export function costTracker(options: CostTrackerOptions = {}): CostTracker {
  parseOptions(optionsSchema, options, "costTracker");
  const storePrompts = options.storePrompts ?? false;
  let log: Logger | undefined;
  const reportError = (error: unknown) =>
    options.onError
      ? options.onError(error)
      : log?.error("costTracker: a record could not be handled", { error });
  const writer = options.ledger
    ? new LedgerWriter(options.ledger, { ...options.writer, onError: (error) => reportError(error) })
    : undefined;

  const baselineOf = (ctx: RequestContext): string | undefined => {
    const b = options.baseline;
    if (b === false) return undefined;
    if (typeof b === "function") return b(ctx);
    return b ?? ctx.state.route?.baseline ?? (ctx.request.model === "auto" ? undefined : ctx.request.model);
  };

  function settle(
    ctx: RequestContext,
    outcome: Omit<Parameters<typeof buildCostRecord>[0], "baselineRef">,
  ): void {
    try {
      const record = buildCostRecord({ ...outcome, baselineRef: baselineOf(ctx) });
      ctx.state.costRecord = record;
      writer?.push(record);
      options.onRecord?.(record);
    } catch (error) {
      reportError(error);
    }
  }

  return {
    name: "costTracker",
    async handle(ctx, next): Promise<Reply> {
      log ??= ctx.services.log;
      const streamed = ctx.request.stream === true;
      const common = { ctx, streamed, storePrompts };
      let reply: Reply;
      try {
        reply = await next(ctx);
      } catch (error) {
        settle(ctx, { ...common, error, endedAt: ctx.clock.now() });
        throw error;
      }
      let firstEventAt: number | undefined;
      const completion = reply.completion.then(
        (c) => {
          settle(ctx, { ...common, completion: c, endedAt: ctx.clock.now(), firstEventAt });
          return c;
        },
        (error: unknown) => {
          settle(ctx, { ...common, error, endedAt: ctx.clock.now(), firstEventAt });
          throw error;
        },
      );
      completion.catch(() => {});
      if (!reply.events) return { completion };
      const source = reply.events;
      async function* timed(): AsyncGenerator<StreamEvent> {
        for await (const event of source) {
          if (firstEventAt === undefined && isContent(event)) firstEventAt = ctx.clock.now();
          yield event;
        }
      }
      return { completion, events: eventsOver(timed(), source) };
    },
    flush: async () => writer?.flush(),
    close: async () => writer?.close(),
    stats: () => writer?.stats(),
  };
}

/** The first token: the first event that carries output. */
function isContent(event: StreamEvent): boolean {
  return event.type !== "start" && event.type !== "usage";
}
