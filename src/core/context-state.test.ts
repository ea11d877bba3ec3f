import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import { type FakeServer, startFakeOpenAI } from "../../test/fakes/index.js";
import { createClient } from "../client.js";
import { openai } from "../providers/openai/index.js";
import type { ContextState } from "./context.js";
import type { Middleware } from "./middleware.js";

// A host middleware declares its state and its event the way a user does with `declare module "frugal-llm"`.
interface TierDecision {
  tier: "cheap" | "strong";
  reason: string;
}
declare module "./context.js" {
  interface ContextState {
    tierDecision?: TierDecision;
  }
}
declare module "./events.js" {
  interface EventMap {
    "tier-decided": { requestId: string; decision: TierDecision };
  }
}

const chooseTier: Middleware = {
  name: "choose-tier",
  async handle(ctx, next) {
    const decision: TierDecision = { tier: "cheap", reason: "short prompt" };
    ctx.state.tierDecision = decision;
    ctx.services.events.emit("tier-decided", { requestId: ctx.id, decision });
    return next(ctx);
  },
};

const readsTier: Middleware = {
  name: "reads-tier",
  async handle(ctx, next) {
    // Typed, no cast: another middleware's declared field.
    expectTypeOf(ctx.state.tierDecision).toEqualTypeOf<TierDecision | undefined>();
    return next(ctx);
  },
};

let fake: FakeServer;
beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(() => fake.close());

describe("typed context state", () => {
  it("carries a custom middleware's state, typed end to end, for streamed and non-streamed calls", async () => {
    const llm = createClient({
      providers: { openai: openai(new OpenAI({ apiKey: "sk-test", baseURL: fake.baseURL, maxRetries: 0 })) },
      middleware: [chooseTier, readsTier],
    });
    const events: TierDecision[] = [];
    llm.on("tier-decided", ({ decision }) => events.push(decision));

    const plain = await llm.chat({
      model: "openai:gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
    });
    const stream = llm.stream({ model: "openai:gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    for await (const _ of stream);
    const streamed = await stream.completion;

    for (const res of [plain, streamed]) {
      expectTypeOf(res.meta.state).toEqualTypeOf<ContextState>();
      expectTypeOf(res.meta.state.tierDecision).toEqualTypeOf<TierDecision | undefined>();
      expect(res.meta.state.tierDecision).toEqual({ tier: "cheap", reason: "short prompt" });
    }
    expect(events).toHaveLength(2);
  });

  it("rejects a value of the wrong type at compile time", () => {
    const state = {} as ContextState;
    // @ts-expect-error tier must be "cheap" | "strong"
    state.tierDecision = { tier: "medium", reason: "x" };
    expect(state.tierDecision?.tier).toBe("medium");
  });
});
