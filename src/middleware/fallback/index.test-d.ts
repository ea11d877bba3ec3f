import { describe, expectTypeOf, it } from "vitest";
import { createClient, type FrugalClient } from "../../client.js";
import type { FrugalError } from "../../core/errors.js";
import { retry } from "../retry/index.js";
import {
  type AllModelsFailedError,
  type CostGuardError,
  type Fallback,
  fallback,
  type ModelFailure,
} from "./index.js";

declare const llm: FrugalClient;

describe("resilience events and errors are typed", () => {
  it("types the retry and fallback events without a cast", () => {
    llm.on("retry", (e) => {
      expectTypeOf(e.attempt).toEqualTypeOf<number>();
      expectTypeOf(e.delayMs).toEqualTypeOf<number>();
      expectTypeOf(e.error).toEqualTypeOf<FrugalError>();
    });
    llm.on("fallback", (e) => expectTypeOf(e.to).toEqualTypeOf<string>());
    llm.on("circuit-open", (e) => expectTypeOf(e.openUntil).toEqualTypeOf<number>());
    llm.on("circuit-half-open", (e) => expectTypeOf(e.model).toEqualTypeOf<string>());
    llm.on("circuit-close", (e) => expectTypeOf(e.requestId).toEqualTypeOf<string>());
    llm.on("guard-engaged", (e) => {
      expectTypeOf(e.scope).toEqualTypeOf<"overall" | "tenant">();
      expectTypeOf(e.degrade).toEqualTypeOf<"cheapest" | "error" | "custom">();
    });
  });

  it("a CostGuardError is an AllModelsFailedError with the failures", () => {
    expectTypeOf<CostGuardError>().toExtend<AllModelsFailedError>();
    expectTypeOf<AllModelsFailedError["failures"]>().toEqualTypeOf<readonly ModelFailure[]>();
    expectTypeOf(fallback({ chain: [] })).toEqualTypeOf<Fallback>();
    expectTypeOf(createClient).parameter(0).toHaveProperty("middleware");
    expectTypeOf(retry()).toHaveProperty("ownsRetries");
  });
});
