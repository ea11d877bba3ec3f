import type { Attempt } from "../../core/completion.js";
import { FrugalError, ProviderError } from "../../core/errors.js";

/** One model of the chain and why it did not answer. */
export interface ModelFailure {
  /** The model ref, as the chain (or the request) names it. */
  readonly model: string;
  /** Its error: a `ProviderError`, or a `CircuitOpenError` when its circuit was open and it was skipped. */
  readonly error: FrugalError;
}

/**
 * Every model of a fallback chain failed or was skipped. `failures` lists
 * each model tried or skipped, in order, with its error; `attempts` every
 * provider call made for the request (retries included), each priced.
 */
export class AllModelsFailedError extends FrugalError {
  readonly failures: readonly ModelFailure[];

  constructor(failures: readonly ModelFailure[], attempts: readonly Attempt[], message?: string) {
    super(message ?? `every model failed: ${summary(failures)}`, { cause: failures.at(-1)?.error });
    this.failures = failures;
    this.attempts = attempts;
  }
}

/**
 * The cost guard refused a fallback to a more expensive model and nothing
 * cheaper answered (or `degrade: "error"`). It is an `AllModelsFailedError`:
 * `failures` holds what failed before.
 */
export class CostGuardError extends AllModelsFailedError {
  /** The model ref the request would have fallen back to. */
  readonly model: string;
  /** Which allowance was used up. */
  readonly scope: "overall" | "tenant";
  /** The share of requests that escalated in that scope, over the window. */
  readonly share: number;
  readonly maxShare: number;

  constructor(
    refusal: { model: string; scope: "overall" | "tenant"; share: number; maxShare: number },
    failures: readonly ModelFailure[],
    attempts: readonly Attempt[],
  ) {
    const pct = (n: number) => `${Math.round(n * 1000) / 10}%`;
    super(
      failures,
      attempts,
      `the cost guard refused a fallback to ${refusal.model}: the ${refusal.scope} share of escalations is ` +
        `${pct(refusal.share)}, the cap ${pct(refusal.maxShare)}` +
        (failures.length ? `; before that: ${summary(failures)}` : ""),
    );
    this.model = refusal.model;
    this.scope = refusal.scope;
    this.share = refusal.share;
    this.maxShare = refusal.maxShare;
  }
}

/** A model was skipped because its circuit is open. Found in `AllModelsFailedError.failures`. */
export class CircuitOpenError extends FrugalError {
  constructor(
    /** The model ref. */
    readonly model: string,
    /** When the circuit lets probes through again (ms since the epoch, by the middleware's clock). */
    readonly openUntil: number,
  ) {
    super(`the circuit of ${model} is open: skipped`);
  }
}

function summary(failures: readonly ModelFailure[]): string {
  return failures
    .map(({ model, error }) => {
      const status = error instanceof ProviderError && error.status !== undefined ? ` ${error.status}` : "";
      return `${model} (${error.name}${status})`;
    })
    .join(", ");
}
