import { describe, expectTypeOf, it } from "vitest";
import type { Completion } from "../../core/completion.js";
import type { CacheOutcome } from "../../core/cost-record.js";
import type { Middleware } from "../../core/middleware.js";
import type { Embedder } from "../../embeddings/embedder.js";
import type { LocalEmbedder } from "../../embeddings/local.js";
import type {
  SemanticCache,
  SemanticCacheErrorInfo,
  SemanticCacheOptions,
  SemanticGuard,
  SemanticLookup,
} from "./index.js";

describe("semanticCache types", () => {
  it("is a middleware with a purge API", () => {
    expectTypeOf<SemanticCache>().toExtend<Middleware>();
    expectTypeOf<SemanticCache["purgeTenant"]>().toEqualTypeOf<
      (tenant: string | undefined) => Promise<{ vectors: number; entries: number }>
    >();
  });

  it("puts what the lookup saw on the typed context state, and the similarity on the cache outcome", () => {
    expectTypeOf<Completion["meta"]["state"]["semanticCache"]>().toEqualTypeOf<SemanticLookup | undefined>();
    expectTypeOf<CacheOutcome["similarity"]>().toEqualTypeOf<number | undefined>();
  });

  it("takes any Embedder, and the local one with its advice", () => {
    expectTypeOf<LocalEmbedder>().toExtend<SemanticCacheOptions["embedder"]>();
    expectTypeOf<Embedder>().toExtend<SemanticCacheOptions["embedder"]>();
    expectTypeOf<LocalEmbedder["lexical"]>().toEqualTypeOf<true>();
  });

  it("takes guards as a name and a pure check", () => {
    expectTypeOf<SemanticGuard["check"]>().toEqualTypeOf<
      (prompt: string, candidate: string) => string | undefined
    >();
    expectTypeOf<SemanticCacheOptions["guards"]>().toEqualTypeOf<
      "default" | false | readonly SemanticGuard[] | undefined
    >();
  });

  it("tells onError which operation failed", () => {
    expectTypeOf<SemanticCacheErrorInfo["operation"]>().toEqualTypeOf<
      "embed" | "query" | "get" | "set" | "upsert" | "verify"
    >();
  });
});
