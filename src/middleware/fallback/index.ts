import { LRUCache } from "lru-cache";
import { z } from "zod";
import type { Clock, RequestContext } from "../../core/context.js";
import { ConfigError, type FrugalError, ProviderError } from "../../core/errors.js";
import type { Middleware } from "../../core/middleware.js";
import { parseOptions } from "../../core/options.js";
import { resumableStream } from "../retry/resumable-stream.js";
import { BREAKER_DEFAULTS, type BreakerOptions, CircuitBreaker, type CircuitState } from "./breaker.js";
import { CostGuard, type CostGuardOptions } from "./cost-guard.js";
import { PriceOrder } from "./price-order.js";
import { type Candidate, FallbackRun } from "./run.js";

export type { BreakerOptions, CircuitState } from "./breaker.js";
export type { CostGuardOptions, Degrade, GuardRefusal } from "./cost-guard.js";
export { AllModelsFailedError, CircuitOpenError, CostGuardError, type ModelFailure } from "./errors.js";

declare module "../../core/events.js" {
  interface EventMap {
    /** `fallback` moves on to the next model of the chain. */
    fallback: { requestId: string; from: string; to: string; error: FrugalError };
    /** A model's circuit opened: calls skip it for `openMs`. `model` is `provider:model`. */
    "circuit-open": {
      requestId: string;
      model: string;
      /** Calls in the window when it opened (1 for a failed probe). */
      calls: number;
      failureRate: number;
      slowCallRate: number;
      /** When probes are let through (ms since the epoch, by the middleware's clock). */
      openUntil: number;
    };
    /** An open circuit lets probes through. */
    "circuit-half-open": { requestId: string; model: string };
    /** The probes succeeded: the model takes traffic again. */
    "circuit-close": { requestId: string; model: string };
    /** The cost guard refused an escalation; the request gets the degraded outcome. */
    "guard-engaged": {
      requestId: string;
      tenant: string | undefined;
      /** The model ref the request would have fallen back to. */
      model: string;
      scope: "overall" | "tenant";
      share: number;
      maxShare: number;
      degrade: "cheapest" | "error" | "custom";
    };
  }
}

export interface FallbackOptions {
  /**
   * The models to try, in order, after the one the request names (which is
   * always tried first, and not twice): model refs (`provider:model` or
   * aliases), or a function of the request that returns them. Every ref
   * must resolve to a configured provider; one that does not fails the
   * request with a `ConfigError`.
   */
  chain: readonly string[] | ((ctx: RequestContext) => readonly string[]);
  /**
   * Which failures move on to the next model, and count against a model's
   * circuit. Default: `ProviderError`s with `retryable` set (429, 408, 409,
   * 5xx, 529, connection resets, timeouts, a stream cut before any output):
   * failures another model can avoid. A 400 and the other 4xx blame the
   * request, which another model would refuse too; widen it to fail over a
   * 404 (a model this key cannot use), say. An `AbortedError` never fails
   * over.
   */
  fallbackOn?: (error: FrugalError) => boolean;
  /** A circuit breaker per `provider:model`; see `BreakerOptions` for the defaults. `false`: none. */
  breaker?: BreakerOptions | false;
  /** Caps the share of traffic that may escalate to a more expensive model. Default: no cap. */
  guard?: CostGuardOptions;
  /**
   * Whether `candidate` costs more than `primary` (the requested model),
   * both `provider:model`. Default: compares the price book's cost of 1M
   * input plus 1M output tokens; a model without a price counts as more
   * expensive.
   */
  isMoreExpensive?: (candidate: string, primary: string, ctx: RequestContext) => boolean;
  /** Time for the breakers and the guard. Default: the client's clock. */
  clock?: Clock;
}

/** The fallback middleware, with a view of its circuits. */
export interface Fallback extends Middleware {
  /** Every circuit this instance knows (at most 1,000, least recently used forgotten first), with its state now. */
  circuits(): { model: string; state: CircuitState }[];
}

const rate = z.number().gt(0).max(1);
const positive = z.union([z.number().positive(), z.literal(Number.POSITIVE_INFINITY)]);
const optionsSchema = z
  .object({
    chain: z.union([z.array(z.string().min(1)).readonly(), z.function()]),
    fallbackOn: z.function().optional(),
    breaker: z
      .union([
        z.literal(false),
        z
          .object({
            failureRate: rate.optional(),
            slowCallMs: positive.optional(),
            slowCallRate: rate.optional(),
            minCalls: z.number().int().min(1).optional(),
            windowMs: z.number().positive().optional(),
            openMs: z.number().positive().optional(),
            halfOpenProbes: z.number().int().min(1).optional(),
          })
          .strict(),
      ])
      .optional(),
    guard: z
      .object({
        maxShare: z.number().min(0).max(1),
        windowMs: z.number().positive().optional(),
        perTenant: z.boolean().optional(),
        critical: z.function().optional(),
        degrade: z.union([z.enum(["cheapest", "error"]), z.function()]).optional(),
      })
      .strict()
      .optional(),
    isMoreExpensive: z.function().optional(),
    clock: z
      .custom<Clock>((c) => typeof (c as Clock)?.now === "function", "expected { now(): number }")
      .optional(),
  })
  .strict();

const MAX_CIRCUITS = 1_000;

/**
 * Falls back along an ordered chain of models when a call fails in a way
 * another model can avoid, skipping models whose circuit breaker is open,
 * with an optional cost guard that caps how much traffic may escalate to a
 * more expensive model. Each fallback call is recorded with `purpose:
 * "fallback"` and priced at its own model; when every model fails, an
 * `AllModelsFailedError` carries each model's error and every attempt.
 *
 * Breakers and guard counters live in this process: several instances of a
 * service each keep their own.
 *
 * List it after `costTracker` and before `retry`, so each model is retried
 * before the chain moves on.
 *
 * @example
 * const llm = createClient({
 *   providers: { openai: openai(new OpenAI()), anthropic: anthropic(new Anthropic()) },
 *   middleware: [
 *     costTracker(),
 *     fallback({ chain: ["anthropic:claude-haiku-4-5"], guard: { maxShare: 0.2 } }),
 *     retry(),
 *   ],
 * });
 */
export function fallback(options: FallbackOptions): Fallback {
  parseOptions(optionsSchema, options, "fallback");
  const breakerSettings = options.breaker === false ? undefined : { ...BREAKER_DEFAULTS, ...options.breaker };
  const circuits = new LRUCache<string, CircuitBreaker>({ max: MAX_CIRCUITS });
  const breakerFor = breakerSettings
    ? (key: string) => {
        let breaker = circuits.get(key);
        if (!breaker) {
          breaker = new CircuitBreaker(breakerSettings);
          circuits.set(key, breaker);
        }
        return breaker;
      }
    : undefined;
  const guardOptions = options.guard;
  const guard = guardOptions && {
    counter: new CostGuard(
      guardOptions.maxShare,
      guardOptions.windowMs ?? 900_000,
      guardOptions.perTenant ?? false,
    ),
    options: guardOptions,
  };
  const prices = new PriceOrder();
  const moreExpensive = (candidate: Candidate, primary: Candidate, ctx: RequestContext) =>
    options.isMoreExpensive
      ? options.isMoreExpensive(candidate.key, primary.key, ctx)
      : prices.moreExpensive(ctx.services.prices, candidate, primary);
  const fallsOver =
    options.fallbackOn ?? ((error: FrugalError) => error instanceof ProviderError && error.retryable);
  const deps = {
    clock: options.clock,
    breakerFor,
    slowCallMs: breakerSettings?.slowCallMs ?? Number.POSITIVE_INFINITY,
    guard,
    fallsOver,
    moreExpensive,
    cheapestFirst: (candidates: Candidate[], ctx: RequestContext) => {
      const price = (c: Candidate) => prices.probe(ctx.services.prices, c) ?? Number.POSITIVE_INFINITY;
      return [...candidates].sort((a, b) => price(a) - price(b));
    },
  };

  // The clock `circuits()` reads states by: the one the requests use.
  let lastClock: Clock = options.clock ?? Date;

  return {
    name: "fallback",
    async handle(ctx, next) {
      const candidates = candidatesOf(ctx, options.chain);
      lastClock = options.clock ?? ctx.clock;
      guard?.counter.countRequest(ctx.request.metadata?.tenant, lastClock.now(), ctx.attempts);
      const run = new FallbackRun(ctx, next, candidates, deps);
      const reply = await run.start();
      return reply.events ? resumableStream(reply, (error) => run.resume(error)) : reply;
    },
    circuits() {
      const now = lastClock.now();
      return [...circuits.entries()].map(([model, breaker]) => ({ model, state: breaker.state(now) }));
    },
  };
}

/** The requested model, then the chain, resolved, each `provider:model` once. */
function candidatesOf(ctx: RequestContext, chain: FallbackOptions["chain"]): Candidate[] {
  const refs = typeof chain === "function" ? chain(ctx) : chain;
  if (!Array.isArray(refs) || refs.some((r) => typeof r !== "string" || r === "")) {
    throw new ConfigError("fallback: options.chain must give an array of model refs");
  }
  // The requested model resolves as the dispatcher would, and fails the same way when it cannot.
  const first = ctx.services.resolveModel(ctx.request.model);
  const candidates: Candidate[] = [
    { ...first, ref: ctx.request.model, key: `${first.provider}:${first.model}` },
  ];
  const seen = new Set([candidates[0]!.key]);
  for (const [i, ref] of refs.entries()) {
    let resolved: ReturnType<typeof ctx.services.resolveModel>;
    try {
      resolved = ctx.services.resolveModel(ref);
    } catch (error) {
      throw new ConfigError(
        `fallback: options.chain[${i}] "${ref}" cannot be resolved: ${(error as Error).message}`,
      );
    }
    const key = `${resolved.provider}:${resolved.model}`;
    if (seen.has(key)) continue;
    seen.add(key);
    candidates.push({ ...resolved, ref, key });
  }
  return candidates;
}
