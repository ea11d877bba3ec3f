import { z } from "zod";
import type { RequestContext } from "../../core/context.js";
import type { Middleware } from "../../core/middleware.js";
import { parseOptions } from "../../core/options.js";
import { runCascade } from "./run.js";
import { defaultValidators, type Validator } from "./validators.js";

export { type JudgeOptions, judge } from "./judge.js";
export { type LogprobConfidenceOptions, logprobConfidence } from "./logprob-confidence.js";
export { CascadeRejectedError } from "./rejected-error.js";
export {
  defaultValidators,
  type HostCheckResult,
  hostCheck,
  jsonMatches,
  type NotRefusalOptions,
  nonEmpty,
  notRefusal,
  type Validator,
  type Verdict,
} from "./validators.js";

declare module "../../core/context.js" {
  interface ContextState {
    /** What `cascade` tried and why it stopped; set when a cascade acts on the request. */
    cascade?: CascadeState;
  }
}

declare module "../../core/events.js" {
  interface EventMap {
    /** A cascade step was rejected or failed, and the next model is being asked. */
    escalation: CascadeEscalation;
  }
}

/** `ctx.state.cascade`: one entry per model asked, in order. */
export interface CascadeState {
  steps: CascadeStep[];
}

/** One model a cascade asked. */
export interface CascadeStep {
  /** The model ref as listed in `models`. */
  model: string;
  /** True for the step whose answer was served (at most one, the last). */
  accepted: boolean;
  /**
   * False when the validators did not run: the step failed, or it is the
   * last model and `requireValid` is off, so its answer is served unchecked.
   */
  checked: boolean;
  /** Why the step was not accepted: `"<validator>: <reason>"`, or the error. Empty when accepted. */
  reasons: string[];
  /** The error of a step whose call failed. */
  error?: { name: string; message: string };
}

/** The payload of the `escalation` event. */
export interface CascadeEscalation {
  requestId: string;
  /** The model ref whose answer was rejected (or whose call failed). */
  from: string;
  /** The model ref asked next. */
  to: string;
  reasons: string[];
  /** True when the caller had already seen the rejected answer's events (optimistic streaming). */
  retracted: boolean;
}

export interface CascadeOptions {
  /**
   * The models to try, cheapest first, as refs (`provider:model`) or aliases;
   * or a function of the request's context returning them (an empty list
   * leaves the request alone). The last one is the answer of last resort.
   */
  models: readonly string[] | ((ctx: RequestContext) => readonly string[]);
  /**
   * Every one must pass for an answer to be accepted. They run in order and
   * stop at the first that fails, so list cheap checks before a judge.
   * Default: `defaultValidators()`, that is `[nonEmpty(), notRefusal(), jsonMatches()]`;
   * a list given here replaces them (spread `defaultValidators()` to keep them).
   */
  validators?: readonly Validator[];
  /**
   * For streamed requests. `"buffer"` (default): each step's answer is read
   * whole and validated before the caller sees anything; the accepted
   * answer's own events are then replayed. `"optimistic"`: each answer
   * streams to the caller live, and a rejected one is retracted by the
   * `start` event of the next (see docs/cascade.md). Non-streamed requests
   * are the same in both.
   */
  streaming?: "buffer" | "optimistic";
  /**
   * `true`: act only on requests for model `"auto"`. Default `false`: act on
   * `"auto"` (starting from the first model) and on a request for one of
   * `models` (starting from that one, never a cheaper one); other requests
   * pass through untouched.
   */
  onlyWhenAuto?: boolean;
  /**
   * `true`: validate the last model's answer too, and throw a
   * `CascadeRejectedError` when it fails. Default `false`: the last model's
   * answer is served as it is, unchecked (and, for a stream, live).
   */
  requireValid?: boolean;
}

const optionsSchema = z
  .object({
    models: z.union([
      z
        .array(
          z
            .string()
            .min(1)
            .refine((m) => m !== "auto", "a cascade step must name a model, not 'auto'"),
        )
        .min(1)
        .refine((ms) => new Set(ms).size === ms.length, "a cascade lists each model once"),
      z.function(),
    ]),
    validators: z
      .array(
        z.custom<Validator>(
          (v) =>
            typeof (v as Validator)?.validate === "function" && typeof (v as Validator)?.name === "string",
          "expected a validator: { name, validate(completion, ctx) }",
        ),
      )
      .optional(),
    streaming: z.enum(["buffer", "optimistic"]).optional(),
    onlyWhenAuto: z.boolean().optional(),
    requireValid: z.boolean().optional(),
  })
  .strict();

/**
 * Tries models cheapest first and serves the first answer that every
 * validator accepts; a rejected answer, or a failed call, escalates to the
 * next model. Every step is an attempt of the request (purpose `escalation`
 * after the first), priced at its own model; the steps are in
 * `ctx.state.cascade` and each escalation is an `escalation` event. List it
 * after a router and before retries (see docs/cascade.md).
 *
 * @example
 * const llm = createClient({
 *   providers,
 *   middleware: [
 *     costTracker(),
 *     cascade({ models: ["openai:gpt-4o-mini", "anthropic:claude-haiku-4-5", "anthropic:claude-sonnet-4-6"] }),
 *   ],
 * });
 * await llm.chat({ model: "auto", messages: [{ role: "user", content: "Explain DNS" }] });
 */
export function cascade(options: CascadeOptions): Middleware {
  parseOptions(optionsSchema, options, "cascade");
  const config = {
    validators: options.validators ?? defaultValidators(),
    optimistic: options.streaming === "optimistic",
    requireValid: options.requireValid ?? false,
  };
  const onlyWhenAuto = options.onlyWhenAuto ?? false;
  const { models } = options;
  const modelsOf = typeof models === "function" ? models : () => models;
  return {
    name: "cascade",
    handle(ctx, next) {
      const steps = stepsFor(ctx, modelsOf(ctx), onlyWhenAuto);
      return steps ? runCascade(ctx, next, steps, config) : next(ctx);
    },
  };
}

/** The models to try for this request, or undefined when the cascade leaves it alone. */
function stepsFor(ctx: RequestContext, listed: readonly string[], onlyWhenAuto: boolean) {
  if (listed.length === 0) return undefined;
  const models = distinctModels(ctx, listed);
  const asked = ctx.request.model;
  if (asked === "auto") return models;
  if (onlyWhenAuto) return undefined;
  let from = models.indexOf(asked);
  if (from < 0) from = indexOfResolved(ctx, models, asked);
  if (from < 0) return undefined; // another model: not the cascade's request
  return from === 0 ? models : models.slice(from);
}

/** Where `asked` is in `models` once aliases and bare names are resolved (`gpt-4o-mini` is `openai:gpt-4o-mini`). */
function indexOfResolved(ctx: RequestContext, models: readonly string[], asked: string): number {
  const target = refOf(ctx, asked);
  return target === undefined ? -1 : models.findIndex((m) => refOf(ctx, m) === target);
}

/** `provider:model` for a model name, or undefined when this client cannot call it. */
function refOf(ctx: RequestContext, name: string): string | undefined {
  try {
    const { provider, model } = ctx.services.resolveModel(name);
    return `${provider}:${model}`;
  } catch {
    return undefined;
  }
}

/** By client (its model resolver), each models list less the names of a model listed before it. */
const distinct = new WeakMap<object, WeakMap<readonly string[], readonly string[]>>();

/**
 * `models` without a second name for a model already listed (an alias, or
 * `gpt-4o-mini` after `openai:gpt-4o-mini`): a cascade never asks one model
 * twice. Worked out once per list and client.
 */
function distinctModels(ctx: RequestContext, models: readonly string[]): readonly string[] {
  let byList = distinct.get(ctx.services.resolveModel);
  if (!byList) {
    byList = new WeakMap();
    distinct.set(ctx.services.resolveModel, byList);
  }
  let kept = byList.get(models);
  if (!kept) {
    const seen = new Set<string>();
    kept = models.filter((m) => {
      const ref = refOf(ctx, m) ?? m;
      if (seen.has(ref)) return false;
      seen.add(ref);
      return true;
    });
    byList.set(models, kept);
  }
  return kept;
}
