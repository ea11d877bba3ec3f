import type { z } from "zod";
import type { Completion } from "../../core/completion.js";
import type { RequestContext } from "../../core/context.js";
import { describeZodError } from "../../core/errors.js";
import { refusalOpening } from "./refusal-text.js";

/** A validator's answer: pass, or fail with a reason a person can read. */
export type Verdict = { ok: true } | { ok: false; reason: string };

/**
 * Decides whether a cascade step's answer is good enough to serve. A
 * validator that has nothing to say about an answer (a JSON check on a text
 * request, a logprob check without logprobs) passes it: it abstains.
 *
 * `ctx` is the step's context: `ctx.request.model` is the model that answered.
 * A validator may return its verdict directly or as a promise; one that
 * throws fails the step (see docs/cascade.md).
 *
 * @example
 * const citesSources: Validator = {
 *   name: "cites-sources",
 *   validate: (c) => (/\[\d+\]/.test(c.text) ? { ok: true } : { ok: false, reason: "no citation" }),
 * };
 */
export interface Validator {
  /** Names the validator in `ctx.state.cascade` reasons and in logs. */
  readonly name: string;
  validate(completion: Completion, ctx: RequestContext): Verdict | Promise<Verdict>;
}

export const PASS: Verdict = Object.freeze({ ok: true });
const fail = (reason: string): Verdict => ({ ok: false, reason });

/** The validators a cascade uses when none are given: `[nonEmpty(), notRefusal(), jsonMatches()]`. */
export function defaultValidators(): Validator[] {
  return [nonEmpty(), notRefusal(), jsonMatches()];
}

/**
 * Fails an answer with no text (other than whitespace), no tool call and no
 * refusal: a refusal is not empty, it is {@link notRefusal}'s to judge.
 */
export function nonEmpty(): Validator {
  return {
    name: "non-empty",
    validate: (c) =>
      c.toolCalls.length > 0 || c.text.trim() !== "" || c.refusal !== undefined
        ? PASS
        : fail("the answer is empty"),
  };
}

export interface NotRefusalOptions {
  /**
   * Openings that mark a text refusal (case does not matter), matched at the start of
   * the answer after an optional apology ("I'm sorry, but", "Unfortunately,").
   * Default: the common English ones ("i can't help", "i'm unable to", ...).
   * `false` turns the text check off, leaving the provider's own signals.
   */
  phrases?: readonly string[] | false;
  /**
   * A text refusal is only looked for in answers shorter than this many
   * characters: a long answer that opens with "I can't do X, but here is how"
   * is an answer. Default 600; `Infinity` checks every answer.
   */
  maxChars?: number;
}

/**
 * Fails an answer the provider marked as a refusal (`finishReason`
 * `"refusal"` or `"content-filter"`, or a `refusal` text), and a short text
 * answer that opens with a refusal phrase. The text check reads at most the
 * first 200 characters, in linear time.
 */
export function notRefusal(options: NotRefusalOptions = {}): Validator {
  const phrases = options.phrases === false ? false : options.phrases?.map((p) => p.toLowerCase());
  const maxChars = options.maxChars ?? 600;
  return {
    name: "not-refusal",
    validate(c) {
      if (c.refusal !== undefined) return fail(`the model refused: ${clip(c.refusal)}`);
      if (c.finishReason === "refusal") return fail("the model refused (finish reason refusal)");
      if (c.finishReason === "content-filter")
        return fail("the provider's content filter stopped the answer");
      if (phrases === false || c.toolCalls.length > 0 || c.text.length >= maxChars) return PASS;
      const phrase = refusalOpening(c.text, phrases);
      return phrase === undefined ? PASS : fail(`the answer opens with a refusal ("${phrase}")`);
    },
  };
}

/**
 * Checks JSON answers. When the request asks for JSON
 * (`responseFormat: { type: "json" }` or `"json-schema"`), the answer's text
 * must parse, and match `schema` when one is given; a text request is not
 * checked. Tool-call arguments must parse as JSON whatever the format: the
 * next turn cannot send them back otherwise.
 *
 * @example
 * cascade({ models, validators: [nonEmpty(), notRefusal(), jsonMatches(z.object({ city: z.string() }))] })
 */
export function jsonMatches(schema?: z.ZodType): Validator {
  return {
    name: "json-matches",
    validate(c, ctx) {
      for (const call of c.toolCalls) {
        if (!parses(call.arguments)) return fail(`the arguments of tool call "${call.name}" are not JSON`);
      }
      const format = ctx.request.responseFormat?.type;
      if (format !== "json" && format !== "json-schema") return PASS;
      if (c.toolCalls.length > 0 && c.text.trim() === "") return PASS; // a tool call instead of the JSON answer
      let value: unknown;
      try {
        value = JSON.parse(c.text);
      } catch (error) {
        return fail(`the answer is not JSON (${(error as Error).message})`);
      }
      if (!schema) return PASS;
      const parsed = schema.safeParse(value);
      return parsed.success ? PASS : fail(describeZodError(parsed.error, "answer").join("; "));
    },
  };
}

/**
 * What a {@link hostCheck} function returns: `true` passes; `false` fails;
 * a string fails with that string as the reason.
 */
export type HostCheckResult = boolean | string;

/**
 * The host's own test of an answer.
 *
 * @example
 * hostCheck((c) => c.text.includes("€") || "the price must be in euros", { name: "euro-prices" })
 */
export function hostCheck(
  check: (completion: Completion, ctx: RequestContext) => HostCheckResult | Promise<HostCheckResult>,
  options: { name?: string } = {},
): Validator {
  if (typeof check !== "function") throw new TypeError("hostCheck: the check must be a function");
  const name = options.name ?? "host-check";
  const verdict = (result: HostCheckResult): Verdict =>
    result === true ? PASS : fail(typeof result === "string" ? result : `rejected by ${name}`);
  return {
    name,
    validate(c, ctx) {
      const result = check(c, ctx);
      return isThenable(result) ? Promise.resolve(result).then(verdict) : verdict(result);
    },
  };
}

/** A promise, or any thenable a host returns: awaited only then, so sync validators cost no microtask. */
export function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === "function";
}

/** Empty arguments are `{}` (a tool without parameters), as the adapters send them back. */
function parses(text: string): boolean {
  if (text.trim() === "") return true;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}
