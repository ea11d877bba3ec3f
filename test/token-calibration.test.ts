// The client's one token estimator: shared by the middleware that estimate, and calibrated from
// the input tokens the providers report (real SDKs against the wire-level fakes).
import { describe, expect, it, vi } from "vitest";
import type { ChatRequest } from "../src/core/request.js";
import { BudgetExceededError } from "../src/middleware/budget/errors.js";
import { budget } from "../src/middleware/budget/index.js";
import { tokenEstimator } from "../src/tokens/estimator.js";
import { failure, fakeClient } from "./fakes/client.js";
import { useFakes } from "./fakes/index.js";

const fakes = useFakes();
const CLAUDE = { provider: "anthropic", model: "claude-haiku-4-5" };
const GPT = { provider: "openai", model: "gpt-4o-mini" };
const PROMPT = "Explain the difference between TCP and UDP, with an example of each. ".repeat(8);
const input = (model: string) => ({ model, messages: [{ role: "user" as const, content: PROMPT }] });

describe("the client's token estimator", () => {
  it("learns each calibrated model's ratio from the input tokens its answers report", async () => {
    const tokens = tokenEstimator();
    const { llm } = fakeClient(fakes(), [], { tokens });
    const request = { ...input("anthropic:claude-haiku-4-5"), stream: false } as ChatRequest;
    const counted = (await tokens.estimateRequest(request, CLAUDE)).countedTokens;
    // The provider counts twice what cl100k_base does, where the default ratio says 1.2.
    for (let i = 0; i < 4; i++)
      fakes().anthropic.enqueue({ kind: "text", text: "ok", usage: { input: 2 * counted, output: 1 } });
    expect(tokens.calibration(CLAUDE)).toEqual({ ratio: 1.2, samples: 0 });

    for (let i = 0; i < 4; i++) await llm.chat(input("anthropic:claude-haiku-4-5"));
    await vi.waitFor(() => expect(tokens.calibration(CLAUDE).samples).toBe(4)); // after the answers, in the background
    // 1.2 moves toward 2 by a plain mean at first, the default counting as one sample: 1.6, 1.73, 1.8, 1.84.
    expect(tokens.calibration(CLAUDE).ratio).toBeCloseTo(1.84, 2);
    expect((await tokens.estimateRequest(request, CLAUDE)).inputTokens).toBe(
      Math.ceil(counted * tokens.calibration(CLAUDE).ratio),
    );
  });

  it("does not sample a model whose count is exact (OpenAI)", async () => {
    const tokens = tokenEstimator();
    const { llm } = fakeClient(fakes(), [], { tokens });
    await llm.chat(input("openai:gpt-4o-mini"));
    await new Promise((r) => setTimeout(r, 20));
    expect(tokens.calibration(GPT)).toEqual({ ratio: 1, samples: 0 });
    expect(tokens.calibrations()).toEqual([]);
  });

  it("is the estimator a budget uses when it is given none", async () => {
    // A ratio of 3 for Claude: the budget's estimate must be the client's, not a default 1.2 of its own.
    const tokens = tokenEstimator({ ratios: { "claude-": 3 } });
    const { llm } = fakeClient(fakes(), [budget({ defaultTask: { inputMax: 10, overflow: "reject" } })], {
      tokens,
    });
    const request = { ...input("anthropic:claude-haiku-4-5"), stream: false } as ChatRequest;
    const expected = (await tokens.estimateRequest(request, CLAUDE)).inputTokens;
    const error = await failure(llm.chat(input("anthropic:claude-haiku-4-5")));
    expect(error).toBeInstanceOf(BudgetExceededError);
    expect(error.estimate).toBe(expected);
    expect(expected).toBeGreaterThan(
      2 * (await tokenEstimator().estimateRequest(request, CLAUDE)).inputTokens,
    );
  });
});
