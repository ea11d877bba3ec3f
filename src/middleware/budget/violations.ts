import { LRUCache } from "lru-cache";
import type { RequestContext } from "../../core/context.js";
import type { ChatRequest } from "../../core/request.js";
import { BudgetExceededError } from "./errors.js";
import type { AppliedLimit } from "./spend.js";
import type { SpendOutcome } from "./state.js";
import type { TaskPolicyOutcome } from "./task-policy.js";

/** Budget events of one task since the middleware was created, for reports. */
export interface TaskViolations {
  /** Over `inputMax` and refused (overflow `reject`, or nothing could be dropped to fit). */
  inputRejected: number;
  /** Over `inputMax` and truncated, summarized or deferred. */
  truncated: number;
  summarized: number;
  deferred: number;
  /** `outputMax` could not hold the request's reasoning budget. */
  outputRejected: number;
  /** Refused by a spend limit. */
  spendRefused: number;
  /** Sent to the cheaper `degrade` model. */
  degraded: number;
}

/** The key of requests without a task, and of tasks beyond `MAX_TASKS`. */
export const NO_TASK = "(none)";
export const OTHER_TASKS = "(other)";
/** Task names come from requests: bounded, so a caller cannot grow the table without end. */
const MAX_TASKS = 1_000;

export class ViolationCounts {
  readonly #byTask = new Map<string, TaskViolations>();

  add(task: string | undefined, kind: keyof TaskViolations): void {
    let key = task ?? NO_TASK;
    if (!this.#byTask.has(key) && this.#byTask.size >= MAX_TASKS) key = OTHER_TASKS;
    let counts = this.#byTask.get(key);
    if (!counts) {
      counts = {
        inputRejected: 0,
        truncated: 0,
        summarized: 0,
        deferred: 0,
        outputRejected: 0,
        spendRefused: 0,
        degraded: 0,
      };
      this.#byTask.set(key, counts);
    }
    counts[kind]++;
  }

  snapshot(): Record<string, TaskViolations> {
    return Object.fromEntries([...this.#byTask].map(([task, counts]) => [task, { ...counts }]));
  }
}

/**
 * The budget's reports: violation counts by task, and the events that go
 * with them (refusals, overflow actions, degraded mode, soft-limit alerts,
 * once per scope and window per process).
 */
export class BudgetReports {
  readonly counts = new ViolationCounts();
  /** Soft-limit alerts already sent; bounded. */
  readonly #alerted = new LRUCache<string, true>({ max: 10_000 });

  refused(ctx: RequestContext, error: BudgetExceededError): void {
    const kind =
      error.kind === "spend" ? "spendRefused" : error.kind === "input" ? "inputRejected" : "outputRejected";
    this.counts.add(error.task, kind);
    ctx.services.events.emit("budget-exceeded", {
      requestId: ctx.id,
      kind: error.kind,
      task: error.task,
      ...(error.scope !== undefined && { scope: error.scope }),
      limit: error.limit,
      estimate: error.estimate,
    });
  }

  overflow(ctx: RequestContext, outcome: TaskPolicyOutcome): void {
    if (outcome.action === "none") return;
    this.counts.add(outcome.task, outcome.action);
    ctx.services.events.emit("budget-overflow", {
      requestId: ctx.id,
      task: outcome.task,
      action: outcome.action,
      inputMax: outcome.inputMax!,
      inputTokens: outcome.inputTokens!,
      ...(outcome.inputTokensAfter !== undefined && { inputTokensAfter: outcome.inputTokensAfter }),
    });
  }

  /** A spend refusal, counted and reported, ready to throw. */
  spendRefusal(
    ctx: RequestContext,
    task: string | undefined,
    refused: { limit: AppliedLimit; settledMicros: number; heldMicros: number },
    amountMicros: number,
  ): BudgetExceededError {
    const { limit, settledMicros, heldMicros } = refused;
    const error = new BudgetExceededError({
      kind: "spend",
      task,
      scope: nameOf(limit),
      limit: limit.limitMicros / 1e6,
      estimate: amountMicros / 1e6,
      spentUsd: (settledMicros + heldMicros) / 1e6,
    });
    this.refused(ctx, error);
    return error;
  }

  /** Sends the request to the cheaper model (degraded mode), recorded as a route decision. */
  degrade(
    ctx: RequestContext,
    request: ChatRequest,
    state: SpendOutcome,
    to: string,
    limit: AppliedLimit,
    reason: "soft-limit" | "limit",
  ): ChatRequest {
    const scope = nameOf(limit);
    state.degraded = { from: request.model, to, reason };
    const why = reason === "limit" ? "limit" : "soft limit";
    ctx.state.route = { model: to, tier: "degraded", reason: `budget: ${scope} ${why}` };
    this.counts.add(request.metadata?.task, "degraded");
    ctx.services.events.emit("budget-degraded", {
      requestId: ctx.id,
      scope,
      from: request.model,
      to,
      reason,
    });
    return { ...request, model: to };
  }

  softLimit(ctx: RequestContext, limit: AppliedLimit, windows: SpendOutcome["windows"]): void {
    const key = `${limit.scope}\u0000${limit.window.id}`;
    if (this.#alerted.has(key)) return;
    this.#alerted.set(key, true);
    const scope = nameOf(limit);
    ctx.services.events.emit("budget-soft-limit", {
      requestId: ctx.id,
      scope,
      softLimitUsd: limit.softMicros! / 1e6,
      limitUsd: limit.limitMicros / 1e6,
      spentUsd: windows.find((w) => w.scope === scope)?.spentUsd ?? 0,
    });
  }
}

/** `tenant:acme:day`: a limit's scope and window, as errors, events and state name it. */
export function nameOf(limit: AppliedLimit): string {
  return `${limit.scope}:${limit.window.label}`;
}
