import type { Cost, Usage } from "./completion.js";

/**
 * Prices a usage. The built-in one is `priceBook()` (src/pricing); a host may
 * pass its own. A model without a known price must give `priced: false`
 * with the reason, never $0.
 */
export interface PriceBook {
  cost(provider: string, model: string, usage: Usage, options?: { batch?: boolean }): Cost;
}
