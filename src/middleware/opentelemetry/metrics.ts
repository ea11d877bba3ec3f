import type { Attributes, Counter, Histogram, Meter } from "@opentelemetry/api";
import { type Attempt, totalInputTokens } from "../../core/completion.js";
import { ATTR, OPERATION } from "./attributes.js";

/** Bucket boundaries the GenAI conventions advise for token counts. */
const TOKEN_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];
/** Bucket boundaries the GenAI conventions advise for durations, in seconds. */
const SECONDS_BUCKETS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/**
 * The instruments, created once per middleware on the host's meter.
 * Durations are per request (the logical operation, retries included, as
 * the conventions define it); tokens and cost are per provider call, so
 * each is counted once, against the model that billed it.
 */
export class GenAiMetrics {
  readonly #tokenUsage: Histogram;
  readonly #duration: Histogram;
  readonly #timeToFirstChunk: Histogram;
  readonly #cost: Counter;

  constructor(meter: Meter) {
    this.#tokenUsage = meter.createHistogram("gen_ai.client.token.usage", {
      description: "Number of input and output tokens used.",
      unit: "{token}",
      advice: { explicitBucketBoundaries: TOKEN_BUCKETS },
    });
    this.#duration = meter.createHistogram("gen_ai.client.operation.duration", {
      description: "GenAI operation duration.",
      unit: "s",
      advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
    });
    this.#timeToFirstChunk = meter.createHistogram("gen_ai.client.operation.time_to_first_chunk", {
      description: "Time to receive the first chunk of a streamed answer.",
      unit: "s",
      advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
    });
    this.#cost = meter.createCounter("frugal.client.cost", {
      description: "What provider calls cost, in USD, for calls whose model has a known price.",
      unit: "USD",
    });
  }

  /** One request: its duration and, for a stream, the time to its first chunk. */
  request(attributes: Attributes, durationS: number, timeToFirstChunkS: number | undefined): void {
    this.#duration.record(durationS, attributes);
    if (timeToFirstChunkS !== undefined) this.#timeToFirstChunk.record(timeToFirstChunkS, attributes);
  }

  /** One provider call: the tokens it used and, when priced, its cost. */
  attempt(attempt: Attempt, providerName: string): void {
    const attributes: Attributes = {
      [ATTR.operationName]: OPERATION,
      [ATTR.providerName]: providerName,
      [ATTR.requestModel]: attempt.model,
      [ATTR.attemptPurpose]: attempt.purpose,
    };
    const { usage, cost } = attempt;
    if (usage) {
      this.#tokenUsage.record(totalInputTokens(usage), { ...attributes, [ATTR.tokenType]: "input" });
      this.#tokenUsage.record(usage.outputTokens, { ...attributes, [ATTR.tokenType]: "output" });
    }
    if (cost?.priced) this.#cost.add(cost.usd, attributes);
  }
}
