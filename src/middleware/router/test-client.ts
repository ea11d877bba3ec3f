// Test-only: a client over the wire-level fakes with a router in it, shared by the router's suites.
import type { FakeServer } from "../../../test/fakes/index.js";
import type { Middleware } from "../../core/middleware.js";
import type { ChatRequestInput } from "../../core/request.js";
import { type TestClient, testClient } from "../exact-cache/test-client.js";
import { type RouteDecidedEvent, type RouterOptions, router } from "./index.js";

export const CHEAP = { name: "cheap", model: "openai:gpt-4o-mini" } as const;
export const MID = { name: "mid", model: "openai:gpt-4o" } as const;
export const STRONG = { name: "strong", model: "anthropic:claude-sonnet-4-6" } as const;

export interface RoutedClient extends TestClient {
  decisions: RouteDecidedEvent[];
  /** The models the fakes were asked for, in order, as `provider:model`. */
  calledModels(): string[];
}

export function routedClient(
  fakes: { openai: FakeServer; anthropic: FakeServer },
  options: Partial<RouterOptions> = {},
  before: Middleware[] = [],
): RoutedClient {
  const client = testClient(fakes, [...before, router({ tiers: [CHEAP, STRONG], ...options })]);
  const decisions: RouteDecidedEvent[] = [];
  client.llm.on("route-decided", (d) => decisions.push(d));
  const calledModels = () => [
    ...fakes.openai.requests
      .filter((r) => r.path.endsWith("/chat/completions"))
      .map((r) => `openai:${r.body.model}`),
    ...fakes.anthropic.requests
      .filter((r) => r.path.endsWith("/messages"))
      .map((r) => `anthropic:${r.body.model}`),
  ];
  return { ...client, decisions, calledModels };
}

export const auto = (content: string, extra: Partial<ChatRequestInput> = {}): ChatRequestInput => ({
  model: "auto",
  messages: [{ role: "user", content }],
  ...extra,
});
