import { z } from "zod";
import type { Completion } from "../../core/completion.js";
import type { RequestContext } from "../../core/context.js";
import { parseOptions } from "../../core/options.js";
import type { ChatRequest } from "../../core/request.js";
import { PASS, type Validator } from "./validators.js";

export interface JudgeOptions {
  /** The model that grades, as a ref (`openai:gpt-4o-mini`): a cheap one. */
  model: string;
  /**
   * What a good answer does, in plain words ("answers the question asked,
   * cites the policy section, no legal advice"); or a function of the
   * step's context, for a rubric per task.
   */
  rubric: string | ((ctx: RequestContext) => string);
  /** The lowest passing score on the judge's 0–10 scale. Default 7; 0 passes every score. */
  threshold?: number;
  /**
   * Output tokens the judge may spend. Default 16, enough for a number; a
   * reasoning model spends reasoning tokens from it and needs more.
   */
  maxOutputTokens?: number;
  /** The judge's temperature. Default: the model's own (reasoning models accept no other). */
  temperature?: number;
}

const optionsSchema = z
  .object({
    model: z.string().min(1),
    rubric: z.union([z.string().min(1), z.function()]),
    threshold: z.number().min(0).max(10).optional(),
    maxOutputTokens: z.number().int().positive().optional(),
    temperature: z.number().min(0).max(2).optional(),
  })
  .strict();

const INSTRUCTIONS =
  "You grade an assistant's answer against a rubric. Reply with one integer from 0 (fails the rubric) " +
  "to 10 (fully meets it), and nothing else.";

/**
 * Asks a cheap model to grade the answer against a rubric, on a 0–10 scale.
 * The call is a side call through `ctx.services.dispatch` (purpose
 * `side-call`, label `cascade-judge`): it is an attempt of the request,
 * priced at the judge's model, and in the cost record. The judge sees the
 * rubric, the last user message and the answer. A reply with no score in
 * 0–10 fails the answer; a judge call that fails makes the validator throw,
 * which fails the answer too.
 *
 * @example
 * cascade({
 *   models: ["openai:gpt-4o-mini", "anthropic:claude-sonnet-4-6"],
 *   validators: [...defaultValidators(), judge({ model: "openai:gpt-4o-mini", rubric: "Answers the question asked" })],
 * })
 */
export function judge(options: JudgeOptions): Validator {
  parseOptions(optionsSchema, options, "judge");
  const threshold = options.threshold ?? 7;
  return {
    name: "judge",
    async validate(completion, ctx) {
      const rubric = typeof options.rubric === "function" ? options.rubric(ctx) : options.rubric;
      const request: ChatRequest = {
        model: options.model,
        stream: false, // a streamed caller's request has stream: true; the judge never streams
        system: INSTRUCTIONS,
        messages: [
          {
            role: "user",
            content: `Rubric:\n${rubric}\n\nQuestion:\n${lastUserText(ctx.request)}\n\nAnswer:\n${answerText(completion)}`,
          },
        ],
        maxOutputTokens: options.maxOutputTokens ?? 16,
        ...(options.temperature !== undefined && { temperature: options.temperature }),
        ...(ctx.request.metadata && { metadata: ctx.request.metadata }),
      };
      const reply = await ctx.services.dispatch({
        ...ctx,
        purpose: "side-call",
        label: "cascade-judge",
        request,
      });
      const { text } = await reply.completion;
      const score = scoreOf(text);
      if (score === undefined)
        return { ok: false, reason: `the judge gave no 0-10 score ("${text.slice(0, 40)}")` };
      return score >= threshold
        ? PASS
        : { ok: false, reason: `the judge scored ${score}/10 (threshold ${threshold})` };
    },
  };
}

/** The first number in the judge's reply, when it is within 0–10. */
function scoreOf(text: string): number | undefined {
  const match = /\d+(?:\.\d+)?/.exec(text);
  const score = match ? Number(match[0]) : Number.NaN;
  return score >= 0 && score <= 10 ? score : undefined;
}

function lastUserText(request: ChatRequest): string {
  const last = request.messages.findLast((m) => m.role === "user");
  if (!last) return "";
  if (typeof last.content === "string") return last.content;
  return last.content.map((p) => (p.type === "text" ? p.text : "[image]")).join("\n");
}

function answerText(c: Completion): string {
  const calls = c.toolCalls.map((t) => `[tool call ${t.name}(${t.arguments})]`);
  return [c.text, ...calls, ...(c.refusal === undefined ? [] : [`[refusal: ${c.refusal}]`])]
    .filter((s) => s !== "")
    .join("\n");
}
