import { describe, expect, it } from "vitest";
import { useFakes } from "../../../test/fakes/index.js";
import { ConfigError } from "../../core/errors.js";
import type { Middleware } from "../../core/middleware.js";
import { tokenEstimator } from "../../tokens/index.js";
import { fn, NoRouteError, router, rules } from "./index.js";
import { auto, CHEAP, MID, routedClient, STRONG } from "./test-client.js";

const fakes = useFakes();

/** About `n` tokens of ordinary text (one o200k / cl100k token per word). */
function longText(n: number): string {
  const words = ["alpha", "river", "stone", "green", "cloud", "table", "music", "north"];
  let text = "";
  for (let i = 0; i < n; i++) text += ` ${words[i % words.length]}`;
  return text;
}

describe("router: only acts on auto and host routes", () => {
  it("sends auto to the default tier when no policy decides, and records the decision", async () => {
    const c = routedClient(fakes());
    const res = await c.llm.chat(auto("Hello there"));
    expect(c.calledModels()).toEqual([STRONG.model]);
    expect(res.meta.state.route).toEqual({
      model: STRONG.model,
      tier: "strong",
      reason: "default tier",
      scores: {},
      baseline: STRONG.model,
    });
    expect(c.records[0]!.route).toEqual(res.meta.state.route);
    expect(c.records[0]!.requestedModel).toBe("auto");
    expect(c.decisions).toEqual([
      expect.objectContaining({
        route: "auto",
        tier: "strong",
        model: STRONG.model,
        policy: null,
        excluded: [],
      }),
    ]);
  });

  it("leaves a request that names a model alone", async () => {
    const c = routedClient(fakes(), { policies: [fn(() => "strong")] });
    const res = await c.llm.chat({ ...auto("Hi"), model: "openai:gpt-4o-mini" });
    expect(c.calledModels()).toEqual([CHEAP.model]);
    expect(res.meta.state.route).toBeUndefined();
    expect(c.decisions).toEqual([]);
  });

  it("routes a streamed request the same way", async () => {
    const c = routedClient(fakes(), { policies: [fn(() => "cheap")] });
    const stream = c.llm.stream(auto("Hi"));
    const res = await stream.finalCompletion();
    expect(c.calledModels()).toEqual([CHEAP.model]);
    expect(res.meta.state.route?.tier).toBe("cheap");
  });

  it("serves host-named routes with their own tiers, policies and default", async () => {
    const c = routedClient(fakes(), {
      tiers: [CHEAP, MID, STRONG],
      policies: [fn(() => "strong")],
      routes: {
        support: {
          tiers: ["cheap", "mid"],
          policies: [fn((ctx) => (ctx.request.metadata?.task === "refund" ? "mid" : undefined))],
        },
        bulk: { tiers: ["cheap"] },
      },
    });
    await c.llm.chat({ ...auto("Where is my parcel?"), model: "support" });
    await c.llm.chat({ ...auto("Refund me"), model: "support", metadata: { task: "refund" } });
    await c.llm.chat({ ...auto("Tag this"), model: "bulk" });
    await c.llm.chat(auto("Prove the lemma"));
    expect(c.decisions.map((d) => [d.route, d.tier, d.policy])).toEqual([
      ["support", "mid", null], // the route's default: its costliest tier
      ["support", "mid", "fn"],
      ["bulk", "cheap", "fn"], // the router's policies, moved into the route's tiers
      ["auto", "strong", "fn"],
    ]);
    expect(c.decisions[2]!.reason).toBe(
      "fn: host function; strong ruled out (not in this route), nearest: cheap",
    );
    expect(c.records.map((r) => r.requestedModel)).toEqual(["support", "support", "bulk", "auto"]);
  });

  it("calls onDecision, and a hook that throws does not fail the call", async () => {
    const seen: string[] = [];
    const c = routedClient(fakes(), {
      policies: [fn(() => "cheap")],
      onDecision: (d) => {
        seen.push(d.tier);
        throw new Error("hook bug");
      },
    });
    const res = await c.llm.chat(auto("Hi"));
    expect(res.text).not.toBe("");
    expect(seen).toEqual(["cheap"]);
    expect(c.logs.some((w) => w.message.includes("onDecision"))).toBe(true);
  });
});

describe("router: hard constraints come before any policy", () => {
  it("never sends a 150k-token prompt to a 128k model, whatever the policy says", async () => {
    const c = routedClient(fakes(), { policies: [fn(() => "cheap", { name: "always-cheap" })] });
    const res = await c.llm.chat(auto(longText(150_000)));
    expect(c.calledModels()).toEqual([STRONG.model]);
    expect(res.meta.state.route?.tier).toBe("strong");
    expect(res.meta.state.route?.reason).toMatch(
      /^always-cheap: host function; cheap ruled out \(context-window: ~15\d{4} input tokens/,
    );
    expect(c.decisions[0]!.excluded).toEqual([
      { tier: "cheap", model: CHEAP.model, reason: expect.stringContaining("the model's window is 128000") },
    ]);
  }, 30_000);

  it("checks images of unknown size at their largest: four remote images are too many for gpt-4o-mini's window", async () => {
    // gpt-4o-mini bills an image at 2,833 + 5,667 per tile: ~25.5k tokens at a typical size, ~48.2k at its largest.
    const images = Array.from({ length: 4 }, (_, i) => ({
      type: "image" as const,
      url: `https://example.com/photo-${i}.jpg`,
    }));
    const c = routedClient(fakes(), { policies: [fn(() => "cheap")] });
    await c.llm.chat({
      model: "auto",
      messages: [{ role: "user", content: [{ type: "text", text: "What is in these?" }, ...images] }],
    });
    expect(c.calledModels()).toEqual([STRONG.model]);
    expect(c.decisions[0]!.excluded).toEqual([
      { tier: "cheap", model: CHEAP.model, reason: expect.stringContaining("context-window") },
    ]);
  });

  it("fails with NoRouteError, before any call, when no tier can take the prompt", async () => {
    const c = routedClient(fakes(), { tiers: [CHEAP, MID] });
    const error = await c.llm.chat(auto(longText(150_000))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoRouteError);
    expect((error as NoRouteError).rejections.map((r) => r.tier)).toEqual(["cheap", "mid"]);
    expect((error as NoRouteError).message).not.toContain("alpha"); // sizes only, never the prompt
    expect(c.calledModels()).toEqual([]);
    expect(c.records[0]!.status).toBe("error");
  }, 30_000);

  it("keeps room for the answer: maxOutputTokens counts against the window and the output limit", async () => {
    const c = routedClient(fakes(), { policies: [fn(() => "cheap")] });
    await c.llm.chat(auto(longText(100_000), { maxOutputTokens: 1_000 })); // 100k + 1k fits 128k
    await c.llm.chat(auto(longText(100_000), { maxOutputTokens: 16_000 })); // fits 128k too (16,384 max)
    await c.llm.chat(auto("Write a novel", { maxOutputTokens: 20_000 })); // over gpt-4o-mini's 16,384
    expect(c.decisions.map((d) => d.tier)).toEqual(["cheap", "cheap", "strong"]);
    expect(c.decisions[2]!.excluded[0]!.reason).toMatch(/^max-output: asks for 20000/);
  }, 30_000);

  it("sends a prompt just under the window on with the byte bound alone, without tokenizing", async () => {
    const tokens = tokenEstimator();
    let estimates = 0;
    const counting = {
      upperBound: (...args: Parameters<typeof tokens.upperBound>) => tokens.upperBound(...args),
      estimateRequest: (...args: Parameters<typeof tokens.estimateRequest>) => {
        estimates++;
        return tokens.estimateRequest(...args);
      },
    } as unknown as typeof tokens;
    const c = routedClient(fakes(), { tokens: counting, policies: [fn(() => "cheap")] });
    await c.llm.chat(auto("A short question?"));
    expect(estimates).toBe(0);
    await c.llm.chat(auto(longText(140_000)));
    expect(estimates).toBeGreaterThan(0);
    expect(c.decisions.map((d) => d.tier)).toEqual(["cheap", "strong"]);
  }, 30_000);

  it.each([
    {
      label: "tools",
      catalog: { [CHEAP.model]: { tools: false } },
      request: auto("Weather in Paris?", { tools: [{ name: "weather", parameters: { type: "object" } }] }),
      reason: "tools: the model has no tool calling",
    },
    {
      label: "a tool result in the history",
      catalog: { [CHEAP.model]: { tools: false } },
      request: {
        model: "auto",
        messages: [
          { role: "user" as const, content: "Weather?" },
          {
            role: "assistant" as const,
            content: [{ type: "tool-call" as const, id: "c1", name: "weather", arguments: "{}" }],
          },
          {
            role: "tool" as const,
            content: [{ type: "tool-result" as const, toolCallId: "c1", content: "sunny" }],
          },
        ],
      },
      reason: "tools: the model has no tool calling",
    },
    {
      label: "vision",
      catalog: { [CHEAP.model]: { vision: false } },
      request: {
        model: "auto",
        messages: [
          {
            role: "user" as const,
            content: [
              { type: "text" as const, text: "What is this?" },
              { type: "image" as const, url: "https://example.com/cat.png" },
            ],
          },
        ],
      },
      reason: "vision: the model takes no images",
    },
    {
      label: "json",
      catalog: { [CHEAP.model]: { json: false } },
      request: auto("List three colours as JSON", { responseFormat: { type: "json" } }),
      reason: "json: the model has no structured output",
    },
  ])("rules out a tier without $label support", async ({ catalog, request, reason }) => {
    const c = routedClient(fakes(), { catalog, policies: [fn(() => "cheap")] });
    await c.llm.chat(request);
    expect(c.calledModels()).toEqual([STRONG.model]);
    expect(c.decisions[0]!.excluded).toEqual([{ tier: "cheap", model: CHEAP.model, reason }]);
    expect(c.decisions[0]!.reason).toContain(`cheap ruled out (${reason}), nearest: strong`);
  });
});

/** What the budget middleware sets for a tenant over its soft limit. */
const overSoftLimit: Middleware = {
  name: "budget-stub",
  handle: (ctx, next) => {
    ctx.state.budget = { scope: "tenant:acme:day", limitUsd: 10, spentUsd: 9.5, overSoftLimit: true };
    return next(ctx);
  },
};

describe("router: budget", () => {
  it("routes a tenant over its soft limit to tiers cheaper than the default", async () => {
    const c = routedClient(
      fakes(),
      { tiers: [CHEAP, MID, STRONG], default: "strong", policies: [fn(() => "strong")] },
      [overSoftLimit],
    );
    const res = await c.llm.chat(auto("Explain quantum tunnelling"));
    expect(res.meta.state.route).toMatchObject({ tier: "mid", scores: { "budget.routedDown": 1 } });
    expect(res.meta.state.route?.reason).toContain(
      "strong ruled out (budget: over the soft limit), nearest: mid",
    );
    expect(c.decisions[0]!.routedDown).toBe(true);
  });

  it("uses the host's routeDown hook instead when given", async () => {
    const c = routedClient(
      fakes(),
      {
        tiers: [CHEAP, MID, STRONG],
        routeDown: (ctx, allowed) => (ctx.state.budget?.overSoftLimit ? allowed.slice(0, 1) : allowed),
      },
      [overSoftLimit],
    );
    const res = await c.llm.chat(auto("Explain quantum tunnelling"));
    expect(res.meta.state.route?.tier).toBe("cheap");
  });

  it("leaves the tiers alone under the soft limit", async () => {
    const c = routedClient(fakes(), { tiers: [CHEAP, MID, STRONG] });
    await c.llm.chat(auto("Explain quantum tunnelling"));
    expect(c.decisions[0]).toMatchObject({ tier: "strong", routedDown: false });
  });
});

describe("router: policies in order", () => {
  it("takes the first policy that decides; an unknown tier is a warning and the next one decides", async () => {
    const c = routedClient(fakes(), {
      policies: [
        fn(() => undefined),
        fn(() => "platinum" as string, { name: "typo" }),
        fn(async () => ({ tier: "cheap", reason: "vip", scores: { x: 1 } })),
      ],
    });
    const warnings: string[] = [];
    c.llm.on("warning", (w) => warnings.push(w.code));
    const res = await c.llm.chat(auto("Hi"));
    expect(res.meta.state.route).toEqual({
      model: CHEAP.model,
      tier: "cheap",
      reason: "vip",
      scores: { x: 1 },
      baseline: STRONG.model,
    });
    expect(warnings).toContain("router-unknown-tier");
  });

  it("the cost record's baseline is the costliest tier that could take the request, so routing shows its savings", async () => {
    const c = routedClient(fakes(), { tiers: [CHEAP, MID, STRONG], policies: [fn(() => "cheap")] });
    fakes().openai.enqueue({ kind: "text", text: "ok", usage: { input: 1000, output: 100 } });
    await c.llm.chat(auto("Hi"));
    const sonnet = (1000 * 3 + 100 * 15) / 1e6;
    const mini = (1000 * 0.15 + 100 * 0.6) / 1e6;
    expect(c.records[0]!.baseline).toEqual({
      model: STRONG.model,
      cost: expect.objectContaining({ usd: expect.closeTo(sonnet, 12) }),
    });
    expect(c.records[0]!.savingsUsd).toBeCloseTo(sonnet - mini, 12);

    // Sonnet cannot take an image here: the baseline is the costliest tier that can (gpt-4o).
    const noVision = routedClient(fakes(), {
      tiers: [CHEAP, MID, STRONG],
      catalog: { [STRONG.model]: { vision: false } },
      policies: [fn(() => "cheap")],
    });
    await noVision.llm.chat({
      model: "auto",
      messages: [{ role: "user", content: [{ type: "image", url: "https://example.com/a.png" }] }],
    });
    expect(noVision.records[0]!.baseline?.model).toBe(MID.model);
  });

  it("passes the host function the context and the allowed tiers", async () => {
    const seen: string[][] = [];
    const c = routedClient(fakes(), {
      catalog: { [CHEAP.model]: { vision: false } },
      policies: [fn((_ctx, input) => void seen.push(input.tiers.map((t) => t.name)))],
    });
    await c.llm.chat({
      model: "auto",
      messages: [{ role: "user", content: [{ type: "image", url: "https://example.com/a.png" }] }],
    });
    expect(seen).toEqual([["strong"]]);
  });
});

describe("router: a host hook or policy that throws never fails the call", () => {
  const boom = () => {
    throw new Error("db down");
  };
  const warned = (c: ReturnType<typeof routedClient>) => {
    const codes: string[] = [];
    c.llm.on("warning", (w) => codes.push(w.code));
    return codes;
  };

  it("a policy that throws (sync or async) abstains, and the next one decides", async () => {
    const c = routedClient(fakes(), {
      policies: [fn(boom, { name: "sync" }), fn(async () => boom(), { name: "async" }), fn(() => "cheap")],
    });
    const codes = warned(c);
    const res = await c.llm.chat(auto("Hello"));
    expect(res.meta.state.route?.tier).toBe("cheap");
    expect(codes).toEqual(["router-policy-failed", "router-policy-failed"]);
  });

  it("routeDown that throws: the default budget rule applies", async () => {
    const c = routedClient(fakes(), { tiers: [CHEAP, MID, STRONG], routeDown: boom }, [overSoftLimit]);
    const codes = warned(c);
    const res = await c.llm.chat(auto("Explain quantum tunnelling"));
    expect(res.meta.state.route).toMatchObject({ tier: "mid", scores: { "budget.routedDown": 1 } });
    expect(codes).toEqual(["router-hook-failed"]);
  });

  it("planOf or a rule's condition that throws: the rule does not match", async () => {
    const c = routedClient(fakes(), {
      policies: [
        rules([{ when: { plan: "free" }, tier: "cheap" }], { planOf: boom }),
        rules([{ name: "host", when: boom, tier: "cheap" }]),
      ],
    });
    const codes = warned(c);
    const res = await c.llm.chat(auto("Hello"));
    expect(res.meta.state.route?.tier).toBe("strong"); // the default
    expect(codes).toEqual(["router-hook-failed", "router-hook-failed"]);
  });
});

describe("router: configuration errors name the option", () => {
  it.each([
    [{ tiers: [] }, "options.tiers"],
    [{ tiers: [{ name: "x", model: "gpt-4o" }] }, "options.tiers[0].model"],
    [{ tiers: [{ name: "x", model: "local:llama-3" }] }, 'options.catalog["local:llama-3"]'],
    [{ tiers: [CHEAP, { ...STRONG, name: "cheap" }] }, 'the name "cheap" is used twice'],
    [{ tiers: [CHEAP], default: "strong" }, "options.default"],
    [
      { tiers: [CHEAP], policies: [rules([{ when: { code: true }, tier: "gold" }])] },
      'options.policies[0] (rules): no tier is named "gold"',
    ],
    [{ tiers: [CHEAP], routes: { auto: {} } }, "options.routes.auto"],
    [
      { tiers: [CHEAP, STRONG], routes: { r: { tiers: ["cheap"], default: "strong" } } },
      "options.routes.r.default",
    ],
  ])("%j", (options, message) => {
    expect(() => router(options as never)).toThrow(ConfigError);
    expect(() => router(options as never)).toThrow(message);
  });

  it("accepts a model the built-in catalog lacks when the host describes it", () => {
    expect(() =>
      router({
        tiers: [{ name: "local", model: "local:llama-3" }],
        catalog: {
          "local:llama-3": {
            contextWindow: 8192,
            maxOutputTokens: 2048,
            tools: false,
            vision: false,
            json: false,
          },
        },
      }),
    ).not.toThrow();
  });
});
