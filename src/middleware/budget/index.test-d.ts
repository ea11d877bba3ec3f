import { describe, expectTypeOf, it } from "vitest";
import type { Completion } from "../../core/completion.js";
import type { RequestContext } from "../../core/context.js";
import type { BudgetStatus } from "../../core/cost-record.js";
import type { FrugalError } from "../../core/errors.js";
import type { EventMap } from "../../core/events.js";
import type { Middleware } from "../../core/middleware.js";
import type { SpendCounters } from "../../storage/memory/counters.js";
import type { CompactionOutcome } from "../compaction/index.js";
import type {
  Budget,
  BudgetError,
  BudgetExceededError,
  BudgetOptions,
  SpendOutcome,
  TaskPolicyOutcome,
  TaskViolations,
} from "./index.js";

type State = Completion["meta"]["state"];

describe("budget types", () => {
  it("is a middleware with violation counts by task", () => {
    expectTypeOf<Budget>().toExtend<Middleware>();
    expectTypeOf<ReturnType<Budget["violations"]>>().toEqualTypeOf<Record<string, TaskViolations>>();
  });

  it("puts its outcomes on the typed context state, next to the shared BudgetStatus", () => {
    expectTypeOf<State["budget"]>().toEqualTypeOf<BudgetStatus | undefined>();
    expectTypeOf<State["spend"]>().toEqualTypeOf<SpendOutcome | undefined>();
    expectTypeOf<State["budgetPolicy"]>().toEqualTypeOf<TaskPolicyOutcome | undefined>();
    expectTypeOf<State["compaction"]>().toEqualTypeOf<CompactionOutcome | undefined>();
    expectTypeOf<TaskPolicyOutcome["action"]>().toEqualTypeOf<
      "none" | "truncated" | "summarized" | "deferred"
    >();
  });

  it("declares its events", () => {
    expectTypeOf<EventMap["budget-exceeded"]["kind"]>().toEqualTypeOf<"input" | "output" | "spend">();
    expectTypeOf<EventMap["budget-store-error"]["policy"]>().toEqualTypeOf<"fail-closed" | "fail-open">();
    expectTypeOf<EventMap["budget-soft-limit"]["spentUsd"]>().toEqualTypeOf<number>();
  });

  it("types its options: limit functions see the request context, counters are the storage interface", () => {
    type Limit = NonNullable<BudgetOptions["limits"]>[number];
    expectTypeOf<Limit["limitUsd"]>().toEqualTypeOf<number | ((ctx: RequestContext) => number | undefined)>();
    expectTypeOf<BudgetOptions["counters"]>().toEqualTypeOf<SpendCounters | undefined>();
    expectTypeOf<BudgetOptions["onStoreError"]>().toEqualTypeOf<"fail-closed" | "fail-open" | undefined>();
  });

  it("throws typed errors callers branch on with instanceof", () => {
    expectTypeOf<BudgetExceededError>().toExtend<BudgetError>();
    expectTypeOf<BudgetError>().toExtend<FrugalError>();
    expectTypeOf<BudgetExceededError["unit"]>().toEqualTypeOf<"tokens" | "usd">();
  });
});
