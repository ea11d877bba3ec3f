import { z } from "zod";
import { parseOptions } from "../../core/options.js";
import { PASS, type Validator } from "./validators.js";

export interface LogprobConfidenceOptions {
  /**
   * The lowest passing confidence, in (0, 1]: the geometric mean of the
   * answer's token probabilities, `exp(mean logprob)`. 0.8 means the model
   * gave its tokens 80% probability on average (in the geometric sense).
   */
  min: number;
}

const optionsSchema = z.object({ min: z.number().gt(0).max(1) }).strict();

/**
 * Fails an answer the model was unsure of, from OpenAI's token logprobs
 * (`completion.raw.choices[0].logprobs.content`). It abstains (passes) when
 * there are none: the request did not ask for them
 * (`providerOptions: { openai: { logprobs: true } }`), the answer came from
 * another provider, or the step streamed (a streamed answer has no `raw`).
 *
 * @example
 * cascade({ models, validators: [...defaultValidators(), logprobConfidence({ min: 0.8 })] })
 */
export function logprobConfidence(options: LogprobConfidenceOptions): Validator {
  parseOptions(optionsSchema, options, "logprobConfidence");
  const { min } = options;
  return {
    name: "logprob-confidence",
    validate(c) {
      const tokens = tokenLogprobs(c.raw);
      if (!tokens) return PASS;
      let sum = 0;
      for (const t of tokens) sum += t.logprob;
      const confidence = Math.exp(sum / tokens.length);
      return confidence >= min
        ? PASS
        : { ok: false, reason: `token confidence ${confidence.toFixed(3)} is below ${min}` };
    },
  };
}

/** The answer's token logprobs, or undefined when the response carries none. */
function tokenLogprobs(raw: unknown): { logprob: number }[] | undefined {
  const content = (raw as { choices?: { logprobs?: { content?: unknown } | null }[] } | null | undefined)
    ?.choices?.[0]?.logprobs?.content;
  if (!Array.isArray(content) || content.length === 0) return undefined;
  for (const t of content) if (typeof t?.logprob !== "number" || Number.isNaN(t.logprob)) return undefined;
  return content as { logprob: number }[];
}
