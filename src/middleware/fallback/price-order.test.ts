import { describe, expect, it } from "vitest";
import { priceBook } from "../../pricing/price-book.js";
import { PriceOrder } from "./price-order.js";

const prices = priceBook();
const anthropic = (model: string) => ({ provider: "anthropic", model });

describe("PriceOrder", () => {
  it("compares headline prices, below any long-context tier (Sonnet 4.5 and 4.6 list alike)", () => {
    const order = new PriceOrder();
    const [s45, s46] = [anthropic("claude-sonnet-4-5"), anthropic("claude-sonnet-4-6")];
    expect(order.moreExpensive(prices, s45, s46)).toBe(false);
    expect(order.moreExpensive(prices, s46, s45)).toBe(false);
    expect(order.moreExpensive(prices, anthropic("claude-opus-4-6"), s46)).toBe(true);
    expect(order.moreExpensive(prices, anthropic("claude-haiku-4-5"), s46)).toBe(false);
  });

  it("counts a model without a price as more expensive, either way round", () => {
    const order = new PriceOrder();
    const unknown = { provider: "openai", model: "my-finetune" };
    expect(order.moreExpensive(prices, unknown, anthropic("claude-haiku-4-5"))).toBe(true);
    expect(order.moreExpensive(prices, anthropic("claude-haiku-4-5"), unknown)).toBe(true);
  });
});
