// Test-only: a client over the real OpenAI SDK and the wire-level fake, with round prices, a settable
// clock, and every record, event and log line kept. Not part of the package (only tests import it).
import { type FakeClient, fakeClient } from "../../../test/fakes/client.js";
import type { FakeServer } from "../../../test/fakes/index.js";
import type { Clock } from "../../core/context.js";
import type { EventName } from "../../core/events.js";
import type { Middleware } from "../../core/middleware.js";
import type { ChatRequestInput } from "../../core/request.js";
import { priceBook } from "../../pricing/price-book.js";

export { failure as rejection } from "../../../test/fakes/client.js";

/** Round prices (USD per million tokens) so that costs are exact in tests. */
export const PRICES = {
  /** $100 per million input and output tokens: 1 token = 100 micro-dollars. */
  "openai:priced": { input: 100, output: 100 },
  /** Output only: `maxOutputTokens: 1000` is a $0.10 worst case. */
  "openai:output-only": { input: 0, output: 100 },
  /** A cheap tier for degraded mode. */
  "openai:cheap": { input: 1, output: 1 },
  /** Cache writes dearer than input, as Anthropic bills them. */
  "openai:cache-dear": { input: 1, output: 2, cacheWrite5m: 1.25, cacheWrite1h: 2 },
};

export interface BudgetTestClient extends FakeClient {
  /** Moves the client's clock (ms since the epoch). */
  clock: Clock & { set(ms: number): void };
}

const WATCHED: EventName[] = [
  "budget-exceeded",
  "budget-overflow",
  "budget-soft-limit",
  "budget-degraded",
  "budget-output-shrunk",
  "budget-overrun",
  "budget-store-error",
  "budget-store-recovered",
  "warning",
];

export function budgetClient(
  fake: FakeServer,
  middleware: Middleware[],
  startMs = Date.now(),
): BudgetTestClient {
  let now = startMs;
  let offset = 0;
  const clock = {
    // Real time passing after `set`, so that latencies stay positive.
    now: () => now + offset,
    set(ms: number) {
      now = ms;
      offset = 0;
    },
  };
  const client = fakeClient({ openai: fake }, middleware, {
    prices: priceBook({ overrides: PRICES }),
    clock,
    listen: WATCHED,
  });
  return { ...client, clock };
}

export const ask = (content: string, extra: Partial<ChatRequestInput> = {}): ChatRequestInput => ({
  model: "openai:priced",
  messages: [{ role: "user", content }],
  ...extra,
});
