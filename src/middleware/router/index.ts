import type { RequestContext } from "../../core/context.js";
import { ConfigError } from "../../core/errors.js";
import type { Middleware, Next } from "../../core/middleware.js";
import { parseOptions } from "../../core/options.js";
import type { Reply } from "../../core/reply.js";
import { capabilitiesOf } from "./catalog.js";
import type { CheckedTier } from "./constraints.js";
import { type CompiledRoute, type DecideEnv, type Decision, decideRoute } from "./decide.js";
import { type RouteDecidedEvent, type RouterOptions, routerOptionsSchema } from "./options.js";
import type { RoutingPolicy } from "./policy.js";

export { BUILT_IN_CATALOG, capabilitiesOf, type ModelCapabilities } from "./catalog.js";
export { CLASSIFIER_INSTRUCTIONS, type ClassifierOptions, classifier } from "./classifier.js";
export { looksLikeCode, looksLikeMath, looksMultiStep } from "./detectors.js";
export { NoRouteError, type TierRejection } from "./errors.js";
export {
  examplesFromLedger,
  examplesFromRouting,
  type LedgerFeedbackOptions,
  parseRoutingJsonl,
  type RoutingExampleOptions,
  type RoutingRecord,
  splitRecords,
} from "./knn/examples.js";
export {
  costAware,
  KnnModel,
  type KnnModelJson,
  type KnnPrediction,
} from "./knn/model.js";
export { type KnnPolicyOptions, knn } from "./knn/policy.js";
export { type KnnExample, type TrainKnnOptions, trainKnn } from "./knn/train.js";
export type { RouteDecidedEvent, RouteOptions, RouterOptions } from "./options.js";
export {
  fn,
  type HostChoice,
  type PolicyDecision,
  type PromptTraits,
  type RoutingInput,
  type RoutingPolicy,
  type Tier,
} from "./policy.js";
export { type Rule, type RuleConditions, type RulesOptions, rules } from "./rules.js";

declare module "../../core/events.js" {
  interface EventMap {
    /** The router chose a tier for a request (`model: "auto"` or a host route), before the call. */
    "route-decided": RouteDecidedEvent;
  }
}

/**
 * Chooses the model for requests that ask for `model: "auto"` (or a host
 * route's name) and leaves every other request alone. In order: the hard
 * constraints rule out tiers whose model cannot take the request (context
 * window, output limit, tools, vision, JSON), and a request no tier can
 * take fails with `NoRouteError` before any call; the budget hook narrows
 * the tiers for a tenant over its soft limit; the policies run in order
 * until one decides; else the default tier. The decision is written to
 * `ctx.state.route` (and so to the cost record), emitted as
 * `route-decided`, and the request goes on with the tier's model.
 *
 * @example
 * const llm = createClient({
 *   providers,
 *   middleware: [
 *     costTracker(),
 *     router({
 *       tiers: [{ name: "cheap", model: "openai:gpt-4o-mini" }, { name: "strong", model: "anthropic:claude-sonnet-4-6" }],
 *       policies: [
 *         rules([{ when: { plan: "free" }, tier: "cheap" }, { when: { code: true }, tier: "strong" }], { planOf }),
 *         knn({ model: KnnModel.fromJSON(readFileSync("knn.json", "utf8")), threshold: 0.8 }),
 *       ],
 *     }),
 *   ],
 * });
 * await llm.chat({ model: "auto", messages: [{ role: "user", content: "Summarize this memo: ..." }] });
 */
export function router(options: RouterOptions): Middleware {
  const o = parseOptions(routerOptionsSchema, options, "router");
  const tiers = o.tiers.map((tier, rank): CheckedTier => {
    const capabilities = capabilitiesOf(tier.model, o.catalog);
    if (!capabilities) {
      throw new ConfigError(
        `invalid router options:\n  options.tiers[${rank}].model: "${tier.model}" is not in the built-in catalog; ` +
          `add options.catalog["${tier.model}"] = { contextWindow, maxOutputTokens, tools, vision, json }`,
      );
    }
    const colon = tier.model.indexOf(":");
    return {
      ...tier,
      ref: { provider: tier.model.slice(0, colon), model: tier.model.slice(colon + 1) },
      capabilities,
      rank,
    };
  });
  const byName = new Map<string, CheckedTier>();
  for (const t of tiers) {
    if (byName.has(t.name))
      throw new ConfigError(`invalid router options:\n  options.tiers: the name "${t.name}" is used twice`);
    byName.set(t.name, t);
  }
  const tierNamed = (name: string, field: string): CheckedTier => {
    const t = byName.get(name);
    if (!t)
      throw new ConfigError(
        `invalid router options:\n  ${field}: no tier is named "${name}" (tiers: ${[...byName.keys()].join(", ")})`,
      );
    return t;
  };
  const checkPolicies = (policies: readonly RoutingPolicy[], field: string) => {
    policies.forEach((p, i) => {
      for (const name of p.tiers ?? []) tierNamed(name, `${field}[${i}] (${p.name})`);
    });
    return policies;
  };
  const fallback = o.default === undefined ? tiers.at(-1)! : tierNamed(o.default, "options.default");
  const policies = checkPolicies(options.policies ?? [], "options.policies");
  const routes = new Map<string, CompiledRoute>([["auto", { name: "auto", tiers, policies, fallback }]]);
  for (const [name, route] of Object.entries(options.routes ?? {})) {
    const field = `options.routes.${name}`;
    const own = route.tiers
      ? route.tiers.map((t, i) => tierNamed(t, `${field}.tiers[${i}]`)).sort((a, b) => a.rank - b.rank)
      : tiers;
    const ownDefault =
      route.default !== undefined
        ? tierNamed(route.default, `${field}.default`)
        : own.includes(fallback)
          ? fallback
          : own.at(-1)!;
    if (!own.includes(ownDefault)) {
      throw new ConfigError(
        `invalid router options:\n  ${field}.default: "${ownDefault.name}" is not one of the route's tiers`,
      );
    }
    const ownPolicies = route.policies ? checkPolicies(route.policies, `${field}.policies`) : policies;
    routes.set(name, { name, tiers: own, policies: ownPolicies, fallback: ownDefault });
  }
  const env: DecideEnv = {
    byName,
    tokens: options.tokens,
    outputReserve: o.outputReserve ?? 4096,
    routeDown: options.routeDown,
  };

  const proceed = (ctx: RequestContext, next: Next, { event, chosen }: Decision): Promise<Reply> => {
    ctx.state.route = {
      model: event.model,
      tier: event.tier,
      reason: event.reason,
      scores: event.scores,
      baseline: event.baseline,
    };
    ctx.services.events.emit("route-decided", event);
    if (options.onDecision) {
      try {
        options.onDecision(event, ctx);
      } catch (error) {
        ctx.services.log.warn("router: onDecision threw; the call goes on", { error });
      }
    }
    return next({ ...ctx, request: { ...ctx.request, model: chosen.model } });
  };

  return {
    name: "router",
    handle(ctx, next) {
      const route = routes.get(ctx.request.model);
      if (!route) return next(ctx);
      let decision: Decision | Promise<Decision>;
      try {
        decision = decideRoute(ctx, route, env);
      } catch (error) {
        return Promise.reject(error);
      }
      return decision instanceof Promise
        ? decision.then((d) => proceed(ctx, next, d))
        : proceed(ctx, next, decision);
    },
  };
}
