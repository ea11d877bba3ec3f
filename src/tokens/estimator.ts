import { z } from "zod";
import { InvalidRequestError } from "../core/errors.js";
import { parseOptions } from "../core/options.js";
import type { ChatRequest, ImagePart, TextPart } from "../core/request.js";
import { type Calibration, Calibrator } from "./calibration.js";
import { type Encoder, encoderRequested, loadEncoder } from "./encoders.js";
import { InputTooLargeError } from "./errors.js";
import { imageSizeFromUrl, imageTokens } from "./images.js";
import {
  anthropicToolPromptTokens,
  defaultRatio,
  type Encoding,
  type ModelProfile,
  type ModelRef,
  modelProfile,
  REPLY_PRIMING_TOKENS,
  TOKENS_PER_MESSAGE,
  TOKENS_PER_ROLE,
  TOKENS_PER_TOOL_CALL,
  TOOLS_OVERHEAD_TOKENS,
} from "./models.js";
import { pieces, type SplitOptions } from "./split.js";

/** 2 MiB: about 500k tokens of English, over any context window of an OpenAI or Anthropic model but GPT-4.1's. */
export const DEFAULT_MAX_INPUT_BYTES = 2 * 1024 * 1024;
/** Runs of whitespace or non-whitespace longer than this are cut before encoding (see split.ts, bench/tokenizers.ts). */
export const DEFAULT_MAX_RUN_CHARS = 256;

const calibrationOptionsSchema = z
  .object({
    alpha: z.number().gt(0).max(1).default(0.1),
    minRatio: z.number().positive().default(0.5),
    maxRatio: z.number().positive().default(3),
    minSampleTokens: z.number().int().nonnegative().default(16),
    settleSamples: z.number().int().nonnegative().default(5),
    outlierFactor: z.number().gt(1).default(2),
    maxModels: z.number().int().positive().default(1000),
    /**
     * The client calibrates from every answer until a model has settled,
     * then from one answer in this many (each sample tokenizes the request
     * once more, after the answer). 0: never from answers.
     */
    sampleEvery: z.number().int().nonnegative().default(50),
  })
  .strict()
  .refine((o) => o.minRatio < o.maxRatio, { message: "must be below maxRatio", path: ["minRatio"] });

export const tokenEstimatorOptionsSchema = z
  .object({
    /**
     * UTF-8 bytes of text a request may hold for tokenization; over it,
     * `estimateRequest` and `countText` throw `InputTooLargeError` after a
     * byte count alone. Image data is not text and does not count.
     */
    maxInputBytes: z.number().int().positive().default(DEFAULT_MAX_INPUT_BYTES),
    /** Runs of whitespace or of non-whitespace longer than this are cut before encoding, so cost stays linear. */
    maxRunChars: z.number().int().min(16).max(100_000).default(DEFAULT_MAX_RUN_CHARS),
    /** Long text is counted in pieces of about this many characters, cut where the count is unchanged. */
    chunkChars: z.number().int().min(256).max(10_000_000).default(4096),
    /**
     * Counting a long input gives the event loop a turn after this many
     * milliseconds of work (the longest block is about this plus one piece
     * and any GC pause: bench/tokenizers.ts).
     */
    yieldAfterMs: z.number().positive().max(60_000).default(5),
    /** Apply calibration to OpenAI models too (their BPE count is exact for text; framing and tool schemas are estimates). */
    calibrateOpenAI: z.boolean().default(false),
    /** Starting ratios by model-name prefix (`{ "claude-sonnet-4": 1.18 }`), longest prefix first, over the defaults. */
    ratios: z.record(z.string().min(1), z.number().positive()).default({}),
    calibration: calibrationOptionsSchema.prefault({}),
  })
  .strict();

export type TokenEstimatorOptions = z.input<typeof tokenEstimatorOptionsSchema>;
type ResolvedOptions = z.output<typeof tokenEstimatorOptionsSchema>;

/** Where the tokens of an estimate come from. */
export interface TokenBreakdown {
  /** The system prompt's text (counted tokens, before the ratio). */
  system: number;
  /** Message text, tool-call names and arguments, tool results (counted, before the ratio). */
  messages: number;
  /** Tool definitions as JSON, a forced tool choice, a response JSON schema (counted, before the ratio). */
  tools: number;
  /** Message framing, reply priming and the tool-list wrapper (counted, before the ratio). */
  overhead: number;
  /** Images, by the provider's formula (model tokens, no ratio). */
  images: number;
  /**
   * Images at their largest: the same as `images` where every size is known;
   * where one is not (a remote URL), the most its detail level can cost,
   * where `images` counts a typical size. What a hard limit should check.
   */
  imagesUpper: number;
  /** The system prompt the provider adds for tool use (Anthropic; model tokens, no ratio). */
  providerPrompt: number;
}

export interface TokenEstimate {
  /** The best estimate of the request's input tokens: `ceil(countedTokens x ratio) + fixedTokens`. */
  inputTokens: number;
  /**
   * Never below `inputTokens`: UTF-8 bytes of every text (a byte-level BPE
   * token covers at least one byte), plus framing, images at their largest,
   * and provider prompts. Exact as a bound for OpenAI encodings; for
   * Anthropic it assumes Claude's tokenizer is byte-level too.
   */
  upperBound: number;
  estimated: true;
  /** `bpe`: the model's own tokenizer counted the text; `calibrated`: a stand-in count times a learned ratio. */
  method: "bpe" | "calibrated";
  /** The encoding that counted the text (a stand-in when `method` is `calibrated`). */
  encoding: Encoding;
  /** The ratio applied to `countedTokens` (1 for OpenAI models unless `calibrateOpenAI`). */
  ratio: number;
  /** Tokens counted with `encoding`, before the ratio: what `observe()` compares with the actual count. */
  countedTokens: number;
  /** Tokens from fixed formulas (images, provider prompts), added after the ratio. */
  fixedTokens: number;
  /** UTF-8 bytes of text tokenized: what `maxInputBytes` caps. */
  bytes: number;
  breakdown: TokenBreakdown;
}

/** A request's upper bound from bytes alone, without loading or running a tokenizer. */
export interface TokenUpperBound {
  upperBound: number;
  bytes: number;
}

type Category = "system" | "messages" | "tools";

/** Everything in a request that costs input tokens, gathered in one pass. */
interface Gathered {
  texts: { category: Category; text: string }[];
  bytes: number;
  /** Bytes sent but not tokenized by us (reasoning of earlier turns): in the upper bound only. */
  extraBytes: number;
  overhead: number;
  images: number;
  /** Every image at its formula's bound, known size or not (for the byte-level upper bound). */
  imagesUpper: number;
  /** Images of known size as counted, the others at their largest (`TokenBreakdown.imagesUpper`). */
  imagesAtLargest: number;
  providerPrompt: number;
}

/** Gives the event loop a turn when `ms` of synchronous work have passed since the last one. */
class Pacer {
  #last = performance.now();
  constructor(readonly ms: number) {}
  due(): boolean {
    return performance.now() - this.#last >= this.ms;
  }
  async pause(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#last = performance.now();
  }
}

const utf8Bytes = (text: string) => Buffer.byteLength(text, "utf8");

/**
 * Token estimates before a call. OpenAI models are counted with their own
 * BPE encoding (o200k_base or cl100k_base); Anthropic models, whose
 * tokenizer is not public, with cl100k_base times a per-model ratio that
 * `observe()` calibrates from the usage providers report. Every input is
 * first bounded by its UTF-8 size, and refused over `maxInputBytes` before
 * any tokenization; long runs without whitespace are cut into bounded
 * pieces so that counting stays linear, and long inputs are counted with
 * pauses for the event loop (FAILURES.md S4). Encodings load on first use.
 */
export class TokenEstimator {
  readonly options: Readonly<ResolvedOptions>;
  readonly #calibrator: Calibrator;
  readonly #split: SplitOptions;
  /**
   * Per model, for `wantsSample`: its encoding, the answers seen since its
   * last sample and the samples asked for and not yet observed (null: exact,
   * never sampled).
   */
  readonly #sampling = new Map<string, { encoding: Encoding; seen: number; pending: number } | null>();

  constructor(options: TokenEstimatorOptions = {}) {
    this.options = parseOptions(tokenEstimatorOptionsSchema, options, "tokenEstimator");
    this.#calibrator = new Calibrator(this.options.calibration);
    this.#split = { maxRunChars: this.options.maxRunChars, chunkChars: this.options.chunkChars };
  }

  /**
   * Loads encodings now (by default both), so that the first estimate does
   * not pay for it (a few hundred milliseconds; bench/tokenizers.ts).
   */
  async preload(encodings: readonly Encoding[] = ["o200k_base", "cl100k_base"]): Promise<void> {
    await Promise.all(encodings.map((encoding) => loadEncoder(encoding)));
  }

  /** Which encoding counts a model's text, and whether it is the model's own tokenizer. */
  profile(ref: ModelRef): ModelProfile {
    return modelProfile(ref);
  }

  /**
   * Tokens in `text` for a model: exact for OpenAI models, calibrated for
   * Anthropic and unknown models. Throws `InputTooLargeError` over
   * `maxInputBytes`, before tokenizing.
   */
  async countText(text: string, ref: ModelRef): Promise<number> {
    const bytes = utf8Bytes(text);
    this.#checkBytes(bytes, ref);
    const profile = modelProfile(ref);
    const counted = await this.#count(
      await loadEncoder(profile.encoding),
      text,
      new Pacer(this.options.yieldAfterMs),
    );
    return this.#applyRatio(counted, ref, profile);
  }

  /**
   * Tokens of output text received before a stream was cut (FAILURES.md
   * A1), to charge an estimate rather than nothing. Never throws for size:
   * text over `maxInputBytes` is counted on its first 64 KiB and
   * extrapolated by bytes.
   */
  async countOutputText(text: string, ref: ModelRef): Promise<number> {
    const bytes = utf8Bytes(text);
    if (bytes <= this.options.maxInputBytes) return this.countText(text, ref);
    let end = Math.min(text.length, 65_536);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1; // keep a surrogate pair whole
    const sample = text.slice(0, end);
    const profile = modelProfile(ref);
    const counted = await this.#count(
      await loadEncoder(profile.encoding),
      sample,
      new Pacer(this.options.yieldAfterMs),
    );
    return this.#applyRatio(Math.ceil((counted * bytes) / Math.max(1, utf8Bytes(sample))), ref, profile);
  }

  /**
   * The fast bound: a request's tokens can be no more than this, from its
   * byte size alone (no tokenizer is loaded or run). Throws
   * `InputTooLargeError` over `maxInputBytes`.
   */
  upperBound(request: ChatRequest, ref: ModelRef): TokenUpperBound {
    const profile = modelProfile(ref);
    const gathered = this.#gather(request, ref, profile, false);
    return { upperBound: this.#bound(gathered, this.#ratio(ref, profile)), bytes: gathered.bytes };
  }

  /**
   * Estimates a request's input tokens: system, every message part (text,
   * images, tool calls, tool results), message framing, tool definitions and
   * a response schema. Sizes the request in bytes first and throws
   * `InputTooLargeError` over `maxInputBytes` before tokenizing anything.
   */
  async estimateRequest(request: ChatRequest, ref: ModelRef): Promise<TokenEstimate> {
    const profile = modelProfile(ref);
    const gathered = this.#gather(request, ref, profile);
    const encoder = await loadEncoder(profile.encoding);
    const pacer = new Pacer(this.options.yieldAfterMs);
    const breakdown: TokenBreakdown = {
      system: 0,
      messages: 0,
      tools: 0,
      overhead: gathered.overhead,
      images: gathered.images,
      imagesUpper: gathered.imagesAtLargest,
      providerPrompt: gathered.providerPrompt,
    };
    for (const { category, text } of gathered.texts) {
      breakdown[category] += await this.#count(encoder, text, pacer);
      if (pacer.due()) await pacer.pause();
    }
    const countedTokens = breakdown.system + breakdown.messages + breakdown.tools + breakdown.overhead;
    const fixedTokens = breakdown.images + breakdown.providerPrompt;
    const ratio = this.#ratio(ref, profile);
    const inputTokens = Math.ceil(countedTokens * ratio) + fixedTokens;
    return {
      inputTokens,
      upperBound: Math.max(inputTokens, this.#bound(gathered, ratio)),
      estimated: true,
      method: this.#calibrated(profile) ? "calibrated" : "bpe",
      encoding: profile.encoding,
      ratio,
      countedTokens,
      fixedTokens,
      bytes: gathered.bytes,
      breakdown,
    };
  }

  /**
   * Feeds back what the provider reported, so later estimates for the model
   * improve. `estimate` is what `estimateRequest` returned (its counted and
   * fixed parts are separated here), or a count made before any ratio (a
   * `countedTokens`, not an `inputTokens`). `actualInputTokens` is every
   * input token of the call, cached or not (`totalInputTokens(usage)`).
   * Returns whether the sample was used: zero, non-finite and outlying
   * samples are ignored, and so is every sample for a model whose estimates
   * use no ratio (OpenAI, unless `calibrateOpenAI`).
   */
  observe(ref: ModelRef, estimate: TokenEstimate | number, actualInputTokens: number): boolean {
    const profile = modelProfile(ref);
    if (!this.#calibrated(profile)) return false;
    const counted = typeof estimate === "number" ? estimate : estimate.countedTokens;
    const actual =
      typeof estimate === "number" ? actualInputTokens : actualInputTokens - estimate.fixedTokens;
    return this.#calibrator.observe(this.#key(ref), this.#defaultRatio(profile), counted, actual);
  }

  /**
   * Whether an answer from this model should calibrate it: always for a
   * calibrated model (Anthropic, unknown) that has not settled, then one
   * answer in `calibration.sampleEvery`; never for a model whose count is
   * exact (OpenAI, unless `calibrateOpenAI`), nor before anything in the
   * process has estimated with the model's encoding (nobody would use the
   * ratio, and a first sample would load the encoding's table for nothing).
   */
  wantsSample(ref: ModelRef): boolean {
    const every = this.options.calibration.sampleEvery;
    if (every === 0) return false;
    const key = this.#key(ref);
    let sampling = this.#sampling.get(key);
    if (sampling === undefined) {
      // null marks a model whose count is exact: one profile lookup per model, not per answer.
      if (this.#sampling.size >= this.options.calibration.maxModels) this.#sampling.clear();
      const profile = modelProfile(ref);
      sampling = this.#calibrated(profile) ? { encoding: profile.encoding, seen: 0, pending: 0 } : null;
      this.#sampling.set(key, sampling);
    }
    // Until something estimates with this encoding, a ratio serves nobody: no table is loaded for it.
    if (sampling === null || !encoderRequested(sampling.encoding)) return false;
    // Settling: every answer, but no more at once than the samples still missing (a burst of
    // first answers does not start a burst of estimates).
    const missing = this.options.calibration.settleSamples - this.#calibrator.get(key, 1).samples;
    if (missing > 0) {
      if (sampling.pending >= missing) return false;
      sampling.pending++;
      return true;
    }
    sampling.seen = (sampling.seen + 1) % every;
    if (sampling.seen === 0) sampling.pending++;
    return sampling.seen === 0;
  }

  /**
   * Estimates `request` for `ref` and calibrates from what the provider
   * reported for it (`actualInputTokens`, every input token of the call).
   * Resolves with whether the sample was used; never rejects.
   */
  async observeRequest(request: ChatRequest, ref: ModelRef, actualInputTokens: number): Promise<boolean> {
    try {
      return this.observe(ref, await this.estimateRequest(request, ref), actualInputTokens);
    } catch {
      return false; // an input over maxInputBytes, say: nothing to learn from it
    } finally {
      const sampling = this.#sampling.get(this.#key(ref));
      if (sampling && sampling.pending > 0) sampling.pending--;
    }
  }

  /** The ratio a model's estimates use now, and how many observations shaped it (0: the default). */
  calibration(ref: ModelRef): Calibration {
    const profile = modelProfile(ref);
    if (!this.#calibrated(profile)) return { ratio: 1, samples: 0 };
    return this.#calibrator.get(this.#key(ref), this.#defaultRatio(profile));
  }

  /** Every calibrated model so far (`provider:model`), e.g. to log or to seed a new process through `ratios`. */
  calibrations(): { key: string; ratio: number; samples: number }[] {
    return this.#calibrator.entries();
  }

  /** Forgets what was observed, for one model or all. */
  resetCalibration(ref?: ModelRef): void {
    this.#calibrator.reset(ref ? this.#key(ref) : undefined);
  }

  #key(ref: ModelRef): string {
    return `${ref.provider}:${ref.model}`;
  }

  #calibrated(profile: ModelProfile): boolean {
    return !profile.exact || this.options.calibrateOpenAI;
  }

  #defaultRatio(profile: ModelProfile): number {
    return defaultRatio(profile, this.options.ratios);
  }

  #ratio(ref: ModelRef, profile: ModelProfile): number {
    if (!this.#calibrated(profile)) return 1;
    return this.#calibrator.get(this.#key(ref), this.#defaultRatio(profile)).ratio;
  }

  #applyRatio(counted: number, ref: ModelRef, profile: ModelProfile): number {
    const ratio = this.#ratio(ref, profile);
    return ratio === 1 ? counted : Math.ceil(counted * ratio);
  }

  #checkBytes(bytes: number, ref: ModelRef): void {
    checkBytes(bytes, this.options.maxInputBytes, ref);
  }

  #bound(g: Gathered, ratio: number): number {
    return (
      g.bytes + g.extraBytes + Math.ceil(g.overhead * Math.max(1, ratio)) + g.imagesUpper + g.providerPrompt
    );
  }

  /** Counts text piecewise: long runs cut into bounded pieces, long text paced. */
  async #count(encoder: Encoder, text: string, pacer: Pacer): Promise<number> {
    if (text.length <= this.#split.maxRunChars) return encoder.count(text); // no run can be too long
    let total = 0;
    for (const [start, end] of pieces(text, this.#split)) {
      total += encoder.count(text.slice(start, end));
      if (pacer.due()) await pacer.pause();
    }
    return total;
  }

  /**
   * One pass over the request: the texts to count (collected only when
   * `collect`: the byte bound needs none), their bytes (checked against the
   * cap as they add up), the fixed costs. Closure-free: the bound runs on
   * every routed request.
   */
  #gather(request: ChatRequest, ref: ModelRef, profile: ModelProfile, collect = true): Gathered {
    const g = new Gathering(this.options.maxInputBytes, ref, profile, collect);

    if (request.system !== undefined) {
      g.addMessage();
      if (typeof request.system === "string") g.addText("system", request.system);
      else g.addParts("system", request.system);
    }

    for (const message of request.messages) {
      switch (message.role) {
        case "user":
          g.addMessage();
          if (typeof message.content === "string") g.addText("messages", message.content);
          else g.addParts("messages", message.content);
          break;
        case "assistant":
          g.addMessage();
          if (typeof message.content === "string") {
            g.addText("messages", message.content);
            break;
          }
          for (const part of message.content) {
            if (part.type === "text") g.addText("messages", part.text);
            else if (part.type === "tool-call") {
              g.overhead += TOKENS_PER_TOOL_CALL;
              g.addText("messages", part.name);
              g.addText("messages", part.arguments);
            } else {
              // Reasoning of earlier turns: providers mostly drop it from the
              // context, so it is left out of the estimate but kept in the bound.
              g.extraBytes += utf8Bytes(part.text) + (part.redacted ? utf8Bytes(part.redacted) : 0);
            }
          }
          break;
        case "tool":
          // Each tool result travels as its own message on OpenAI's wire.
          for (const result of message.content) {
            g.addMessage();
            if (typeof result.content === "string") g.addText("messages", result.content);
            else g.addParts("messages", result.content);
          }
          break;
      }
    }

    if (request.tools && request.tools.length > 0) {
      g.overhead += TOOLS_OVERHEAD_TOKENS;
      request.tools.forEach((tool, i) => {
        g.addText(
          "tools",
          toJson({ name: tool.name, description: tool.description, parameters: tool.parameters }, i),
        );
      });
      const choice = request.toolChoice;
      const forced = choice === "required" || (typeof choice === "object" && choice.type === "tool");
      if (typeof choice === "object") g.addText("tools", choice.name);
      if (profile.family === "anthropic") g.providerPrompt += anthropicToolPromptTokens(profile.base, forced);
    }

    const format = request.responseFormat;
    if (format?.type === "json-schema") {
      g.addText(
        "tools",
        toJson({ name: format.name, description: format.description, schema: format.schema }),
      );
    }
    return g;
  }
}

/** What `#gather` adds up, with the steps it takes (methods, not closures made at each call). */
class Gathering implements Gathered {
  readonly texts: { category: Category; text: string }[] = [];
  bytes = 0;
  extraBytes = 0;
  overhead = REPLY_PRIMING_TOKENS;
  images = 0;
  imagesUpper = 0;
  imagesAtLargest = 0;
  providerPrompt = 0;

  constructor(
    readonly maxInputBytes: number,
    readonly ref: ModelRef,
    readonly profile: ModelProfile,
    readonly collect: boolean,
  ) {}

  addText(category: Category, text: string): void {
    if (text.length === 0) return;
    this.bytes += utf8Bytes(text);
    checkBytes(this.bytes, this.maxInputBytes, this.ref);
    if (this.collect) this.texts.push({ category, text });
  }

  addMessage(): void {
    this.overhead += TOKENS_PER_MESSAGE + TOKENS_PER_ROLE;
  }

  addImage(part: ImagePart): void {
    const size = imageSizeFromUrl(part.url);
    const cost = imageTokens(this.profile.family, this.profile.base, part.detail ?? "auto", size);
    this.images += cost.tokens;
    this.imagesUpper += cost.upperBound;
    this.imagesAtLargest += size ? cost.tokens : cost.upperBound;
  }

  addParts(category: Category, parts: readonly (TextPart | ImagePart)[]): void {
    for (const part of parts) {
      if (part.type === "text") this.addText(category, part.text);
      else this.addImage(part);
    }
  }
}

function checkBytes(bytes: number, maxBytes: number, ref: ModelRef): void {
  if (bytes > maxBytes) {
    throw new InputTooLargeError({ bytes, maxBytes, provider: ref.provider, model: ref.model });
  }
}

function toJson(value: unknown, tool?: number): string {
  try {
    return JSON.stringify(value);
  } catch (cause) {
    const field = tool === undefined ? "request.responseFormat.schema" : `request.tools[${tool}].parameters`;
    const message = `${field}: is not serializable as JSON (${(cause as Error).message})`;
    throw new InvalidRequestError(message, [message]);
  }
}

/** A token estimator with `options` validated (a bad value throws `ConfigError` naming the option). */
export function tokenEstimator(options?: TokenEstimatorOptions): TokenEstimator {
  return new TokenEstimator(options);
}
