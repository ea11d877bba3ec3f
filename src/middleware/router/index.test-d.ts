import { describe, expectTypeOf, it } from "vitest";
import type { Completion } from "../../core/completion.js";
import type { RequestContext } from "../../core/context.js";
import type { RouteDecision } from "../../core/cost-record.js";
import type { EventMap } from "../../core/events.js";
import type { Middleware } from "../../core/middleware.js";
import {
  classifier,
  fn,
  type KnnModel,
  knn,
  type PolicyDecision,
  type RouteDecidedEvent,
  type RoutingPolicy,
  router,
  rules,
} from "./index.js";

describe("router types", () => {
  it("is a middleware, and its policies are RoutingPolicy", () => {
    expectTypeOf(router).returns.toExtend<Middleware>();
    expectTypeOf(rules).returns.toEqualTypeOf<RoutingPolicy>();
    expectTypeOf(classifier).returns.toEqualTypeOf<RoutingPolicy>();
    expectTypeOf(knn).returns.toEqualTypeOf<RoutingPolicy>();
    expectTypeOf(fn).returns.toEqualTypeOf<RoutingPolicy>();
  });

  it("puts the decision on the typed context state and the completion's meta", () => {
    expectTypeOf<RequestContext["state"]["route"]>().toEqualTypeOf<RouteDecision | undefined>();
    expectTypeOf<Completion["meta"]["state"]["route"]>().toEqualTypeOf<RouteDecision | undefined>();
  });

  it("declares its event", () => {
    expectTypeOf<EventMap["route-decided"]>().toEqualTypeOf<RouteDecidedEvent>();
    expectTypeOf<RouteDecidedEvent["tier"]>().toEqualTypeOf<string>();
    expectTypeOf<RouteDecidedEvent["scores"]>().toEqualTypeOf<Record<string, number>>();
    expectTypeOf<RouteDecidedEvent["policy"]>().toEqualTypeOf<string | null>();
  });

  it("lets a host function return a tier name, a decision or nothing, sync or async", () => {
    fn(() => "cheap");
    fn(() => undefined);
    fn(async () => ({ tier: "strong", reason: "vip" }) satisfies PolicyDecision);
    // @ts-expect-error a tier is a string
    fn(() => 3);
  });

  it("takes a trained model", () => {
    expectTypeOf(knn).parameter(0).toHaveProperty("model").toEqualTypeOf<KnnModel>();
  });
});
