import type OpenAI from "openai";
import { z } from "zod";
import { type Attempt, emptyUsage } from "../core/completion.js";
import { NEVER_ABORTED, type RequestContext } from "../core/context.js";
import { ConfigError } from "../core/errors.js";
import { parseOptions } from "../core/options.js";
import { fromSdkError } from "../providers/sdk-calls.js";
import type { Embedder } from "./embedder.js";

/** The part of the OpenAI SDK the embedder uses; any v5/v6 `OpenAI` instance fits. */
export type OpenAIEmbeddingsLike = Pick<OpenAI, "embeddings">;

export interface OpenAIEmbedderOptions {
  /** The embedding model. Default `text-embedding-3-small`. */
  model?: string;
  /**
   * Ask for shorter vectors (text-embedding-3 models only). Default: the
   * model's full length. Required for a model this library does not know.
   */
  dimensions?: number;
  /** The provider name the calls are recorded and priced under. Default `openai`. */
  provider?: string;
  /** Most texts per API call (the API takes at most 2048). Default 512. */
  batchSize?: number;
}

/**
 * The similarity `semanticCache` needs by default with an OpenAI embedder.
 * Not measured by this project (its tests never reach the network): it is
 * a conservative starting point for text-embedding-3 models, whose
 * duplicates mostly score above 0.85 and whose same-topic non-duplicates
 * reach 0.9 and beyond. Measure your own with
 * `frugal eval cache --embedder openai --sweep` (docs/embeddings.md).
 */
export const OPENAI_THRESHOLD = 0.92;

const KNOWN_DIMENSIONS: Record<string, number> = {
  "text-embedding-3-small": 1536,
  "text-embedding-3-large": 3072,
  "text-embedding-ada-002": 1536,
};

const optionsSchema = z
  .object({
    model: z.string().min(1).optional(),
    dimensions: z.number().int().positive().optional(),
    provider: z.string().min(1).optional(),
    batchSize: z.number().int().min(1).max(2048).optional(),
  })
  .strict();

/**
 * Embeddings through the host's OpenAI SDK instance (`sdk.embeddings.create`),
 * with its key, base URL and timeout. Vectors come back unit length. When a
 * request context is given, each API call is recorded on `ctx.attempts` as a
 * priced side call (`label: "embedding"`) and announced with the `attempt`
 * event, so the cost tracker bills it to the request that caused it.
 *
 * @example
 * const embedder = cachedEmbedder(openaiEmbedder(new OpenAI(), { model: "text-embedding-3-small" }));
 */
export function openaiEmbedder(
  sdk: OpenAIEmbeddingsLike,
  options: OpenAIEmbedderOptions = {},
): Embedder & { readonly recommendedThreshold: number } {
  parseOptions(optionsSchema, options, "openaiEmbedder");
  const model = options.model ?? "text-embedding-3-small";
  const provider = options.provider ?? "openai";
  const batchSize = options.batchSize ?? 512;
  const dimensions = options.dimensions ?? KNOWN_DIMENSIONS[model];
  if (dimensions === undefined) {
    throw new ConfigError(
      `invalid openaiEmbedder options:\n  options.dimensions: required for model "${model}" (its vector length is not known)`,
    );
  }

  async function call(texts: string[], ctx: RequestContext | undefined): Promise<Float32Array[]> {
    const attempt: Attempt | undefined = ctx && {
      purpose: "side-call",
      label: "embedding",
      provider,
      model,
      startedAt: ctx.clock.now(),
      status: "pending",
    };
    if (ctx && attempt) ctx.attempts.push(attempt);
    const requestOptions = {
      ...(ctx && ctx.signal !== NEVER_ABORTED && { signal: ctx.signal }),
      ...(ctx?.services.sdkMaxRetries !== undefined && { maxRetries: ctx.services.sdkMaxRetries }),
    };
    try {
      const response = await sdk.embeddings.create(
        { model, input: texts, ...(options.dimensions !== undefined && { dimensions: options.dimensions }) },
        requestOptions,
      );
      const vectors = new Array<Float32Array>(texts.length);
      for (const item of response.data) vectors[item.index] = unit(item.embedding as ArrayLike<number>);
      if (vectors.some((v) => v === undefined) || vectors.length !== texts.length)
        throw new Error(`${provider} returned ${response.data.length} embeddings for ${texts.length} texts`);
      if (ctx && attempt) {
        const usage = { ...emptyUsage(), inputTokens: response.usage?.prompt_tokens ?? 0 };
        attempt.status = "ok";
        attempt.endedAt = ctx.clock.now();
        attempt.usage = usage;
        attempt.cost = ctx.services.prices.cost(provider, model, usage);
        ctx.services.events.emit("attempt", { requestId: ctx.id, attempt });
      }
      return vectors;
    } catch (error) {
      const failure = fromSdkError(error, provider, model);
      if (ctx && attempt) {
        attempt.status = "error";
        attempt.endedAt = ctx.clock.now();
        attempt.error = {
          name: failure.name,
          message: failure.message,
          ...("status" in failure && typeof failure.status === "number" && { status: failure.status }),
        };
        failure.attempts = ctx.attempts;
        ctx.services.events.emit("attempt", { requestId: ctx.id, attempt });
      }
      throw failure;
    }
  }

  return {
    name: `${provider}:${model}${options.dimensions !== undefined ? `-d${options.dimensions}` : ""}`,
    dimensions,
    recommendedThreshold: OPENAI_THRESHOLD,
    async embed(texts, ctx) {
      const out: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += batchSize) {
        out.push(...(await call(texts.slice(i, i + batchSize), ctx)));
      }
      return out;
    },
  };
}

function unit(values: ArrayLike<number>): Float32Array {
  const v = Float32Array.from(values);
  let sum = 0;
  for (const x of v) sum += x * x;
  if (sum > 0) {
    const inv = 1 / Math.sqrt(sum);
    for (let i = 0; i < v.length; i++) v[i]! *= inv;
  }
  return v;
}
