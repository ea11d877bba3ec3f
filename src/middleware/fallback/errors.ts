import { FrugalError } from "../../core/errors.js";

export { AllModelsFailedError, CostGuardError, type ModelFailure } from "../../core/errors.js";

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
