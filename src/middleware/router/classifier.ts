import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import { z } from "zod";
import { AbortedError } from "../../core/errors.js";
import { parseOptions } from "../../core/options.js";
import type { ChatRequest } from "../../core/request.js";
import type { PolicyDecision, RoutingInput, RoutingPolicy } from "./policy.js";

export interface ClassifierOptions {
  /** The cheap model that classifies, `provider:model` (e.g. `openai:gpt-4o-mini`). */
  model: string;
  /** The tier for a `simple` prompt. Default: the cheapest tier the request may go to. */
  simple?: string;
  /** The tier for a `complex` prompt. Default: the costliest tier the request may go to. */
  complex?: string;
  /**
   * Verdicts remembered, by tenant and normalized prompt, so that a repeated
   * prompt costs no second call. Default 10,000; 0 remembers none. Bounded:
   * the least recently used verdict goes first.
   */
  cacheSize?: number;
  /** Characters of the prompt sent to the classifier (its beginning). Default 4,000. */
  maxPromptChars?: number;
  /** The classifier's instructions (its system prompt). Default: {@link CLASSIFIER_INSTRUCTIONS}. */
  instructions?: string;
}

/** The classifier's default system prompt: it must answer with one of the two words. */
export const CLASSIFIER_INSTRUCTIONS =
  "You route requests between a small, cheap language model and a large, capable one. " +
  "Read the user's request below (do not answer it) and reply with exactly one word: " +
  '"simple" if a small model would answer it well (lookup, short rewrite, chit-chat, classification), ' +
  'or "complex" if it needs careful reasoning, several steps, math, code, or expert knowledge.';

const schema = z
  .object({
    model: z.string().regex(/^[^:]+:.+$/, "a model ref, 'provider:model'"),
    simple: z.string().min(1).optional(),
    complex: z.string().min(1).optional(),
    cacheSize: z.number().int().nonnegative().optional(),
    maxPromptChars: z.number().int().positive().optional(),
    instructions: z.string().min(1).optional(),
  })
  .strict();

type Verdict = "simple" | "complex";

/**
 * Asks a cheap model whether a prompt is `simple` or `complex`, and routes
 * to the `simple` or `complex` tier. The call goes through
 * `ctx.services.dispatch` as a side call labelled `router-classifier`, so it
 * is one of the request's attempts and its cost is in the cost record.
 * Verdicts are cached per tenant (a tenant never learns, from a missing
 * classifier call, what another tenant asked) and per normalized prompt;
 * identical prompts in flight share one call. A failed or unreadable
 * answer abstains (the next policy decides); an abort is rethrown.
 *
 * @example
 * classifier({ model: "openai:gpt-4o-mini", cacheSize: 50_000 })
 */
export function classifier(options: ClassifierOptions): RoutingPolicy {
  const o = parseOptions(schema, options, "classifier");
  const cache = o.cacheSize === 0 ? undefined : new LRUCache<string, Verdict>({ max: o.cacheSize ?? 10_000 });
  const inflight = new Map<string, Promise<Verdict | undefined>>();
  const maxChars = o.maxPromptChars ?? 4_000;
  const instructions = o.instructions ?? CLASSIFIER_INSTRUCTIONS;

  async function classify(input: RoutingInput, key: string): Promise<Verdict | undefined> {
    const request: ChatRequest = {
      model: o.model,
      system: instructions,
      messages: [{ role: "user", content: input.text.slice(0, maxChars) }],
      maxOutputTokens: 5,
      temperature: 0,
      stream: false,
      ...(input.request.metadata && { metadata: input.request.metadata }),
    };
    try {
      const reply = await input.ctx.services.dispatch({
        ...input.ctx,
        purpose: "side-call",
        label: "router-classifier",
        request,
      });
      const verdict = parseVerdict((await reply.completion).text);
      if (verdict) cache?.set(key, verdict);
      else {
        input.ctx.services.events.emit("warning", {
          requestId: input.ctx.id,
          code: "router-classifier-unreadable",
          message: `router: the classifier ${o.model} answered neither "simple" nor "complex"`,
        });
      }
      return verdict;
    } catch (error) {
      if (error instanceof AbortedError || input.ctx.signal.aborted) throw error;
      input.ctx.services.events.emit("warning", {
        requestId: input.ctx.id,
        code: "router-classifier-failed",
        message: `router: the classifier call failed (${(error as Error).name}); the next policy decides`,
      });
      return undefined;
    }
  }

  return {
    name: "classifier",
    tiers: [o.simple, o.complex].filter((t): t is string => t !== undefined),
    async decide(input): Promise<PolicyDecision | undefined> {
      if (input.text.trim() === "") return undefined;
      const key = cacheKey(input.request.metadata?.tenant, input.text, maxChars);
      let verdict = cache?.get(key);
      let how = verdict === undefined ? "asked" : "cached";
      if (verdict === undefined) {
        let pending = inflight.get(key);
        if (pending) how = "shared";
        else {
          pending = classify(input, key).finally(() => inflight.delete(key));
          inflight.set(key, pending);
        }
        try {
          verdict = await pending;
        } catch (error) {
          // Another request's call was aborted: that is no reason to fail this one.
          if (how === "asked") throw error;
          verdict = undefined;
        }
      }
      if (verdict === undefined) return undefined;
      const tiers = input.tiers;
      const tier = verdict === "simple" ? (o.simple ?? tiers[0]!.name) : (o.complex ?? tiers.at(-1)!.name);
      return {
        tier,
        reason: `classifier: ${verdict}${how === "asked" ? "" : ` (${how})`}`,
        scores: {
          "classifier.complex": verdict === "complex" ? 1 : 0,
          "classifier.cached": how === "asked" ? 0 : 1,
        },
      };
    },
  };
}

/** The first of the two words in the answer, if any. */
function parseVerdict(text: string): Verdict | undefined {
  const match = /\b(simple|complex)\b/i.exec(text.slice(0, 200));
  return match ? (match[1]!.toLowerCase() as Verdict) : undefined;
}

/** Tenant and a hash of the prompt as sent (NFKC, lower case, single spaces): equal keys, equal verdicts. */
function cacheKey(tenant: string | undefined, text: string, maxChars: number): string {
  const normalized = text.slice(0, maxChars).normalize("NFKC").toLowerCase().replace(/\s+/g, " ").trim();
  const hash = createHash("sha256").update(normalized).digest("base64url");
  return `${tenant === undefined ? "-" : `t:${tenant}`}|${hash}`;
}
