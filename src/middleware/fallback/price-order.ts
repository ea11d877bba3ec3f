import { emptyUsage, type Usage } from "../../core/completion.js";
import type { ResolvedModel } from "../../core/context.js";
import type { PriceBook } from "../../core/pricing.js";

/**
 * A thousand input and a thousand output tokens: a model's two headline
 * prices, summed. Small enough to stay below every long-context tier (a
 * million input tokens priced Claude Sonnet 4.5 at its 200k+ rate, above
 * Sonnet 4.6, at the same list price).
 */
const PROBE: Usage = { ...emptyUsage(), inputTokens: 1_000, outputTokens: 1_000 };

/**
 * Compares models by the price of a probe usage (1k input + 1k output
 * tokens), per price book, remembering each model's figure. A model without
 * a price has none (`undefined`).
 */
export class PriceOrder {
  readonly #cache = new WeakMap<PriceBook, Map<string, number | undefined>>();

  /** USD for the probe usage, or `undefined` when the model has no price. */
  probe(prices: PriceBook, m: ResolvedModel): number | undefined {
    let book = this.#cache.get(prices);
    if (!book) {
      book = new Map();
      this.#cache.set(prices, book);
    }
    const key = `${m.provider}:${m.model}`;
    if (book.has(key)) return book.get(key);
    const cost = prices.cost(m.provider, m.model, PROBE);
    const usd = cost.priced ? cost.usd : undefined;
    // Bounded: model refs come from requests too; forget all rather than grow without limit.
    if (book.size >= 1_000) book.clear();
    book.set(key, usd);
    return usd;
  }

  /**
   * True when `candidate` costs more than `primary`. A model without a price
   * counts as more expensive: an unknown price is never assumed cheap.
   */
  moreExpensive(prices: PriceBook, candidate: ResolvedModel, primary: ResolvedModel): boolean {
    const c = this.probe(prices, candidate);
    const p = this.probe(prices, primary);
    if (c === undefined) return true;
    if (p === undefined) return true;
    return c > p;
  }
}
