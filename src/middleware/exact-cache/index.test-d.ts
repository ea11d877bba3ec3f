import { describe, expectTypeOf, it } from "vitest";
import type { Completion } from "../../core/completion.js";
import type { Middleware } from "../../core/middleware.js";
import type { Dedupe } from "../dedupe/index.js";
import type { ExactCache, StoreErrorInfo } from "./index.js";

describe("exactCache types", () => {
  it("is a middleware with a purge API", () => {
    expectTypeOf<ExactCache>().toExtend<Middleware>();
    expectTypeOf<ExactCache["purgeTenant"]>().toEqualTypeOf<
      (tenant: string | undefined) => Promise<number>
    >();
    expectTypeOf<ExactCache["purgeKey"]>().toEqualTypeOf<
      (tenant: string | undefined, key: string) => Promise<boolean>
    >();
    expectTypeOf<Dedupe>().toExtend<Middleware>();
  });

  it("puts the store key on the typed context state", () => {
    expectTypeOf<Completion["meta"]["state"]["exactCacheKey"]>().toEqualTypeOf<string | undefined>();
  });

  it("tells onError which store operation failed", () => {
    expectTypeOf<StoreErrorInfo["operation"]>().toEqualTypeOf<"get" | "set" | "lock" | "unlock">();
  });
});
