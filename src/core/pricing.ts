import type { Cost, Usage } from "./completion.js";

/**
 * Prices a usage. The built-in price book arrives with the money
 * capability; until a host configures one, every cost is reported as
 * unpriced, never as $0.
 */
export interface PriceBook {
  cost(provider: string, model: string, usage: Usage, options?: { batch?: boolean }): Cost;
}

export const noPriceBook: PriceBook = {
  cost: (_provider, _model, usage) => ({
    priced: false,
    usd: null,
    reason: "no price book configured",
    estimated: usage.estimated === true,
  }),
};
