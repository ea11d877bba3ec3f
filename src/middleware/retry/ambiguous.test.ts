import { describe, expect, it } from "vitest";
import { useFakes } from "../../../test/fakes/index.js";
import type { Usage } from "../../core/completion.js";
import { ConnectionError } from "../../core/errors.js";
import { priceBook } from "../../pricing/price-book.js";
import { retry } from "./index.js";
import { ask, failure, recordingSleep, testClient, times } from "./test-client.js";

const fakes = useFakes();
const prices = priceBook();

describe("retry: an ambiguous failure is charged (R4)", () => {
  it("a call the provider completed but whose connection reset: both calls charged, one answer", async () => {
    const { sleep } = recordingSleep();
    const { llm, records } = testClient(fakes(), [retry({ sleep })]);
    const usage = { input: 1_000, output: 200 };
    // The first answer is written half-way, then the connection is destroyed: billed, never received.
    fakes().openai.enqueue(
      { kind: "truncated-stream", afterDeltas: 0, text: "the lost answer" },
      { kind: "text", text: "the answer", usage },
    );

    const completion = await llm.chat(ask());

    expect(completion.text).toBe("the answer");
    expect(fakes().openai.requests).toHaveLength(2);
    const record = records[0]!;
    expect(record.attempts.map((a) => [a.purpose, a.status, a.error?.name])).toEqual([
      ["primary", "error", "ConnectionError"],
      ["retry", "ok", undefined],
    ]);
    const [lost, answered] = record.attempts;
    expect(lost!.usage).toEqual({ ...answered!.usage, estimated: true });
    // Priced at its own model, flagged as an estimate (A7).
    expect(lost!.cost).toEqual(prices.cost("openai", "gpt-4o-mini", lost!.usage as Usage));
    expect(lost!.cost).toMatchObject({ priced: true, estimated: true });
    expect(record.cost.usd).toBeCloseTo(2 * (answered!.cost as { usd: number }).usd, 12);
    expect(record.retryCostUsd).toBe((lost!.cost as { usd: number }).usd);
  });

  it("a reset on Anthropic is charged at Anthropic's price", async () => {
    const { sleep } = recordingSleep();
    const { llm, records } = testClient(fakes(), [retry({ sleep })]);
    fakes().anthropic.enqueue(
      { kind: "reset" },
      { kind: "text", text: "ok", usage: { input: 500, output: 50 } },
    );

    await llm.chat(ask("hi", { model: "anthropic:claude-haiku-4-5" }));

    const [lost] = records[0]!.attempts;
    expect(lost!.error?.name).toBe("ConnectionError");
    expect(lost!.cost).toEqual(prices.cost("anthropic", "claude-haiku-4-5", lost!.usage as Usage));
  });

  it("when every call failed ambiguously, each is charged its input, as an estimate", async () => {
    const { sleep } = recordingSleep();
    const { llm, records } = testClient(fakes(), [retry({ sleep, maxAttempts: 2 })]);
    fakes().openai.enqueue(...times(2, { kind: "reset" }));

    const error = await failure(llm.chat(ask()));

    expect(error).toBeInstanceOf(ConnectionError);
    const attempts = records[0]!.attempts;
    expect(attempts).toHaveLength(2);
    for (const a of attempts) {
      expect(a.usage).toMatchObject({ outputTokens: 0, estimated: true });
      expect(a.usage!.inputTokens).toBeGreaterThan(0);
      expect(a.cost).toMatchObject({ priced: true, estimated: true });
    }
    expect(error.attempts[0].cost.usd).toBeGreaterThan(0);
  });

  it("an HTTP error is not charged: the provider answered, and bills no error", async () => {
    const { sleep } = recordingSleep();
    const { llm, records } = testClient(fakes(), [retry({ sleep })]);
    fakes().openai.enqueue({ kind: "error", status: 503 }, { kind: "text", text: "ok" });
    await llm.chat(ask());
    expect(records[0]!.attempts[0]!.cost).toBeNull();
  });

  it("chargeAmbiguous: false leaves the failed call uncharged", async () => {
    const { sleep } = recordingSleep();
    const { llm, records } = testClient(fakes(), [retry({ sleep, chargeAmbiguous: false })]);
    fakes().openai.enqueue({ kind: "reset" }, { kind: "text", text: "ok" });
    await llm.chat(ask());
    expect(records[0]!.attempts[0]!.cost).toBeNull();
  });
});
