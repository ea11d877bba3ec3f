import { describe, expect, it } from "vitest";
import { useFakes } from "../../../test/fakes/index.js";
import { classifier, fn } from "./index.js";
import { auto, CHEAP, routedClient, STRONG } from "./test-client.js";

const fakes = useFakes();
const setup = (options: Partial<Parameters<typeof classifier>[0]> = {}) =>
  routedClient(fakes(), {
    policies: [
      classifier({ model: "openai:gpt-4o-mini", ...options }),
      fn(() => undefined, { name: "after" }),
    ],
  });
const classifierCalls = () =>
  fakes().openai.requests.filter(
    (r) => r.body.messages?.[0]?.role === "system" && /simple/.test(r.body.messages[0].content),
  );

describe("classifier: a side call to a cheap model", () => {
  it("routes a complex prompt up, and records the classifier call and its cost in the request's attempts", async () => {
    const c = setup();
    fakes().openai.enqueue({ kind: "text", text: "complex", usage: { input: 90, output: 1 } });
    const res = await c.llm.chat(auto("Prove that there are infinitely many primes."));
    expect(c.calledModels()).toEqual([CHEAP.model, STRONG.model]); // the classifier, then the answer
    expect(res.meta.state.route).toEqual({
      model: STRONG.model,
      tier: "strong",
      reason: "classifier: complex",
      scores: { "classifier.complex": 1, "classifier.cached": 0 },
      baseline: STRONG.model,
    });
    const [side, main] = c.records[0]!.attempts;
    expect(side).toMatchObject({
      purpose: "side-call",
      label: "router-classifier",
      model: "gpt-4o-mini",
      status: "ok",
    });
    expect(side!.cost?.priced).toBe(true);
    expect(side!.cost!.usd).toBeCloseTo((90 * 0.15 + 1 * 0.6) / 1e6, 12);
    expect(main).toMatchObject({ purpose: "primary", model: "claude-sonnet-4-6" });
    const total = (side!.cost as { usd: number }).usd + (main!.cost as { usd: number }).usd;
    expect(c.records[0]!.cost.usd).toBeCloseTo(total, 12);
    // The classifier sees the prompt, not the caller's other parameters.
    expect(classifierCalls()[0]!.body).toMatchObject({ max_completion_tokens: 5, temperature: 0 });
  });

  it("routes a simple prompt to the cheapest tier", async () => {
    const c = setup();
    fakes().openai.enqueue({ kind: "text", text: "Simple." });
    const res = await c.llm.chat(auto("Hi! How are you?"));
    expect(res.meta.state.route?.tier).toBe("cheap");
  });

  it("caches the verdict per tenant and normalized prompt: a repeat costs no second call", async () => {
    const c = setup();
    fakes().openai.enqueue({ kind: "text", text: "complex" }, { kind: "text", text: "simple" });
    await c.llm.chat(auto("Explain  the Riemann hypothesis", { metadata: { tenant: "a" } }));
    const again = await c.llm.chat(auto("explain the riemann   HYPOTHESIS ", { metadata: { tenant: "a" } }));
    expect(again.meta.state.route).toMatchObject({ tier: "strong", reason: "classifier: complex (cached)" });
    expect(c.records[1]!.attempts.map((a) => a.purpose)).toEqual(["primary"]);
    // Another tenant asks anew: no tenant learns what another asked.
    const other = await c.llm.chat(auto("Explain the Riemann hypothesis", { metadata: { tenant: "b" } }));
    expect(other.meta.state.route?.reason).toBe("classifier: simple");
    expect(classifierCalls()).toHaveLength(2);
  });

  it("shares one call between identical prompts in flight", async () => {
    const c = setup();
    fakes().openai.enqueue({ kind: "slow-first-byte", delayMs: 50, next: { kind: "text", text: "complex" } });
    const [a, b] = await Promise.all([c.llm.chat(auto("Same question")), c.llm.chat(auto("Same question"))]);
    expect(classifierCalls()).toHaveLength(1);
    expect([a.meta.state.route?.reason, b.meta.state.route?.reason].sort()).toEqual([
      "classifier: complex",
      "classifier: complex (shared)",
    ]);
  });

  it("remembers nothing with cacheSize 0", async () => {
    const c = setup({ cacheSize: 0 });
    fakes().openai.enqueue({ kind: "text", text: "complex" }, { kind: "text", text: "complex" });
    await c.llm.chat(auto("Question"));
    await c.llm.chat(auto("Question"));
    expect(classifierCalls()).toHaveLength(2);
  });

  it("abstains on an unreadable answer, with a warning, and the next policy decides", async () => {
    const c = setup();
    const warnings: string[] = [];
    c.llm.on("warning", (w) => warnings.push(w.code));
    fakes().openai.enqueue({ kind: "text", text: "It depends." });
    const res = await c.llm.chat(auto("Hmm"));
    expect(res.meta.state.route?.reason).toBe("default tier");
    expect(warnings).toContain("router-classifier-unreadable");
  });

  it("abstains when the classifier call fails; the failed attempt stays in the record", async () => {
    const c = setup();
    fakes().openai.enqueue({ kind: "error", status: 500 });
    const res = await c.llm.chat(auto("Hmm"));
    expect(res.meta.state.route?.reason).toBe("default tier");
    expect(c.records[0]!.attempts[0]).toMatchObject({ label: "router-classifier", status: "error" });
  });

  it("sends only the beginning of a long prompt", async () => {
    const c = setup({ maxPromptChars: 100 });
    fakes().openai.enqueue({ kind: "text", text: "simple" });
    await c.llm.chat(auto("x".repeat(5_000)));
    expect(classifierCalls()[0]!.body.messages[1].content).toHaveLength(100);
  });

  it("uses the tiers it is given", async () => {
    const c = routedClient(fakes(), {
      tiers: [CHEAP, { name: "mid", model: "openai:gpt-4o" }, STRONG],
      policies: [classifier({ model: "openai:gpt-4o-mini", complex: "mid" })],
    });
    fakes().openai.enqueue({ kind: "text", text: "complex" });
    const res = await c.llm.chat(auto("Why?"));
    expect(res.meta.state.route?.tier).toBe("mid");
  });
});
