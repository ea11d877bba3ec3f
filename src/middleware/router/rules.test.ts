import { describe, expect, it } from "vitest";
import { useFakes } from "../../../test/fakes/index.js";
import { ConfigError } from "../../core/errors.js";
import type { ChatRequestInput } from "../../core/request.js";
import { type Rule, rules } from "./index.js";
import { auto, CHEAP, MID, routedClient, STRONG } from "./test-client.js";

const fakes = useFakes();
const plans: Record<string, string> = { acme: "paid", tiny: "free" };
const planOf = (ctx: { request: ChatRequestInput }) => plans[ctx.request.metadata?.tenant ?? ""];

/** One rule per line; each case below must be routed by exactly the rule it names. */
const RULES: Rule[] = [
  { name: "summaries", when: { task: ["summarize", "classify"] }, tier: "cheap" },
  { name: "free plan", when: { plan: "free" }, tier: "cheap" },
  { name: "vip tag", when: { tags: ["vip", "escalated"] }, tier: "strong" },
  { name: "batch work", when: { priority: "deferrable" }, tier: "cheap" },
  { name: "tenant beta", when: { tenant: "beta-co" }, tier: "mid" },
  { name: "images", when: { images: true }, tier: "mid" },
  { name: "tools", when: { tools: true }, tier: "mid" },
  { name: "code", when: { code: true }, tier: "strong" },
  { name: "math", when: { math: true }, tier: "strong" },
  { name: "multi-step", when: { multiStep: true }, tier: "strong" },
  { name: "long", when: { minInputTokens: 2_000 }, tier: "mid" },
  { name: "short paid chat", when: { plan: "paid", maxInputTokens: 50, code: false }, tier: "cheap" },
  { name: "host condition", when: (input) => input.text.startsWith("URGENT"), tier: "strong" },
];

const CASES: { label: string; request: ChatRequestInput; rule: string | undefined; tier: string }[] = [
  {
    label: "a task in the list",
    request: auto("Condense this memo", { metadata: { task: "summarize" } }),
    rule: "summaries",
    tier: "cheap",
  },
  {
    label: "a free tenant",
    request: auto("Hello", { metadata: { tenant: "tiny" } }),
    rule: "free plan",
    tier: "cheap",
  },
  {
    label: "one of the tags",
    request: auto("Hello", { metadata: { tags: ["x", "escalated"] } }),
    rule: "vip tag",
    tier: "strong",
  },
  {
    label: "deferrable work",
    request: auto("Hello", { metadata: { priority: "deferrable" } }),
    rule: "batch work",
    tier: "cheap",
  },
  {
    label: "the tenant",
    request: auto("Hello", { metadata: { tenant: "beta-co" } }),
    rule: "tenant beta",
    tier: "mid",
  },
  {
    label: "an image",
    request: {
      model: "auto",
      messages: [{ role: "user", content: [{ type: "image", url: "https://example.com/a.png" }] }],
    },
    rule: "images",
    tier: "mid",
  },
  {
    label: "tools",
    request: auto("Weather?", { tools: [{ name: "weather", parameters: { type: "object" } }] }),
    rule: "tools",
    tier: "mid",
  },
  {
    label: "code",
    request: auto("Why does this fail?\n```js\nconst x = f(;\n```"),
    rule: "code",
    tier: "strong",
  },
  { label: "math", request: auto("Solve for x: 3x^2 + 2x = 8"), rule: "math", tier: "strong" },
  {
    label: "several steps",
    request: auto("1. Read the file\n2. Count the words\n3. Report"),
    rule: "multi-step",
    tier: "strong",
  },
  { label: "a long prompt", request: auto("lorem ipsum ".repeat(1_500)), rule: "long", tier: "mid" },
  {
    label: "a short paid chat",
    request: auto("Thanks!", { metadata: { tenant: "acme" } }),
    rule: "short paid chat",
    tier: "cheap",
  },
  {
    label: "a host condition",
    request: auto("URGENT: call me back"),
    rule: "host condition",
    tier: "strong",
  },
  {
    label: "nothing (the default tier)",
    request: auto("Tell me about owls"),
    rule: undefined,
    tier: "strong",
  },
];

describe("rules: each rule routes as documented", () => {
  it.each(CASES)("$label → $tier", async ({ request, rule, tier }) => {
    const c = routedClient(fakes(), { tiers: [CHEAP, MID, STRONG], policies: [rules(RULES, { planOf })] });
    const res = await c.llm.chat(request);
    const model = { cheap: CHEAP, mid: MID, strong: STRONG }[tier]!.model;
    expect(c.calledModels()).toEqual([model]);
    expect(res.meta.state.route?.tier).toBe(tier);
    if (rule === undefined) expect(res.meta.state.route?.reason).toBe("default tier");
    else expect(res.meta.state.route?.reason).toMatch(new RegExp(`^rule ${rule}: `));
    expect(c.records[0]!.route).toEqual(res.meta.state.route);
  });

  it("says what matched in the reason", async () => {
    const c = routedClient(fakes(), { tiers: [CHEAP, MID, STRONG], policies: [rules(RULES, { planOf })] });
    const res = await c.llm.chat(auto("Thanks!", { metadata: { tenant: "acme" } }));
    // Decided from the byte bound alone: no tokenizer ran.
    expect(res.meta.state.route?.reason).toMatch(
      /^rule short paid chat: plan=paid, no code, <= \d+ input tokens$/,
    );
    // Over the bound: only an estimate can tell.
    const long = await c.llm.chat(auto("lorem ipsum ".repeat(1_500)));
    expect(long.meta.state.route?.reason).toMatch(/^rule long: ~3\d{3} input tokens$/);
  });

  it("checks the first matching rule only, in order", async () => {
    const list: Rule[] = [
      { name: "a", when: { code: true }, tier: "cheap" },
      { name: "b", when: { code: true }, tier: "strong" },
    ];
    const c = routedClient(fakes(), { policies: [rules(list)] });
    const res = await c.llm.chat(auto("```py\nprint(1)\n```"));
    expect(res.meta.state.route?.reason).toBe("rule a: code");
  });
});

describe("rules: options are checked", () => {
  it.each([
    [[{ when: {}, tier: "cheap" }], "a rule needs at least one condition"],
    [[{ when: { task: "x" }, tier: "" }], "rules.rules[0].tier"],
    [[{ when: { colour: "red" }, tier: "cheap" }], "rules.rules[0].when"],
    [[{ when: { plan: "free" }, tier: "cheap" }], "needs options.planOf"],
  ])("%j", (list, message) => {
    expect(() => rules(list as never)).toThrow(ConfigError);
    expect(() => rules(list as never)).toThrow(message);
  });
});
