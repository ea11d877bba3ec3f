import { z } from "zod";
import type { RequestContext } from "../../core/context.js";
import { ConfigError } from "../../core/errors.js";
import { parseOptions } from "../../core/options.js";
import { hookFailed, type PolicyDecision, type RoutingInput, type RoutingPolicy } from "./policy.js";

/**
 * What a rule matches; every condition given must hold (AND). A list
 * (`task: ["faq", "chitchat"]`) matches any of its values.
 */
export interface RuleConditions {
  /** `request.metadata.task` is one of these. */
  task?: string | readonly string[];
  /** The tenant's plan, as the rules' `planOf(ctx)` gives it ("free", "paid"). */
  plan?: string | readonly string[];
  /** `request.metadata.tenant` is one of these. */
  tenant?: string | readonly string[];
  /** `request.metadata.tags` holds at least one of these. */
  tags?: readonly string[];
  /** `request.metadata.priority` is this. */
  priority?: "interactive" | "deferrable";
  /** Estimated input tokens are at least this many. */
  minInputTokens?: number;
  /** Estimated input tokens are at most this many. */
  maxInputTokens?: number;
  /** The last user message holds code (`true`) or does not (`false`); see detectors.ts. */
  code?: boolean;
  /** The last user message is mathematical, or is not. */
  math?: boolean;
  /** The last user message asks for several steps, or does not. */
  multiStep?: boolean;
  /** The request uses tools (defines them, or carries tool calls or results), or does not. */
  tools?: boolean;
  /** The request carries images, or does not. */
  images?: boolean;
}

/** One rule: when its conditions hold (or its function says so), the request goes to `tier`. */
export interface Rule {
  /** Named in the decision's reason. Default `#<index>`. */
  name?: string;
  when: RuleConditions | ((input: RoutingInput) => boolean);
  tier: string;
}

export interface RulesOptions {
  /** The tenant's plan, for rules with a `plan` condition (e.g. from the host's account data). */
  planOf?: (ctx: RequestContext) => string | undefined;
}

const oneOrMany = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);
const conditionsSchema = z
  .object({
    task: oneOrMany.optional(),
    plan: oneOrMany.optional(),
    tenant: oneOrMany.optional(),
    tags: z.array(z.string()).min(1).optional(),
    priority: z.enum(["interactive", "deferrable"]).optional(),
    minInputTokens: z.number().int().nonnegative().optional(),
    maxInputTokens: z.number().int().nonnegative().optional(),
    code: z.boolean().optional(),
    math: z.boolean().optional(),
    multiStep: z.boolean().optional(),
    tools: z.boolean().optional(),
    images: z.boolean().optional(),
  })
  .strict()
  .refine((c) => Object.keys(c).length > 0, "a rule needs at least one condition");
const ruleSchema = z
  .object({
    name: z.string().min(1).optional(),
    when: z.union([z.function(), conditionsSchema]),
    tier: z.string().min(1),
  })
  .strict();
const schema = z.object({
  rules: z.array(ruleSchema),
  options: z.object({ planOf: z.function().optional() }).strict(),
});

/**
 * Routes by rules, first match wins; abstains when none matches. Conditions
 * are checked cheapest first (metadata, then traits, then the token
 * estimate), and the reason names the rule and what it matched.
 *
 * @example
 * rules([
 *   { name: "free plan", when: { plan: "free" }, tier: "cheap" },
 *   { name: "long", when: { minInputTokens: 50_000 }, tier: "long-context" },
 *   { name: "code", when: { code: true }, tier: "strong" },
 *   { when: { task: ["faq", "classify"] }, tier: "cheap" },
 * ], { planOf: (ctx) => plans.get(ctx.request.metadata?.tenant ?? "") })
 */
export function rules(list: readonly Rule[], options: RulesOptions = {}): RoutingPolicy {
  parseOptions(schema, { rules: list, options }, "rules", "rules");
  list.forEach((rule, i) => {
    if (typeof rule.when !== "function" && rule.when.plan !== undefined && !options.planOf) {
      throw new ConfigError(
        `invalid rules: rules[${i}].when.plan needs options.planOf to know a tenant's plan`,
      );
    }
  });
  const compiled = list.map((rule, i) => ({ ...rule, label: rule.name ?? `#${i}` }));

  return {
    name: "rules",
    tiers: [...new Set(list.map((r) => r.tier))],
    decide(input) {
      // Synchronous unless a token condition needs the estimate.
      for (let i = 0; i < compiled.length; i++) {
        const verdict = judge(compiled[i]!, input, options);
        if (verdict === "estimate") return decideWithEstimate(compiled, i, input, options);
        if (verdict !== "no") return verdict;
      }
      return undefined;
    },
  };
}

type Compiled = Rule & { label: string };

async function decideWithEstimate(
  compiled: readonly Compiled[],
  from: number,
  input: RoutingInput,
  options: RulesOptions,
): Promise<PolicyDecision | undefined> {
  for (let i = from; i < compiled.length; i++) {
    const rule = compiled[i]!;
    const verdict = judge(rule, input, options);
    if (verdict === "no") continue;
    if (verdict !== "estimate") return verdict;
    const when = rule.when as RuleConditions;
    const tokens = await input.inputTokens();
    if (when.minInputTokens !== undefined && tokens < when.minInputTokens) continue;
    if (when.maxInputTokens !== undefined && tokens > when.maxInputTokens) continue;
    return decision(rule.label, rule.tier, [...matchSync(when, input, options)!, `~${tokens} input tokens`]);
  }
  return undefined;
}

/** A rule's decision, "no", or "estimate" when only the token estimate can tell. */
function judge(
  rule: Compiled,
  input: RoutingInput,
  options: RulesOptions,
): PolicyDecision | "no" | "estimate" {
  if (typeof rule.when === "function") {
    let holds: boolean;
    try {
      holds = rule.when(input);
    } catch (error) {
      hookFailed(
        input.ctx,
        "router-hook-failed",
        `router: rule "${rule.label}"'s condition threw; it does not match`,
        error,
      );
      return "no";
    }
    return holds ? decision(rule.label, rule.tier, ["host condition"]) : "no";
  }
  const matched = matchSync(rule.when, input, options);
  if (matched === undefined) return "no";
  const byBound = boundVerdict(rule.when, input, matched);
  if (byBound === undefined) return "estimate";
  return byBound ? decision(rule.label, rule.tier, matched) : "no";
}

/**
 * Token conditions judged from the byte bound alone: `false` when the bound
 * is below `minInputTokens` (the rule cannot match), `true` when there is
 * no token condition or the bound already satisfies every one (it adds
 * "<= N input tokens" to `matched`), `undefined` when only an estimate can tell.
 */
function boundVerdict(c: RuleConditions, input: RoutingInput, matched?: string[]): boolean | undefined {
  const { minInputTokens: min, maxInputTokens: max } = c;
  if (min === undefined && max === undefined) return true;
  const bound = input.inputTokensAtMost();
  if (min !== undefined && bound < min) return false;
  if (min === undefined && max !== undefined && bound <= max) {
    matched?.push(`<= ${bound} input tokens`);
    return true;
  }
  return undefined;
}

/**
 * The matched conditions' descriptions, or undefined when one fails (token
 * conditions are left to the caller). Runs for every rule of every routed
 * request, and most fail on their first condition: the list is allocated on
 * the first match, and each condition is read by name (no keyed lookups).
 */
function matchSync(c: RuleConditions, input: RoutingInput, options: RulesOptions): string[] | undefined {
  let matched: string[] | undefined;
  const meta = input.request.metadata;
  if (c.task !== undefined) {
    if (!includes(c.task, meta?.task)) return undefined;
    matched = add(matched, `task=${meta!.task}`);
  }
  if (c.tenant !== undefined) {
    if (!includes(c.tenant, meta?.tenant)) return undefined;
    matched = add(matched, "tenant");
  }
  if (c.tags !== undefined) {
    const tag = c.tags.find((t) => meta?.tags?.includes(t));
    if (tag === undefined) return undefined;
    matched = add(matched, `tag=${tag}`);
  }
  if (c.priority !== undefined) {
    if ((meta?.priority ?? "interactive") !== c.priority) return undefined;
    matched = add(matched, `priority=${c.priority}`);
  }
  if (c.plan !== undefined) {
    const plan = planOf(options, input.ctx);
    if (!includes(c.plan, plan)) return undefined;
    matched = add(matched, `plan=${plan}`);
  }
  // The traits, each read (and so detected) only when a condition names it.
  for (const trait of TRAITS) {
    const wanted = c[trait];
    if (wanted === undefined) continue;
    if (input.traits[trait] !== wanted) return undefined;
    matched = add(matched, wanted ? trait : `no ${trait}`);
  }
  return matched ?? [];
}

const TRAITS = ["code", "math", "multiStep", "tools", "images"] as const;

function add(list: string[] | undefined, item: string): string[] {
  if (list === undefined) return [item];
  list.push(item);
  return list;
}

function includes(allowed: string | readonly string[], value: string | undefined): boolean {
  if (value === undefined) return false;
  return typeof allowed === "string" ? allowed === value : allowed.includes(value);
}

function decision(label: string, tier: string, matched: readonly string[]): PolicyDecision {
  return { tier, reason: `rule ${label}: ${matched.join(", ")}` };
}

/** The tenant's plan from the host's `planOf`; none when it throws (a `plan` condition then does not match). */
function planOf(options: RulesOptions, ctx: RequestContext): string | undefined {
  try {
    return options.planOf?.(ctx);
  } catch (error) {
    hookFailed(ctx, "router-hook-failed", "router: planOf threw; plan conditions do not match", error);
    return undefined;
  }
}
