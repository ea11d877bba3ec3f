import type { Completion } from "../../core/completion.js";
import { FrugalError } from "../../core/errors.js";
import type { CascadeStep } from "./index.js";

/**
 * Every model of a cascade with `requireValid: true` answered, and no answer
 * passed the validators. `attempts` holds every call made (all billed),
 * `steps` why each answer was rejected, `completion` the last model's answer.
 */
export class CascadeRejectedError extends FrugalError {
  constructor(
    message: string,
    readonly steps: readonly CascadeStep[],
    readonly completion: Completion,
  ) {
    super(message);
  }
}
