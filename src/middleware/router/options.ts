import { z } from "zod";
import type { RequestContext } from "../../core/context.js";
import type { RouteDecision } from "../../core/cost-record.js";
import type { TokenEstimator } from "../../tokens/index.js";
import type { ModelCapabilities } from "./catalog.js";
import type { TierRejection } from "./errors.js";
import type { RoutingPolicy, Tier } from "./policy.js";

/** A host-named route: callers ask for it as `model: "<name>"`. */
export interface RouteOptions {
  /** The tiers this route may use, by name, cheapest first. Default: all of the router's. */
  tiers?: readonly string[];
  /** Its policies, in order. Default: the router's `policies`. */
  policies?: readonly RoutingPolicy[];
  /** The tier when no policy decides. Default: the router's default when the route has it, else the route's costliest tier. */
  default?: string;
}

/** The payload of the `route-decided` event and the `onDecision` hook. */
export interface RouteDecidedEvent extends Required<Omit<RouteDecision, "tier">> {
  requestId: string;
  tier: string;
  /** `"auto"` or the host route's name. */
  route: string;
  /** The policy that decided; `null` when none did and the default applied. */
  policy: string | null;
  /** The tiers the hard constraints ruled out, and why. */
  excluded: TierRejection[];
  /** True when the budget hook narrowed the tiers (a tenant over its soft limit). */
  routedDown: boolean;
}

export interface RouterOptions {
  /**
   * The tiers, cheapest first: a host name and a `provider:model` ref each.
   * "Cheaper" means earlier in this list (budget routing goes down it; a
   * policy's choice that a constraint rules out moves to the nearest tier).
   * Every model must be in the catalog (built-in or `catalog`).
   */
  tiers: readonly Tier[];
  /** Policies for `model: "auto"`, in order; the first that decides wins. Default: none (the default tier). */
  policies?: readonly RoutingPolicy[];
  /** The tier when no policy decides. Default: the last (costliest) tier: quality first. */
  default?: string;
  /** Host-named routes, used as `model: "<name>"`. A name is not `auto` and holds no `:`. */
  routes?: Record<string, RouteOptions>;
  /**
   * Capabilities by model ref (`"openai:ft:gpt-4o-mini:acme"`) or bare model
   * name, laid over the built-in catalog (catalog.ts); a model the built-in
   * catalog lacks needs every field.
   */
  catalog?: Record<string, Partial<ModelCapabilities>>;
  /**
   * Estimates input tokens for the context-window check. Default: the client's
   * (`createClient({ tokens })`), calibrated from its answers; an estimator given
   * here alone is not (the client calibrates only its own).
   */
  tokens?: TokenEstimator;
  /**
   * Output tokens reserved in the context window when the request sets no
   * `maxOutputTokens` (capped by the model's output limit). Default 4,096,
   * the `max_tokens` the Anthropic adapter sends by default.
   */
  outputReserve?: number;
  /**
   * The budget hook: given the tiers that passed the hard constraints
   * (cheapest first) and the route's default tier, returns the tiers the
   * request may use. Default: when `ctx.state.budget.overSoftLimit`, the
   * tiers cheaper than the default (else the cheapest). An empty result is
   * ignored: the hard constraints already left these tiers.
   */
  routeDown?: (ctx: RequestContext, allowed: readonly Tier[], defaultTier: Tier) => readonly Tier[];
  /** Called with each decision, before the call. A throw is logged, never propagated. */
  onDecision?: (decision: RouteDecidedEvent, ctx: RequestContext) => void;
}

const policySchema = z.custom<RoutingPolicy>(
  (p) => typeof (p as RoutingPolicy)?.decide === "function" && typeof (p as RoutingPolicy).name === "string",
  "expected a routing policy such as rules([...]), classifier({...}), knn({...}) or fn(...)",
);

export const routerOptionsSchema = z
  .object({
    tiers: z
      .array(
        z
          .object({
            name: z.string().min(1),
            model: z.string().regex(/^[^:]+:.+$/, "a model ref, 'provider:model'"),
          })
          .strict(),
      )
      .min(1),
    policies: z.array(policySchema).optional(),
    default: z.string().min(1).optional(),
    routes: z
      .record(
        z
          .string()
          .min(1)
          .refine((n) => n !== "auto" && !n.includes(":"), "a route name is not 'auto' and holds no ':'"),
        z
          .object({
            tiers: z.array(z.string().min(1)).min(1).optional(),
            policies: z.array(policySchema).optional(),
            default: z.string().min(1).optional(),
          })
          .strict(),
      )
      .optional(),
    catalog: z
      .record(
        z.string().min(1),
        z
          .object({
            contextWindow: z.number().int().positive().optional(),
            maxInputTokens: z.number().int().positive().optional(),
            maxOutputTokens: z.number().int().positive().optional(),
            tools: z.boolean().optional(),
            vision: z.boolean().optional(),
            json: z.boolean().optional(),
          })
          .strict(),
      )
      .optional(),
    tokens: z
      .custom<TokenEstimator>(
        (t) => typeof (t as TokenEstimator)?.estimateRequest === "function",
        "expected a TokenEstimator (tokenEstimator())",
      )
      .optional(),
    outputReserve: z.number().int().nonnegative().optional(),
    routeDown: z.function().optional(),
    onDecision: z.function().optional(),
  })
  .strict();
