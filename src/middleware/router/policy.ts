import type { RequestContext } from "../../core/context.js";
import type { ChatRequest } from "../../core/request.js";

/** A tier of models the host routes between: a name of its choosing and a `provider:model` ref. */
export interface Tier {
  readonly name: string;
  readonly model: string;
}

/** Traits of a request that rules match on; each is detected on first read. */
export interface PromptTraits {
  /** The prompt holds code (a fenced block, or two signs such as `def f(` and a stack trace). */
  readonly code: boolean;
  /** The prompt is mathematical (LaTeX, an equation, a worded problem with numbers). */
  readonly math: boolean;
  /** The prompt asks for several steps (a numbered list, "first ... then ...", several questions). */
  readonly multiStep: boolean;
  /** The request defines tools or carries tool calls or results. */
  readonly tools: boolean;
  /** The request carries images. */
  readonly images: boolean;
}

/** What a routing policy sees. */
export interface RoutingInput {
  readonly ctx: RequestContext;
  readonly request: ChatRequest;
  /** `"auto"`, or the host route the request named. */
  readonly route: string;
  /**
   * The tiers the request may go to, cheapest first: those that passed the
   * hard constraints and the budget hook. A decision for another tier is
   * moved to the nearest of these.
   */
  readonly tiers: readonly Tier[];
  /** The text of the last user message (text parts joined by newlines): what policies judge. */
  readonly text: string;
  readonly traits: PromptTraits;
  /** The request's estimated input tokens (with the default tier's tokenizer); estimated on the first call. */
  inputTokens(): Promise<number>;
  /**
   * A bound the input tokens never exceed, from the request's size in bytes
   * alone (no tokenizer runs): enough to rule a token condition in or out
   * without an estimate in most cases.
   */
  inputTokensAtMost(): number;
}

/** A policy's choice. */
export interface PolicyDecision {
  /** A tier name of the router. */
  tier: string;
  /** Why, in a few words: recorded in `ctx.state.route.reason` and the cost record. */
  reason: string;
  /** Figures behind the choice (probabilities, thresholds), recorded with the decision. */
  scores?: Record<string, number>;
}

/**
 * A routing policy: picks a tier, or abstains (`undefined`) so that the next
 * policy decides. Policies run in the order the router lists them, after
 * the hard constraints; the first decision wins. A policy may be
 * synchronous, which keeps the decision off the microtask queue.
 */
export interface RoutingPolicy {
  readonly name: string;
  /** The tier names the policy can return, checked against the router's tiers when it is built. */
  readonly tiers?: readonly string[];
  decide(input: RoutingInput): PolicyDecision | undefined | Promise<PolicyDecision | undefined>;
}

/** What a host function returns: a tier name, a full decision, or `undefined` to abstain. */
export type HostChoice = string | PolicyDecision | undefined;

/**
 * A policy from a host function of the request: return a tier name (or a
 * decision with its reason and scores), or `undefined` to let the next
 * policy decide.
 *
 * @example
 * router({ tiers, policies: [fn((ctx) => (ctx.request.metadata?.tenant === "acme" ? "strong" : undefined))] });
 */
export function fn(
  choose: (ctx: RequestContext, input: RoutingInput) => HostChoice | Promise<HostChoice>,
  options: { name?: string } = {},
): RoutingPolicy {
  const name = options.name ?? "fn";
  const toDecision = (choice: HostChoice): PolicyDecision | undefined => {
    if (choice === undefined) return undefined;
    if (typeof choice === "string") return { tier: choice, reason: `${name}: host function` };
    return choice;
  };
  return {
    name,
    decide(input) {
      const choice = choose(input.ctx, input);
      return choice instanceof Promise ? choice.then(toDecision) : toDecision(choice);
    },
  };
}

/** Reports a host hook or policy that threw: a warning event and a log line, never a failed call. */
export function hookFailed(ctx: RequestContext, code: string, message: string, error: unknown): void {
  ctx.services.log.warn(message, { requestId: ctx.id, error });
  ctx.services.events.emit("warning", { requestId: ctx.id, code, message });
}
