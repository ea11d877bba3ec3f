import { FrugalError } from "../core/errors.js";

/**
 * A request (or text) holds more bytes to tokenize than the estimator's
 * `maxInputBytes` cap. Thrown before any tokenization, from a byte count
 * alone, so that a huge input costs a linear scan and never a BPE run
 * (FAILURES.md S4). The message names sizes only, never content.
 */
export class InputTooLargeError extends FrugalError {
  /** UTF-8 bytes of text the request would have had tokenized. */
  readonly bytes: number;
  /** The cap that was exceeded (`maxInputBytes`). */
  readonly maxBytes: number;
  readonly provider: string;
  readonly model: string;

  constructor(init: { bytes: number; maxBytes: number; provider: string; model: string }) {
    super(
      `the input holds ${init.bytes} bytes of text to tokenize for ${init.provider}:${init.model}, ` +
        `over the token estimator's cap of ${init.maxBytes} bytes (maxInputBytes); refused before any provider call`,
    );
    this.bytes = init.bytes;
    this.maxBytes = init.maxBytes;
    this.provider = init.provider;
    this.model = init.model;
  }
}
