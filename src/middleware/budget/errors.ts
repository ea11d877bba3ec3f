import { FrugalError } from "../../core/errors.js";

/** The base of every refusal by the budget middleware: `catch (e) { if (e instanceof BudgetError) ... }`. */
export class BudgetError extends FrugalError {}

/** What a `BudgetExceededError` refused. */
export type BudgetLimitKind =
  /** A task's `inputMax`: the request's estimated input tokens. */
  | "input"
  /** A task's `outputMax` left no room for the request's reasoning budget. */
  | "output"
  /** A spend limit of a scope (tenant, user, key) over a window. */
  | "spend";

/**
 * A request would cross a budget: refused before any provider call. Names
 * the task or scope, the limit and the estimate, so a caller can branch on
 * the fields and a log line says everything.
 */
export class BudgetExceededError extends BudgetError {
  readonly kind: BudgetLimitKind;
  /** The request's task (`metadata.task`), when it has one. */
  readonly task: string | undefined;
  /** For `spend`: the limit's scope and window (`tenant:acme:day`). */
  readonly scope: string | undefined;
  /** Tokens for `input` and `output`, USD for `spend`. */
  readonly unit: "tokens" | "usd";
  readonly limit: number;
  /** What the request would take: estimated input tokens, a reasoning budget, or worst-case USD. */
  readonly estimate: number;
  /** For `spend`: USD already settled or held in the window. */
  readonly spentUsd: number | undefined;

  constructor(init: {
    kind: BudgetLimitKind;
    task?: string | undefined;
    scope?: string;
    limit: number;
    estimate: number;
    spentUsd?: number;
    detail?: string;
  }) {
    const unit = init.kind === "spend" ? "usd" : "tokens";
    super(describe(init));
    this.kind = init.kind;
    this.task = init.task;
    this.scope = init.scope;
    this.unit = unit;
    this.limit = init.limit;
    this.estimate = init.estimate;
    this.spentUsd = init.spentUsd;
  }
}

/**
 * The spend store failed (Redis down, slow past `storeTimeoutMs`) and the
 * host's policy is `fail-closed` (the default): calls that spend money are
 * refused until the store answers again.
 */
export class BudgetUnavailableError extends BudgetError {
  /** The scope whose counters could not be reached (`tenant:acme`). */
  readonly scope: string;

  constructor(scope: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      `budget: the spend store could not reserve for ${scope} (${reason}); onStoreError is "fail-closed", ` +
        "so the call is refused until the store answers again",
      { cause },
    );
    this.scope = scope;
  }
}

/**
 * A request to a model with no known price, under a spend limit, with no
 * `ceilingPriceUsdPerMTok` to bound it: the limit could not hold, so the
 * call is refused (FAILURES.md A6).
 */
export class BudgetUnpricedError extends BudgetError {
  readonly provider: string;
  readonly model: string;

  constructor(provider: string, model: string, reason: string) {
    super(
      `budget: ${provider}:${model} has no price (${reason}), so a spend limit cannot bound it; ` +
        "set the budget's ceilingPriceUsdPerMTok (or a priceBook override); refused before any provider call",
    );
    this.provider = provider;
    this.model = model;
  }
}

function describe(init: ConstructorParameters<typeof BudgetExceededError>[0]): string {
  const task = init.task === undefined ? "" : ` (task "${init.task}")`;
  const detail = init.detail ? `; ${init.detail}` : "";
  switch (init.kind) {
    case "input":
      return (
        `budget: the request${task} is estimated at ${init.estimate} input tokens, over its inputMax of ` +
        `${init.limit}${detail}; refused before any provider call`
      );
    case "output":
      return (
        `budget: the request${task} asks for a reasoning budget of ${init.estimate} tokens, which its ` +
        `outputMax of ${init.limit} output tokens cannot hold${detail}; refused before any provider call`
      );
    default:
      return (
        `budget: ${init.scope} limit of ${usd(init.limit)} would be crossed: ${usd(init.spentUsd ?? 0)} ` +
        `spent or held, and this request${task} may cost up to ${usd(init.estimate)}${detail}; ` +
        `refused before any provider call`
      );
  }
}

/** `$0.0090`, or six decimals where four would hide the amount (`$0.000002`). */
export function usd(value: number): string {
  const four = value.toFixed(4);
  return `$${Math.abs(Number(four) - value) < 1e-9 ? four : value.toFixed(6)}`;
}
