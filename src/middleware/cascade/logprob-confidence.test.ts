import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeServer, startFakeAnthropic, startFakeOpenAI } from "../../../test/fakes/index.js";
import { createClient } from "../../client.js";
import { ConfigError } from "../../core/errors.js";
import type { Provider, ProviderResponse } from "../../core/provider.js";
import type { ChatRequest, ChatRequestInput } from "../../core/request.js";
import { anthropic } from "../../providers/anthropic/index.js";
import { openai } from "../../providers/openai/index.js";
import { costTracker } from "../cost-tracker/index.js";
import { cascade, defaultValidators, logprobConfidence } from "./index.js";

let fa: FakeServer;
let fo: FakeServer;
beforeAll(async () => {
  fa = await startFakeAnthropic();
  fo = await startFakeOpenAI();
});
afterAll(async () => {
  await fa.close();
  await fo.close();
});
beforeEach(() => {
  fa.reset();
  fo.reset();
});

const MODELS = ["openai:gpt-4o-mini", "anthropic:claude-haiku-4-5"];
const validators = [...defaultValidators(), logprobConfidence({ min: 0.8 })];
const ask: ChatRequestInput = {
  model: "auto",
  messages: [{ role: "user", content: "What is the capital of France?" }],
  providerOptions: { openai: { logprobs: true } },
};

/**
 * An OpenAI-shaped provider whose raw response carries token logprobs, which
 * the wire-level fake does not produce. Everything else is the real pipeline.
 */
function logprobProvider(logprobs: number[] | null): Provider & { calls: ChatRequest[] } {
  const calls: ChatRequest[] = [];
  const response = (model: string): ProviderResponse => ({
    id: "chatcmpl-lp",
    model,
    content: [{ type: "text", text: "Paris." }],
    finishReason: "stop",
    usage: {
      inputTokens: 12,
      cacheReadTokens: 0,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
      outputTokens: 2,
      reasoningTokens: 0,
    },
    raw: {
      object: "chat.completion",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "Paris." },
          logprobs: logprobs && { content: logprobs.map((logprob, i) => ({ token: `t${i}`, logprob })) },
        },
      ],
    },
  });
  return {
    name: "openai",
    calls,
    async complete(request, options) {
      calls.push(request);
      return response(options.model);
    },
    async stream() {
      throw new Error("not used");
    },
  };
}

function setup(provider: Provider) {
  const records: import("../../core/cost-record.js").CostRecord[] = [];
  const llm = createClient({
    providers: {
      openai: provider,
      anthropic: anthropic(new Anthropic({ apiKey: "test", baseURL: fa.baseURL, maxRetries: 0 })),
    },
    middleware: [costTracker({ onRecord: (r) => records.push(r) }), cascade({ models: MODELS, validators })],
  });
  return { llm, records };
}

describe("logprobConfidence", () => {
  it("escalates an answer the model was unsure of", async () => {
    const provider = logprobProvider([-0.05, -1.2, -0.9]); // exp(mean) ≈ 0.49
    const { llm, records } = setup(provider);
    const res = await llm.chat(ask);
    expect(res.provider).toBe("anthropic");
    expect(provider.calls[0]?.providerOptions).toEqual({ openai: { logprobs: true } });
    expect(res.meta.state.cascade?.steps[0]?.reasons).toEqual([
      "logprob-confidence: token confidence 0.488 is below 0.8",
    ]);
    expect(records[0]!.attempts.map((a) => [a.purpose, a.provider])).toEqual([
      ["primary", "openai"],
      ["escalation", "anthropic"],
    ]);
  });

  it("accepts a confident answer", async () => {
    const { llm } = setup(logprobProvider([-0.01, -0.1, -0.05]));
    expect((await llm.chat(ask)).provider).toBe("openai");
    expect(fa.requests).toHaveLength(0);
  });

  it("abstains without logprobs: none asked for, or the real API's logprobs: null", async () => {
    const { llm } = setup(logprobProvider(null));
    expect((await llm.chat(ask)).provider).toBe("openai");

    const real = setup(openai(new OpenAI({ apiKey: "sk-test", baseURL: fo.baseURL, maxRetries: 0 })));
    const res = await real.llm.chat(ask);
    expect(fo.requests[0]!.body.logprobs).toBe(true);
    expect((res.raw as { choices: { logprobs: unknown }[] }).choices[0]!.logprobs).toBeNull();
    expect(res.provider).toBe("openai");
    expect(fa.requests).toHaveLength(0);
  });

  it("rejects a min outside (0, 1]", () => {
    expect(() => logprobConfidence({ min: 0 })).toThrow(ConfigError);
    expect(() => logprobConfidence({ min: 1.5 })).toThrow(/options\.min/);
  });
});
