import type Anthropic from "@anthropic-ai/sdk";
import type OpenAI from "openai";
import { describe, expectTypeOf, it } from "vitest";
import type { Completion } from "../../core/completion.js";
import type { ProviderError } from "../../core/errors.js";
import type { Middleware } from "../../core/middleware.js";
import type {
  AnthropicBatchSdk,
  BatchDeferredError,
  Batcher,
  BatchFailureReason,
  BatchItemError,
  BatchJobState,
  OpenAIBatchSdk,
  SettledJob,
} from "./index.js";

describe("batch types", () => {
  it("is a middleware with the handles a host needs around restarts", () => {
    expectTypeOf<Batcher>().toExtend<Middleware>();
    expectTypeOf<Batcher["job"]>().toEqualTypeOf<(id: string) => Promise<Completion>>();
    expectTypeOf<Batcher["resume"]>().toEqualTypeOf<() => Promise<void>>();
  });

  it("takes the host's own SDK instances", () => {
    expectTypeOf<OpenAI>().toExtend<OpenAIBatchSdk>();
    expectTypeOf<Anthropic>().toExtend<AnthropicBatchSdk>();
  });

  it("puts the job on the typed context state", () => {
    expectTypeOf<Completion["meta"]["state"]["batch"]>().toEqualTypeOf<BatchJobState | undefined>();
    expectTypeOf<BatchJobState["jobId"]>().toEqualTypeOf<string>();
  });

  it("has typed errors that carry the job id", () => {
    expectTypeOf<BatchItemError>().toExtend<ProviderError>();
    expectTypeOf<BatchItemError["reason"]>().toEqualTypeOf<BatchFailureReason>();
    expectTypeOf<BatchDeferredError["jobId"]>().toEqualTypeOf<string>();
    expectTypeOf<BatchDeferredError["reason"]>().toEqualTypeOf<"detached" | "closed">();
    expectTypeOf<SettledJob["status"]>().toEqualTypeOf<"done" | "failed">();
  });
});
