import { z } from "zod";
import { type AdmissionOptions, bypassReason } from "../../caching/admission.js";
import { scopedKey, tenantScope } from "../../caching/scope.js";
import type { RequestContext } from "../../core/context.js";
import type { Middleware } from "../../core/middleware.js";
import { parseOptions } from "../../core/options.js";
import { requestKey, resolvedModel } from "../exact-cache/request-key.js";
import { SingleFlight } from "../exact-cache/single-flight.js";

export interface DedupeOptions {
  /**
   * The coalescing key of a request, within its tenant: requests with equal
   * keys in flight at the same moment share one provider call. Return
   * `undefined` to never coalesce a request. Default: the exact cache's
   * request key (the whole request minus `metadata` and `stream`, model
   * resolved). The tenant scope is always added around it, so no key can
   * join two tenants' requests.
   */
  keyOf?: (ctx: RequestContext) => string | undefined;
  /**
   * Which requests may be coalesced; the same rules as the caches:
   * `metadata.cache: false` and a temperature above `maxTemperature`
   * (default 1) are never coalesced, nor conversations holding a result of
   * one of `sideEffectTools`.
   */
  admission?: Omit<AdmissionOptions, "shared">;
}

/** The dedupe middleware. */
export interface Dedupe extends Middleware {
  /** How many distinct requests have a call in flight now. */
  inFlight(): number;
}

const optionsSchema = z
  .object({
    keyOf: z.function().optional(),
    admission: z
      .object({
        maxTemperature: z.number().nonnegative().optional(),
        sideEffectTools: z.array(z.string()).readonly().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const PREFIX = "frugal:d";

/**
 * Request coalescing: identical requests of one tenant in flight at the same
 * moment share one provider call. The first leads and is answered as
 * usual; each of the others gets its own copy of the answer once it is
 * complete (replayed as a stream if it asked for one), makes no provider
 * call, costs $0 and records `cache: { status: "hit", kind: "dedupe",
 * saved }`. A failure of the shared call reaches every waiter. Nothing is
 * stored: once the call is over, the next identical request calls again.
 *
 * @example
 * const llm = createClient({ providers, middleware: [costTracker(), dedupe(), exactCache({ store })] });
 */
export function dedupe(options: DedupeOptions = {}): Dedupe {
  parseOptions(optionsSchema, options, "dedupe");
  const admission: AdmissionOptions = { ...options.admission, shared: false };
  const keyOf = options.keyOf ?? ((ctx: RequestContext) => requestKey(ctx.request, resolvedModel(ctx)));
  const flights = new SingleFlight();
  return {
    name: "dedupe",
    async handle(ctx, next) {
      const key = bypassReason(ctx.request, admission) === undefined ? keyOf(ctx) : undefined;
      if (key === undefined) {
        ctx.state.cache = { status: "bypass", kind: "dedupe" };
        return next(ctx);
      }
      ctx.state.cache = { status: "miss", kind: "dedupe" };
      return flights.run(scopedKey(PREFIX, tenantScope(ctx, false), key), ctx, async (leadCtx) => ({
        reply: await next(leadCtx),
        kind: "dedupe",
      }));
    },
    inFlight: () => flights.size,
  };
}
