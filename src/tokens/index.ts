export type { Calibration, CalibrationOptions } from "./calibration.js";
export { InputTooLargeError } from "./errors.js";
export {
  DEFAULT_MAX_INPUT_BYTES,
  DEFAULT_MAX_RUN_CHARS,
  type TokenBreakdown,
  type TokenEstimate,
  TokenEstimator,
  type TokenEstimatorOptions,
  type TokenUpperBound,
  tokenEstimator,
  tokenEstimatorOptionsSchema,
} from "./estimator.js";
export {
  anthropicImageTokens,
  type ImageDetail,
  type ImageSize,
  type ImageTokens,
  imageSizeFromUrl,
  openaiImageTokens,
} from "./images.js";
export {
  DEFAULT_ANTHROPIC_RATIOS,
  type Encoding,
  type ModelFamily,
  type ModelProfile,
  type ModelRef,
  modelProfile,
} from "./models.js";
