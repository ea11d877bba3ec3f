import type { RequestContext } from "../../core/context.js";
import { AbortedError } from "../../core/errors.js";
import type { TokenEstimator } from "../../tokens/index.js";
import {
  type CheckedTier,
  checkTiers,
  defaultRouteDown,
  nearestAllowed,
  RequestTokens,
  type TierCheck,
} from "./constraints.js";
import { NoRouteError, type TierRejection } from "./errors.js";
import { routingInput } from "./input.js";
import type { RouteDecidedEvent, RouterOptions } from "./options.js";
import { hookFailed, type PolicyDecision, type RoutingInput, type RoutingPolicy } from "./policy.js";

/** A route as the router runs it: `auto` or a host route, resolved against the tiers. */
export interface CompiledRoute {
  readonly name: string;
  /** Cheapest first. */
  readonly tiers: readonly CheckedTier[];
  readonly policies: readonly RoutingPolicy[];
  readonly fallback: CheckedTier;
}

export interface DecideEnv {
  readonly byName: ReadonlyMap<string, CheckedTier>;
  /** The router's own estimator; undefined: the client's (`ctx.services.tokens`). */
  readonly tokens: TokenEstimator | undefined;
  readonly outputReserve: number;
  readonly routeDown: RouterOptions["routeDown"];
}

/** The router's decision: the event it emits, and the tier it chose. */
export interface Decision {
  readonly event: RouteDecidedEvent;
  readonly chosen: CheckedTier;
}

/**
 * The router's decision for one request: constraints, budget hook,
 * policies in order, default. Synchronous whenever no step needs to wait
 * (no token estimate, no asynchronous policy), so a routine decision costs
 * no trip through the microtask queue. Throws `NoRouteError` when no tier
 * can take the request.
 */
export function decideRoute(
  ctx: RequestContext,
  route: CompiledRoute,
  env: DecideEnv,
): Decision | Promise<Decision> {
  const tokens = new RequestTokens(ctx.request, env.tokens ?? ctx.services.tokens);
  const checked = checkTiers(route.tiers, tokens, env.outputReserve);
  return checked instanceof Promise
    ? checked.then((c) => afterConstraints(ctx, route, env, tokens, c))
    : afterConstraints(ctx, route, env, tokens, checked);
}

function afterConstraints(
  ctx: RequestContext,
  route: CompiledRoute,
  env: DecideEnv,
  tokens: RequestTokens,
  { allowed, rejected }: TierCheck,
): Decision | Promise<Decision> {
  if (allowed.length === 0) {
    const error = new NoRouteError(route.name, rejected);
    error.attempts = ctx.attempts;
    throw error;
  }
  const narrowed = narrow(ctx, env, allowed, route.fallback);
  // Token conditions are judged with the default tier's tokenizer (or the costliest allowed one's).
  const measured = narrowed.includes(route.fallback) ? route.fallback : narrowed.at(-1)!;
  const input = routingInput(ctx, route.name, narrowed, tokens, measured);
  return new PolicyRun(ctx, route, env, input, allowed, rejected, narrowed).from(0);
}

/** The policies of one decision, run in order until one decides, then the decision (a class: no closure per request). */
class PolicyRun {
  constructor(
    readonly ctx: RequestContext,
    readonly route: CompiledRoute,
    readonly env: DecideEnv,
    readonly input: RoutingInput,
    readonly allowed: readonly CheckedTier[],
    readonly rejected: TierRejection[],
    readonly narrowed: readonly CheckedTier[],
  ) {}

  /** The policies from `from` on, until one decides; synchronous while they are. */
  from(from: number): Decision | Promise<Decision> {
    const policies = this.route.policies;
    for (let i = from; i < policies.length; i++) {
      const policy = policies[i]!;
      let result: ReturnType<RoutingPolicy["decide"]>;
      try {
        result = policy.decide(this.input);
      } catch (error) {
        this.failed(policy, error);
        continue;
      }
      if (result instanceof Promise) {
        return result.then(
          (d) => (this.usable(policy, d) ? this.finish(d, policy) : this.from(i + 1)),
          (error: unknown) => {
            this.failed(policy, error);
            return this.from(i + 1);
          },
        );
      }
      if (this.usable(policy, result)) return this.finish(result, policy);
    }
    return this.finish(undefined, undefined);
  }

  /** A policy that threw abstains, with a warning: a routing hook never fails the call (a caller's abort still ends it). */
  failed(policy: RoutingPolicy, error: unknown): void {
    if (error instanceof AbortedError || this.ctx.signal.aborted) throw error;
    hookFailed(
      this.ctx,
      "router-policy-failed",
      `router: policy "${policy.name}" threw; the next policy decides`,
      error,
    );
  }

  /** A decision for a tier the router has; a policy naming another one is reported, and the next one decides. */
  usable(policy: RoutingPolicy, d: PolicyDecision | undefined): d is PolicyDecision {
    if (d === undefined) return false;
    if (this.env.byName.has(d.tier)) return true;
    this.ctx.services.events.emit("warning", {
      requestId: this.ctx.id,
      code: "router-unknown-tier",
      message: `router: policy "${policy.name}" chose "${d.tier}", which is no tier; the next policy decides`,
    });
    return false;
  }

  finish(decision: PolicyDecision | undefined, policy: RoutingPolicy | undefined): Decision {
    const { ctx, route, allowed, rejected, narrowed } = this;
    const wanted = decision ? this.env.byName.get(decision.tier)! : route.fallback;
    const chosen = narrowed.includes(wanted) ? wanted : nearestAllowed(wanted, narrowed);
    const routedDown = narrowed.length < allowed.length;
    let reason = decision?.reason ?? "default tier";
    if (chosen !== wanted) {
      const why =
        rejected.find((r) => r.tier === wanted.name)?.reason ??
        (allowed.includes(wanted) ? "budget: over the soft limit" : "not in this route");
      reason += `; ${wanted.name} ruled out (${why}), nearest: ${chosen.name}`;
    } else if (routedDown) reason += "; budget: over the soft limit, cheaper tiers only";
    const scores = { ...decision?.scores };
    if (routedDown) scores["budget.routedDown"] = 1;
    const event: RouteDecidedEvent = {
      requestId: ctx.id,
      route: route.name,
      model: chosen.model,
      tier: chosen.name,
      reason,
      scores,
      // Without routing the request would go to the costliest tier that can take it (budget narrowing is routing).
      baseline: allowed.at(-1)!.model,
      policy: policy?.name ?? null,
      excluded: rejected,
      routedDown,
    };
    return { event, chosen };
  }
}

function narrow(
  ctx: RequestContext,
  env: DecideEnv,
  allowed: CheckedTier[],
  fallback: CheckedTier,
): readonly CheckedTier[] {
  if (!env.routeDown) return defaultRouteDown(ctx, allowed, fallback);
  let names: Set<string>;
  try {
    names = new Set(env.routeDown(ctx, allowed, fallback).map((t) => t.name));
  } catch (error) {
    hookFailed(ctx, "router-hook-failed", "router: routeDown threw; the default budget rule applies", error);
    return defaultRouteDown(ctx, allowed, fallback);
  }
  const kept = allowed.filter((t) => names.has(t.name));
  return kept.length ? kept : allowed;
}
