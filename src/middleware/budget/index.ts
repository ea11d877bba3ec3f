import type { RequestContext } from "../../core/context.js";
import type { Middleware, Next } from "../../core/middleware.js";
import { parseOptions } from "../../core/options.js";
import type { Reply } from "../../core/reply.js";
import type { ChatRequest } from "../../core/request.js";
import { memoryCounters } from "../../storage/memory/counters.js";
import { estimationRef } from "../compaction/index.js";
import { RollingSummarizer } from "../compaction/summary.js";
import { BudgetExceededError } from "./errors.js";
import { applicableLimits, positionOf } from "./limits.js";
import { type BudgetOptions, optionsSchema, type ResolvedPolicy } from "./options.js";
import { type AppliedLimit, SpendGuard } from "./spend.js";
import type { SpendOutcome } from "./state.js";
import { applyTaskPolicy } from "./task-policy.js";
import { BudgetReports, nameOf, type TaskViolations } from "./violations.js";
import { WindowClock } from "./windows.js";
import { attemptsUsd, largestOutput, toMicros, WorstCasePricer } from "./worst-case.js";

export { BudgetError, BudgetExceededError, BudgetUnavailableError, BudgetUnpricedError } from "./errors.js";
export type {
  BudgetOptions,
  Overflow,
  SpendLimit,
  SpendScope,
  TaskPolicy,
} from "./options.js";
export type { SpendOutcome, SpendWindowStatus } from "./state.js";
export type { TaskPolicyOutcome } from "./task-policy.js";
export type { TaskViolations } from "./violations.js";
export type { WindowSpec } from "./windows.js";
export type { CeilingPrice } from "./worst-case.js";

/** The budget middleware, with its violation counts. */
export interface Budget extends Middleware {
  /** Refusals, truncations, summaries, deferrals and degradations by task since creation (`(none)`: no task). */
  violations(): Record<string, TaskViolations>;
}

/**
 * Budgets per request and spend limits per tenant, user or key.
 *
 * Per request, a task's policy caps the estimated input (`inputMax`, with an
 * overflow action: truncate, summarize, reject, defer) and the output
 * (`outputMax`). Per scope, spend limits over a day, a month (in
 * `timeZone`) or the last N hours are enforced by reserve then settle:
 * before the call the worst case (input bound + `maxOutputTokens` at the
 * model's dearest input rate) is reserved atomically and the call refused
 * if that would cross a limit; after it the actual cost is settled and the
 * rest released. A reservation whose process died expires. Refusals are
 * typed (`BudgetExceededError`) and made before any provider call.
 *
 * List it after `costTracker` (which then records refusals) and before the
 * caches and the router (which reads `ctx.state.budget`).
 *
 * @example
 * const spend = budget({
 *   tasks: { chat: { inputMax: 8_000, outputMax: 1_000, overflow: "truncate" } },
 *   limits: [{ scope: "tenant", window: "day", limitUsd: 5, softLimitUsd: 4 }],
 *   counters: redisCounters({ client: redis }),
 *   timeZone: "Europe/Paris",
 *   degrade: { model: "openai:gpt-4o-mini" },
 * });
 * const llm = createClient({ providers, middleware: [costTracker(), spend, exactCache(...)] });
 */
export function budget(options: BudgetOptions = {}): Budget {
  const o = parseOptions(optionsSchema, options, "budget");
  const limits = options.limits ?? [];
  const tokens = options.tokens; // undefined: the client's estimator, per request
  const guard = new SpendGuard(options.counters ?? memoryCounters(), {
    policy: o.onStoreError,
    timeoutMs: o.storeTimeoutMs,
    retryMs: o.storeRetryMs,
    holdTtlMs: o.holdTtlMs,
  });
  const clock = new WindowClock(o.timeZone);
  const summarizer = o.summarizer && new RollingSummarizer(o.summarizer, "budget-summary");
  const reports = new BudgetReports();
  const ceiling = o.ceilingPriceUsdPerMTok;
  const pricer = new WorstCasePricer(
    { reserveInput: o.reserveInput, ceiling, priceAutoAs: o.priceAutoAs, summarizer: o.summarizer },
    tokens,
  );
  const output = WorstCasePricer.output;

  function policyOf(request: ChatRequest): ResolvedPolicy | undefined {
    const task = request.metadata?.task;
    return (task !== undefined && Object.hasOwn(o.tasks, task) ? o.tasks[task] : undefined) ?? o.defaultTask;
  }

  async function withPolicy(
    ctx: RequestContext,
    request: ChatRequest,
    policy: ResolvedPolicy,
  ): Promise<ChatRequest> {
    try {
      const result = await applyTaskPolicy(ctx, request, policy, {
        tokens: tokens ?? ctx.services.tokens,
        ref: estimationRef(ctx, request.model === "auto" ? (o.priceAutoAs ?? "auto") : request.model),
        summarizer,
        onSummaryError: (error) => {
          const message = "budget: the summary could not be written; the request is truncated instead";
          ctx.services.log.warn(message, { requestId: ctx.id, error });
          ctx.services.events.emit("warning", { requestId: ctx.id, code: "budget-summary-failed", message });
        },
      });
      ctx.state.budgetPolicy = result.outcome;
      reports.overflow(ctx, result.outcome);
      return result.request;
    } catch (error) {
      if (error instanceof BudgetExceededError) reports.refused(ctx, error);
      throw error;
    }
  }

  /**
   * Reserves the request's worst case under every applicable limit (trying
   * the `degrade` model, then a smaller `maxOutputTokens`, before refusing),
   * sends it on, and settles its actual cost when it ends. With
   * `summarizing`, the task policy runs after the reservation, which then
   * covers the summary call too.
   */
  async function spend(
    ctx: RequestContext,
    next: Next,
    request: ChatRequest,
    applied: AppliedLimit[],
    first: number,
    summarizing?: ResolvedPolicy,
  ): Promise<Reply> {
    if (request.maxOutputTokens === undefined) {
      // The key leads, then is set: a spread extended with a new key gets a
      // hidden class of its own per call on Node 20 (docs/decisions.md (u)).
      request = { maxOutputTokens: o.defaultMaxOutputTokens, ...request };
      request.maxOutputTokens = o.defaultMaxOutputTokens;
    }
    const groups = SpendGuard.group(applied);
    let ref = pricer.model(ctx, request.model);
    let input = await pricer.inputTokens(ctx, request, ref);
    const extra = summarizing ? pricer.summaryMicros(ctx, request, input) : 0;
    let amount = extra + pricer.micros(ctx, ref, input, output(request));
    let outcome = await guard.reserve(ctx, groups, amount);
    const state: SpendOutcome = { reservedUsd: 0, windows: [] };

    if (!outcome.ok && o.degrade && request.model !== o.degrade.model) {
      const cheaper = ctx.services.resolveModel(o.degrade.model);
      const cheaperInput = await pricer.inputTokens(ctx, request, cheaper);
      const cheaperAmount = extra + pricer.micros(ctx, cheaper, cheaperInput, output(request));
      const retry = await guard.reserve(ctx, groups, cheaperAmount);
      if (retry.ok) {
        request = reports.degrade(ctx, request, state, o.degrade.model, outcome.refused.limit, "limit");
        [ref, input, amount] = [cheaper, cheaperInput, cheaperAmount];
      }
      outcome = retry;
    }
    if (!outcome.ok && o.shrinkOutput) {
      const room = outcome.remainingMicros - extra;
      const fits = largestOutput(request.maxOutputTokens!, (n) => pricer.micros(ctx, ref, input, n) <= room);
      if (fits >= o.shrinkOutput.minTokens && fits > (request.reasoning?.budgetTokens ?? 0)) {
        const smaller = extra + pricer.micros(ctx, ref, input, fits);
        const retry = await guard.reserve(ctx, groups, smaller);
        if (retry.ok) {
          const from = request.maxOutputTokens!;
          state.shrunkMaxOutputTokens = { from, to: fits };
          const scope = nameOf(outcome.refused.limit);
          ctx.services.events.emit("budget-output-shrunk", { requestId: ctx.id, scope, from, to: fits });
          request = { ...request, maxOutputTokens: fits };
          amount = smaller;
        }
        outcome = retry;
      }
    }
    if (!outcome.ok) throw reports.spendRefusal(ctx, request.metadata?.task, outcome.refused, amount);

    const { reservation } = outcome;
    const actualUsd = () => attemptsUsd(ctx.attempts.slice(first), ceiling, amount / 1e6);
    if (summarizing) {
      try {
        request = await withPolicy(ctx, request, summarizing);
      } catch (error) {
        await guard.settle(ctx, reservation, toMicros(actualUsd()));
        throw error;
      }
    }
    const position = positionOf(groups, reservation.results, amount);
    const unreserved = reservation.results.some((r) => r === undefined);
    state.reservedUsd = unreserved ? 0 : amount / 1e6;
    state.windows = position.windows;
    if (unreserved) state.unreserved = true;
    ctx.state.spend = state;
    if (position.status) ctx.state.budget = position.status;
    for (const limit of position.overSoft) reports.softLimit(ctx, limit, position.windows);
    const soft = position.overSoft[0];
    const model = request.model;
    if (soft && o.degrade && model !== "auto" && model !== o.degrade.model && !state.degraded) {
      request = reports.degrade(ctx, request, state, o.degrade.model, soft, "soft-limit");
    }

    let settled: Promise<void> | undefined;
    const settle = () => {
      settled ??= (async () => {
        const usd = actualUsd();
        const micros = toMicros(usd);
        state.settledUsd = usd;
        if (micros > amount) {
          const payload = { requestId: ctx.id, reservedUsd: amount / 1e6, actualUsd: usd };
          ctx.services.events.emit("budget-overrun", payload);
        }
        await guard.settle(ctx, reservation, micros);
      })();
      return settled;
    };
    let reply: Reply;
    try {
      reply = await next({ ...ctx, request });
    } catch (error) {
      await settle();
      throw error;
    }
    const completion = reply.completion.then(
      async (c) => {
        await settle();
        return c;
      },
      async (error: unknown) => {
        await settle();
        throw error;
      },
    );
    completion.catch(() => {});
    return reply.events ? { completion, events: reply.events } : { completion };
  }

  return {
    name: "budget",
    async handle(ctx, next) {
      const first = ctx.attempts.length;
      const policy = policyOf(ctx.request);
      const applied = applicableLimits(ctx, limits, clock, ctx.clock.now());
      if (applied.length > 0 && policy?.overflow === "summarize" && policy.inputMax !== undefined) {
        // The summary's cost must be reserved before it is made: the policy runs after the reservation.
        return spend(ctx, next, ctx.request, applied, first, policy);
      }
      const request = policy ? await withPolicy(ctx, ctx.request, policy) : ctx.request;
      if (applied.length === 0) return next(request === ctx.request ? ctx : { ...ctx, request });
      return spend(ctx, next, request, applied, first);
    },
    violations: () => reports.counts.snapshot(),
  };
}
