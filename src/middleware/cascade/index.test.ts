import { describe, expect, expectTypeOf, it } from "vitest";
import { z } from "zod";
import { useFakes } from "../../../test/fakes/index.js";
import { AbortedError, ConfigError } from "../../core/errors.js";
import type { Middleware } from "../../core/middleware.js";
import type { ChatRequestInput } from "../../core/request.js";
import { testClient } from "../exact-cache/test-client.js";
import { CostGuardError, fallback } from "../fallback/index.js";
import {
  type CascadeEscalation,
  type CascadeOptions,
  CascadeRejectedError,
  type CascadeState,
  cascade,
  defaultValidators,
  hostCheck,
  jsonMatches,
  judge,
} from "./index.js";

const fakes = useFakes();

const MINI_REF = "openai:gpt-4o-mini";
const HAIKU_REF = "anthropic:claude-haiku-4-5";
const SONNET_REF = "anthropic:claude-sonnet-4-6";
const MODELS = [MINI_REF, HAIKU_REF, SONNET_REF];
// Published per-million prices, to check costs by hand (see src/pricing/price-book.test.ts).
const MINI = { input: 0.15, output: 0.6 };
const HAIKU = { input: 1, output: 5 };
const SONNET = { input: 3, output: 15 };
const usd = (p: { input: number; output: number }, input: number, output: number) =>
  (input * p.input + output * p.output) / 1e6;

function setup(options: Partial<CascadeOptions> = {}, before: Middleware[] = []) {
  const escalations: CascadeEscalation[] = [];
  const client = testClient({ openai: fakes().openai, anthropic: fakes().anthropic }, [
    ...before,
    cascade({ models: MODELS, ...options }),
  ]);
  client.llm.on("escalation", (e) => escalations.push(e));
  return { ...client, escalations };
}
const ask = (extra: Partial<ChatRequestInput> = {}): ChatRequestInput => ({
  model: "auto",
  messages: [{ role: "user", content: "What is the capital of France?" }],
  ...extra,
});
const anthropicModels = () => fakes().anthropic.requests.map((r) => r.body.model);

describe("cascade: escalates when an answer is rejected", () => {
  it("on a refusal (OpenAI's refusal field), and stops at the first accepted answer", async () => {
    const { llm, escalations } = setup();
    fakes().openai.enqueue({ kind: "refusal", text: "I can't help with that." });
    fakes().anthropic.enqueue({ kind: "text", text: "Paris." });
    const res = await llm.chat(ask());
    expect(res.text).toBe("Paris.");
    expect([res.provider, res.model]).toEqual(["anthropic", "claude-haiku-4-5"]);
    expect(anthropicModels()).toEqual(["claude-haiku-4-5"]); // sonnet never called
    expect(res.meta.state.cascade?.steps).toEqual([
      {
        model: MINI_REF,
        accepted: false,
        checked: true,
        reasons: ["not-refusal: the model refused: I can't help with that."],
      },
      { model: HAIKU_REF, accepted: true, checked: true, reasons: [] },
    ]);
    expect(escalations).toEqual([
      {
        requestId: res.meta.requestId,
        from: MINI_REF,
        to: HAIKU_REF,
        reasons: ["not-refusal: the model refused: I can't help with that."],
        retracted: false,
      },
    ]);
  });

  it("on a refusal in plain text and an Anthropic refusal", async () => {
    const { llm } = setup();
    fakes().openai.enqueue({ kind: "text", text: "I'm sorry, but I cannot assist with that request." });
    fakes().anthropic.enqueue({ kind: "refusal", text: "No." }, { kind: "text", text: "Paris." });
    const res = await llm.chat(ask());
    expect(res.text).toBe("Paris.");
    expect(res.meta.state.cascade?.steps.map((s) => s.reasons[0])).toEqual([
      'not-refusal: the answer opens with a refusal ("i can\'t assist")',
      "not-refusal: the model refused: No.",
      undefined,
    ]);
  });

  it("on an empty answer", async () => {
    const { llm } = setup();
    fakes().openai.enqueue({ kind: "text", text: "  " });
    fakes().anthropic.enqueue({ kind: "text", text: "Paris." });
    const res = await llm.chat(ask());
    expect(res.text).toBe("Paris.");
    expect(res.meta.state.cascade?.steps[0]?.reasons).toEqual(["non-empty: the answer is empty"]);
  });

  it("on invalid JSON when the request asks for JSON", async () => {
    const { llm } = setup();
    fakes().openai.enqueue({ kind: "text", text: '{"city": "Paris"' });
    fakes().anthropic.enqueue({ kind: "text", text: '{"city": "Paris"}' });
    const res = await llm.chat(ask({ responseFormat: { type: "json" } }));
    expect(JSON.parse(res.text)).toEqual({ city: "Paris" });
    expect(res.meta.state.cascade?.steps[0]?.reasons[0]).toMatch(/^json-matches: the answer is not JSON/);
  });

  it("never checks the text of a request that does not ask for JSON", async () => {
    const { llm } = setup();
    fakes().openai.enqueue({ kind: "text", text: '{"city": "Paris"' });
    const res = await llm.chat(ask());
    expect(res.text).toBe('{"city": "Paris"');
    expect(fakes().anthropic.requests).toHaveLength(0);
  });

  it("on JSON that does not match the zod schema, naming the field", async () => {
    const schema = z.object({ city: z.string(), country: z.string() });
    const { llm } = setup({ validators: [...defaultValidators().slice(0, 2), jsonMatches(schema)] });
    fakes().openai.enqueue({ kind: "text", text: '{"city": "Paris"}' });
    fakes().anthropic.enqueue({ kind: "text", text: '{"city": "Paris", "country": "France"}' });
    const res = await llm.chat(
      ask({ responseFormat: { type: "json-schema", name: "place", schema: { type: "object" } } }),
    );
    expect(schema.parse(JSON.parse(res.text))).toEqual({ city: "Paris", country: "France" });
    expect(res.meta.state.cascade?.steps[0]?.reasons[0]).toMatch(/^json-matches: answer\.country: /);
  });

  it("on a failing host check, with the host's reason", async () => {
    const { llm } = setup({
      validators: [
        ...defaultValidators(),
        hostCheck((c) => c.text.includes("€") || "prices must be in euros", { name: "euro" }),
      ],
    });
    fakes().openai.enqueue({ kind: "text", text: "It costs $5." });
    fakes().anthropic.enqueue({ kind: "text", text: "It costs 5 €." });
    const res = await llm.chat(ask());
    expect(res.text).toBe("It costs 5 €.");
    expect(res.meta.state.cascade?.steps[0]?.reasons).toEqual(["euro: prices must be in euros"]);
  });

  it("on a provider error: the failed call is an attempt, and the next model answers", async () => {
    const { llm, records, escalations } = setup();
    fakes().openai.enqueue({ kind: "error", status: 500 });
    fakes().anthropic.enqueue({ kind: "text", text: "Paris." });
    const res = await llm.chat(ask());
    expect(res.text).toBe("Paris.");
    expect(records[0]!.attempts.map((a) => [a.purpose, a.status, a.error?.status])).toEqual([
      ["primary", "error", 500],
      ["escalation", "ok", undefined],
    ]);
    expect(res.meta.state.cascade?.steps[0]).toMatchObject({
      accepted: false,
      checked: false,
      error: { name: "ProviderError" },
    });
    expect(escalations[0]?.reasons[0]).toMatch(/^ProviderError: /);
  });

  it("on a fallback inside it that ran out of models, but not past its cost guard", async () => {
    const inner = (guard?: { maxShare: number; degrade: "error" }) =>
      testClient({ openai: fakes().openai, anthropic: fakes().anthropic }, [
        cascade({ models: [MINI_REF, SONNET_REF] }),
        fallback({ chain: [HAIKU_REF], breaker: false, ...(guard && { guard }) }),
      ]);
    // No guard: gpt-4o-mini fails, so does its fallback (haiku); the cascade's next step answers.
    fakes().openai.enqueue({ kind: "error", status: 500 });
    fakes().anthropic.enqueue({ kind: "error", status: 500 }, { kind: "text", text: "Paris." });
    const res = await inner().llm.chat(ask());
    expect([res.model, res.text]).toEqual(["claude-sonnet-4-6", "Paris."]);
    expect(res.meta.state.cascade?.steps[0]?.error).toMatchObject({ name: "AllModelsFailedError" });

    // A guard that allows no escalation refuses the fallback to haiku: that refusal is the answer.
    fakes().openai.enqueue({ kind: "error", status: 500 });
    const refused = await inner({ maxShare: 0, degrade: "error" })
      .llm.chat(ask())
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CostGuardError);
    expect(anthropicModels()).toEqual(["claude-haiku-4-5", "claude-sonnet-4-6"]); // nothing more after the refusal
  });
});

describe("cascade: a judge on a cheap model", () => {
  const withJudge = (threshold?: number) =>
    setup({
      validators: [
        ...defaultValidators(),
        judge({ model: MINI_REF, rubric: "The answer is factually correct.", threshold }),
      ],
    });

  it("escalates on a failing score; every judge call is a priced side call in the record (A7)", async () => {
    const { llm, records } = withJudge();
    fakes().openai.enqueue(
      { kind: "text", text: "Lyon.", usage: { input: 100, output: 10 } },
      { kind: "text", text: "3", usage: { input: 60, output: 1 } },
      { kind: "text", text: "9", usage: { input: 60, output: 1 } },
    );
    fakes().anthropic.enqueue({ kind: "text", text: "Paris.", usage: { input: 100, output: 20 } });
    const res = await llm.chat(ask());
    expect(res.text).toBe("Paris.");
    expect(anthropicModels()).toEqual(["claude-haiku-4-5"]);
    const judged = fakes().openai.requests[1]!.body;
    expect(judged.model).toBe("gpt-4o-mini");
    expect(JSON.stringify(judged.messages)).toContain("The answer is factually correct.");
    expect(JSON.stringify(judged.messages)).toContain("Lyon.");
    expect(res.meta.state.cascade?.steps.map((s) => [s.model, s.accepted, s.reasons])).toEqual([
      [MINI_REF, false, ["judge: the judge scored 3/10 (threshold 7)"]],
      [HAIKU_REF, true, []],
    ]);
    const r = records[0]!;
    expect(r.attempts.map((a) => [a.purpose, a.provider, a.model, a.label])).toEqual([
      ["primary", "openai", "gpt-4o-mini", undefined],
      ["side-call", "openai", "gpt-4o-mini", "cascade-judge"],
      ["escalation", "anthropic", "claude-haiku-4-5", undefined],
      ["side-call", "openai", "gpt-4o-mini", "cascade-judge"],
    ]);
    const costs = [usd(MINI, 100, 10), usd(MINI, 60, 1), usd(HAIKU, 100, 20), usd(MINI, 60, 1)];
    expect(r.attempts.map((a) => a.cost?.usd)).toEqual(costs.map((c) => expect.closeTo(c, 12)));
    expect(r.cost.usd).toBeCloseTo(
      costs.reduce((a, b) => a + b),
      12,
    );
    expect(r.retryCostUsd).toBeCloseTo(usd(MINI, 100, 10), 12); // the rejected answer; side calls are not retries
    expect([r.provider, r.model]).toEqual(["anthropic", "claude-haiku-4-5"]);
  });

  it("rejects when the judge gives no score, or its call fails", async () => {
    const { llm, logs: warnings } = withJudge();
    fakes().openai.enqueue(
      { kind: "text", text: "Lyon." },
      { kind: "text", text: "It is fine." },
      { kind: "error", status: 500 },
    );
    fakes().anthropic.enqueue({ kind: "text", text: "Lyon?" }, { kind: "text", text: "Paris." });
    const res = await llm.chat(ask());
    expect(res.text).toBe("Paris."); // the last model is served unchecked
    const steps = res.meta.state.cascade!.steps;
    expect(steps[0]?.reasons[0]).toBe('judge: the judge gave no 0-10 score ("It is fine.")');
    expect(steps[1]?.reasons[0]).toMatch(/^judge: ProviderError: /);
    expect(steps[2]).toEqual({ model: SONNET_REF, accepted: true, checked: false, reasons: [] });
    expect(warnings.some((w) => w.message.includes('validator "judge" threw'))).toBe(true);
  });

  it("accepts at the threshold", async () => {
    const { llm } = withJudge(5);
    fakes().openai.enqueue({ kind: "text", text: "Paris." }, { kind: "text", text: "5" });
    expect((await llm.chat(ask())).text).toBe("Paris.");
    expect(fakes().anthropic.requests).toHaveLength(0);
  });
});

describe("cascade: the cost record (A7)", () => {
  it("every step is an attempt priced at its own model; retryCostUsd is the rejected steps", async () => {
    const { llm, records } = setup();
    fakes().openai.enqueue({ kind: "text", text: "", usage: { input: 100, output: 1 } });
    fakes().anthropic.enqueue(
      { kind: "text", text: "I am unable to answer that.", usage: { input: 100, output: 10 } },
      { kind: "text", text: "Paris.", usage: { input: 100, output: 20 } },
    );
    const res = await llm.chat(ask());
    expect(res.model).toBe("claude-sonnet-4-6");
    const r = records[0]!;
    expect(r.attempts.map((a) => [a.purpose, a.provider, a.model])).toEqual([
      ["primary", "openai", "gpt-4o-mini"],
      ["escalation", "anthropic", "claude-haiku-4-5"],
      ["escalation", "anthropic", "claude-sonnet-4-6"],
    ]);
    const [mini, haiku, sonnet] = [usd(MINI, 100, 1), usd(HAIKU, 100, 10), usd(SONNET, 100, 20)];
    expect(r.attempts.map((a) => a.cost?.usd)).toEqual(
      [mini, haiku, sonnet].map((c) => expect.closeTo(c, 12)),
    );
    expect(r.cost.usd).toBeCloseTo(mini + haiku + sonnet, 12);
    expect(r.retryCostUsd).toBeCloseTo(mini + haiku, 12);
    expect(r.usage.inputTokens).toBe(300);
  });

  it("an answer accepted at once: one primary attempt, no retry cost, the route recorded", async () => {
    const { llm, records, escalations } = setup();
    const res = await llm.chat(ask());
    expect(fakes().openai.requests).toHaveLength(1);
    expect(fakes().anthropic.requests).toHaveLength(0);
    expect(escalations).toEqual([]);
    expect(records[0]!.attempts.map((a) => a.purpose)).toEqual(["primary"]);
    expect(records[0]!.retryCostUsd).toBe(0);
    expect(records[0]!.route).toEqual({ model: MINI_REF, reason: "cascade: step 1 of 3 accepted" });
    expect(res.meta.state.route).toEqual(records[0]!.route);
  });

  it("leaves a router's decision alone and starts from the model it chose", async () => {
    const router: Middleware = {
      name: "toy-router",
      handle(ctx, next) {
        ctx.state.route = { model: HAIKU_REF, tier: "strong", reason: "long question" };
        return next({ ...ctx, request: { ...ctx.request, model: HAIKU_REF } });
      },
    };
    const { llm, records } = setup({}, [router]);
    fakes().anthropic.enqueue({ kind: "refusal", text: "No." }, { kind: "text", text: "Paris." });
    const res = await llm.chat(ask());
    expect(res.model).toBe("claude-sonnet-4-6");
    expect(fakes().openai.requests).toHaveLength(0); // never cheaper than the router's choice
    expect(records[0]!.route).toEqual({ model: HAIKU_REF, tier: "strong", reason: "long question" });
    expect(res.meta.state.cascade?.steps.map((s) => s.model)).toEqual([HAIKU_REF, SONNET_REF]);
  });
});

describe("cascade: the last model", () => {
  it("is served unchecked, even a refusal, by default", async () => {
    const { llm } = setup();
    fakes().openai.enqueue({ kind: "refusal", text: "No." });
    fakes().anthropic.enqueue({ kind: "refusal", text: "No." }, { kind: "refusal", text: "Still no." });
    const res = await llm.chat(ask());
    expect(res.model).toBe("claude-sonnet-4-6");
    expect(res.finishReason).toBe("refusal");
    expect(res.meta.state.cascade?.steps.at(-1)).toEqual({
      model: SONNET_REF,
      accepted: true,
      checked: false,
      reasons: [],
    });
  });

  it("with requireValid, a rejection of every answer throws CascadeRejectedError with every attempt billed", async () => {
    const { llm, records } = setup({ requireValid: true });
    fakes().openai.enqueue({ kind: "refusal", text: "No." });
    fakes().anthropic.enqueue({ kind: "refusal", text: "No." }, { kind: "text", text: "I must decline." });
    const error = await llm.chat(ask()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CascadeRejectedError);
    const rejected = error as CascadeRejectedError;
    expect(rejected.steps.map((s) => [s.model, s.accepted, s.checked])).toEqual([
      [MINI_REF, false, true],
      [HAIKU_REF, false, true],
      [SONNET_REF, false, true],
    ]);
    expect(rejected.completion.text).toBe("I must decline.");
    expect(rejected.attempts).toHaveLength(3);
    const r = records[0]!;
    expect(r.status).toBe("error");
    expect(r.error?.name).toBe("CascadeRejectedError");
    expect(r.retryCostUsd).toBeCloseTo(r.cost.usd!, 12);
  });

  it("a failed call of the last model is the request's error", async () => {
    const { llm } = setup({ models: [MINI_REF, HAIKU_REF] });
    fakes().openai.enqueue({ kind: "refusal", text: "No." });
    fakes().anthropic.enqueue({ kind: "error", status: 529 });
    await expect(llm.chat(ask())).rejects.toMatchObject({ name: "OverloadedError", status: 529 });
  });
});

describe("cascade: which requests it acts on", () => {
  it("a request for one of the models starts there; a bare name is resolved", async () => {
    const { llm } = setup();
    fakes().anthropic.enqueue({ kind: "refusal", text: "No." });
    const res = await llm.chat(ask({ model: HAIKU_REF }));
    expect(res.model).toBe("claude-sonnet-4-6");
    expect(fakes().openai.requests).toHaveLength(0);

    fakes().openai.enqueue({ kind: "refusal", text: "No." });
    const bare = await llm.chat(ask({ model: "gpt-4o-mini" }));
    expect(bare.model).toBe("claude-haiku-4-5");
  });

  it("leaves a request for another model untouched", async () => {
    const { llm } = setup();
    fakes().openai.enqueue({ kind: "refusal", text: "No." });
    const res = await llm.chat(ask({ model: "openai:gpt-4o" }));
    expect(res.refusal).toBe("No.");
    expect(res.meta.state.cascade).toBeUndefined();
    expect(fakes().anthropic.requests).toHaveLength(0);
  });

  it("with onlyWhenAuto, acts on 'auto' only", async () => {
    const { llm } = setup({ onlyWhenAuto: true });
    fakes().openai.enqueue({ kind: "refusal", text: "No." });
    const named = await llm.chat(ask({ model: MINI_REF }));
    expect(named.refusal).toBe("No.");
    expect(named.meta.state.cascade).toBeUndefined();
    fakes().openai.enqueue({ kind: "refusal", text: "No." });
    expect((await llm.chat(ask())).provider).toBe("anthropic");
  });

  it("models as a function of the request; an empty list leaves it alone", async () => {
    const { llm } = setup({
      models: (ctx) =>
        ctx.request.metadata?.task === "code"
          ? [HAIKU_REF, SONNET_REF]
          : ctx.request.metadata?.task
            ? []
            : MODELS,
    });
    fakes().anthropic.enqueue({ kind: "text", text: "fn()" });
    const code = await llm.chat(ask({ metadata: { task: "code" } }));
    expect(code.model).toBe("claude-haiku-4-5");
    expect(fakes().openai.requests).toHaveLength(0);
    const other = await llm.chat(ask({ model: MINI_REF, metadata: { task: "faq" } }));
    expect(other.meta.state.cascade).toBeUndefined();
  });

  it("a model the client cannot call is skipped with a warning, not a failure", async () => {
    const { llm, logs: warnings, records } = setup({ models: ["mistral:small", HAIKU_REF] });
    fakes().anthropic.enqueue({ kind: "text", text: "Paris." });
    const res = await llm.chat(ask());
    expect(res.text).toBe("Paris.");
    expect(res.meta.state.cascade?.steps[0]).toMatchObject({ error: { name: "InvalidRequestError" } });
    expect(warnings.some((w) => w.message.includes("mistral:small cannot take the request"))).toBe(true);
    expect(records[0]!.attempts).toHaveLength(1); // nothing was sent, so no attempt
  });

  it("a caller's abort is not escalated", async () => {
    const { llm } = setup();
    fakes().openai.enqueue({ kind: "hang" });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    await expect(llm.chat(ask(), { signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
    expect(fakes().anthropic.requests).toHaveLength(0);
  });
});

describe("cascade: a caller's abort while its answer is checked", () => {
  it.each(["buffer", "optimistic"] as const)(
    "ends the request (%s): no escalation, no attempt for a model never asked",
    async (streaming) => {
      const controller = new AbortController();
      const aborting = hostCheck(async () => {
        controller.abort();
        return false; // a verdict that ignores the signal
      });
      const { llm, records, escalations } = setup({ validators: [aborting], streaming });
      fakes().openai.enqueue({ kind: "text", text: "Paris." });
      const call =
        streaming === "buffer"
          ? llm.chat(ask(), { signal: controller.signal })
          : llm.stream(ask(), { signal: controller.signal }).finalCompletion();
      await expect(call).rejects.toBeInstanceOf(AbortedError);
      expect(escalations).toEqual([]);
      expect(fakes().anthropic.requests).toHaveLength(0);
      expect(records[0]!.attempts.map((a) => a.model)).toEqual(["gpt-4o-mini"]);
    },
  );
});

describe("cascade: each model once", () => {
  it("refuses a list naming a model twice", () => {
    expect(() => cascade({ models: [MINI_REF, MINI_REF] })).toThrow(/lists each model once/);
  });

  it("asks a model named twice (a bare name and its ref) only once", async () => {
    const { llm } = setup({ models: ["gpt-4o-mini", MINI_REF, HAIKU_REF] });
    fakes().openai.enqueue({ kind: "error", status: 500 });
    fakes().openai.enqueue({ kind: "error", status: 500 });
    fakes().anthropic.enqueue({ kind: "text", text: "Paris." });
    const res = await llm.chat(ask());
    expect(res.model).toBe("claude-haiku-4-5");
    expect(fakes().openai.requests).toHaveLength(1);
    expect(res.meta.state.cascade?.steps.map((s) => s.model)).toEqual(["gpt-4o-mini", HAIKU_REF]);
  });
});

describe("cascade: options", () => {
  it.each([
    [{ models: [] }, "options.models"],
    [{ models: ["auto"] }, "not 'auto'"],
    [{ models: MODELS, streaming: "eager" }, "options.streaming"],
    [{ models: MODELS, validators: [{}] }, "expected a validator"],
    [{ models: MODELS, requireValid: "yes" }, "options.requireValid"],
    [{ models: MODELS, retries: 2 }, "retries"],
  ])("rejects %j with a ConfigError naming the option", (options, message) => {
    expect(() => cascade(options as unknown as CascadeOptions)).toThrow(ConfigError);
    expect(() => cascade(options as unknown as CascadeOptions)).toThrow(message);
  });

  it("rejects bad judge options", () => {
    expect(() => judge({ model: MINI_REF, rubric: "", threshold: 11 })).toThrow(/options\.threshold/);
  });

  it("types its state and its event", async () => {
    const { llm } = setup();
    llm.on("escalation", (e) => expectTypeOf(e).toEqualTypeOf<CascadeEscalation>());
    const res = await llm.chat(ask());
    expectTypeOf(res.meta.state.cascade).toEqualTypeOf<CascadeState | undefined>();
  });
});
