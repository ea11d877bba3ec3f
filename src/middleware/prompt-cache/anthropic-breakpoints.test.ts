import type { ContentBlockParam } from "@anthropic-ai/sdk/resources/messages";
import { describe, expect, it } from "vitest";
import type { CacheControl, ChatRequest, Message, ToolDefinition } from "../../core/request.js";
import { toAnthropicParams } from "../../providers/anthropic/to-wire.js";
import { type BreakpointPlanInput, MAX_BREAKPOINTS, planBreakpoints } from "./anthropic-breakpoints.js";
import { STANDARD_ECONOMICS } from "./cache-economics.js";
import { NO_REUSE, type Reuse } from "./prefix-history.js";
import { deepFreeze, oneHourFirst, prose, seeded, wireMarkers } from "./prompts.fixture.js";

const wire = (request: ChatRequest) => wireMarkers(toAnthropicParams(request, "claude-sonnet-4-6", 1024));

function input(request: ChatRequest, extra: Partial<BreakpointPlanInput> = {}): BreakpointPlanInput {
  return {
    request,
    seed: "acme\0anthropic:claude-sonnet-4-6",
    minTokens: 1024,
    documentMinTokens: 1024,
    ttl: "auto",
    economics: STANDARD_ECONOMICS,
    reuse: () => NO_REUSE,
    priorHitRate: 0.6,
    ...extra,
  };
}

/** A random request: random tools, system and turns, with random caller markers of random TTLs. */
function randomRequest(random: () => number): ChatRequest {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const marker = (): { cacheControl?: CacheControl } =>
    random() < 0.25 ? { cacheControl: pick<CacheControl>([{}, { ttl: "5m" }, { ttl: "1h" }]) } : {};
  const size = () => pick([0, 10, 400, 1100, 2500]);
  const tools: ToolDefinition[] = [];
  for (let i = pick([0, 0, 1, 3]); i > 0; i--) {
    tools.push({ name: `tool${"abc"[i]}`, description: prose(size()), parameters: {}, ...marker() });
  }
  const system = pick([undefined, "string", "parts"]);
  const messages: Message[] = [];
  const turns = pick([1, 2, 4]);
  for (let t = 0; t < turns; t++) {
    messages.push(
      random() < 0.3
        ? { role: "user", content: prose(size() || 1) }
        : {
            role: "user",
            content: [
              { type: "text", text: prose(size() || 1), ...marker() },
              ...(random() < 0.2
                ? [{ type: "image" as const, url: "https://example.com/a.png", ...marker() }]
                : []),
            ],
          },
    );
    if (random() < 0.3) {
      messages.push(
        { role: "assistant", content: [{ type: "tool-call", id: `c${t}`, name: "lookup", arguments: "{}" }] },
        {
          role: "tool",
          content: [
            {
              type: "tool-result",
              toolCallId: `c${t}`,
              content: random() < 0.5 ? prose(size()) : [{ type: "text", text: prose(size()), ...marker() }],
              ...marker(),
            },
          ],
        },
      );
    }
    if (t < turns - 1) {
      messages.push(
        random() < 0.5
          ? { role: "assistant", content: prose(size() || 1) }
          : { role: "assistant", content: [{ type: "text", text: prose(size() || 1), ...marker() }] },
      );
    }
  }
  return {
    model: "anthropic:claude-sonnet-4-6",
    messages,
    ...(system === "string" && { system: prose(size()) }),
    ...(system === "parts" && {
      system: [
        { type: "text" as const, text: prose(size()), ...marker() },
        { type: "text" as const, text: prose(size()), ...marker() },
      ],
    }),
    ...(tools.length && { tools }),
  };
}

describe("planBreakpoints over 500 random requests (C7)", () => {
  const random = seeded(7);
  const cases = Array.from({ length: 500 }, () => randomRequest(random));

  it("never leaves more than four markers, and keeps every caller marker when there are four or fewer", () => {
    const seen = { overCap: 0, added: 0, full: 0 };
    for (const request of cases) {
      const before = wire(request);
      const after = wire(planBreakpoints(input(deepFreeze(request))).request);
      if (before.length > MAX_BREAKPOINTS) seen.overCap++;
      if (after.length > before.length) seen.added++;
      if (after.length === MAX_BREAKPOINTS && before.length < MAX_BREAKPOINTS) seen.full++;
      expect(after.length).toBeLessThanOrEqual(MAX_BREAKPOINTS);
      if (before.length <= MAX_BREAKPOINTS) {
        for (const m of before) expect(after).toContainEqual(m);
      } else {
        expect(after).toHaveLength(MAX_BREAKPOINTS);
      }
    }
    // The random cases do reach every branch.
    expect(Object.values(seen).every((n) => n >= 10)).toBe(true);
  });

  it("puts every 1h breakpoint before every 5m one, unless the caller's own markers already do not", () => {
    const random = seeded(11);
    let mixed = 0;
    for (const request of cases) {
      // Reuse that favours 1h for some prefixes and not others.
      const reuse = (): Reuse =>
        random() < 0.5 ? { within5m: 0, within1h: 3, total: 3 } : { within5m: 2, within1h: 2, total: 2 };
      const plan = planBreakpoints(input(request, { reuse }));
      if (plan.callerTtlOutOfOrder) {
        expect(oneHourFirst(wire(request))).toBe(false);
        continue;
      }
      const after = wire(plan.request);
      expect(oneHourFirst(after)).toBe(true);
      if (after.some((m) => m.ttl === "1h") && after.some((m) => m.ttl === "5m")) mixed++;
    }
    expect(mixed).toBeGreaterThan(10);
  });

  it("is idempotent: planning its own output changes nothing", () => {
    for (const request of cases) {
      const once = planBreakpoints(input(request));
      const twice = planBreakpoints(input(once.request));
      expect(twice.request).toBe(once.request);
      expect(twice.breakpoints).toEqual(once.breakpoints.map(({ expectedReads: _r, ...b }) => b));
    }
  });

  it("is deterministic", () => {
    for (const request of cases.slice(0, 50)) {
      expect(planBreakpoints(input(request)).request).toEqual(planBreakpoints(input(request)).request);
    }
  });

  it("produces requests the Anthropic SDK's wire types accept, with markers only where the API takes them", () => {
    for (const request of cases.slice(0, 100)) {
      const params = toAnthropicParams(planBreakpoints(input(request)).request, "claude-sonnet-4-6", 1024);
      for (const m of params.messages) {
        if (typeof m.content === "string") continue;
        for (const block of m.content as ContentBlockParam[]) {
          if ("cache_control" in block && block.cache_control) {
            expect(["text", "image", "tool_result"]).toContain(block.type);
            if (block.type === "text") expect(block.text).not.toBe("");
          }
        }
      }
    }
  });
});

describe("planBreakpoints: the rules one at a time", () => {
  const base = (extra: Partial<ChatRequest> = {}): ChatRequest => ({
    model: "anthropic:claude-sonnet-4-6",
    system: prose(2000),
    messages: [{ role: "user", content: "Hi" }],
    ...extra,
  });

  it("counts the cumulative prefix toward the minimum, not the block alone", () => {
    const request = base({
      system: [
        { type: "text", text: prose(600) },
        { type: "text", text: prose(600) },
      ],
    });
    expect(wire(planBreakpoints(input(request)).request)).toEqual([{ at: "system[1]", ttl: "5m" }]);
    expect(wire(planBreakpoints(input(request, { minTokens: 1300 })).request)).toEqual([]);
  });

  it("adds nothing when a write would not pay for itself", () => {
    const request = base();
    // Seen many times, never again within an hour.
    const rare: Reuse = { within5m: 0, within1h: 0, total: 10 };
    expect(planBreakpoints(input(request, { reuse: () => rare })).breakpoints).toEqual([]);
    expect(planBreakpoints(input(request, { priorHitRate: 0 })).breakpoints).toEqual([]);
    const free = { readSaving: 0, premium5m: 0, premium1h: 0, source: "prices" as const };
    expect(planBreakpoints(input(request, { economics: free })).breakpoints).toEqual([]);
  });

  it("keeps the most valuable candidates when slots run out, and drops the least valuable first", () => {
    const request = base({
      tools: [{ name: "t", description: prose(1100), parameters: {} }],
      messages: [
        { role: "user", content: [{ type: "text", text: "a", cacheControl: {} }] },
        { role: "assistant", content: [{ type: "text", text: "b", cacheControl: {} }] },
        { role: "user", content: [{ type: "text", text: prose(3000), cacheControl: {} }] },
        { role: "assistant", content: prose(50) },
        { role: "user", content: "c" },
      ],
    });
    // One slot; candidates: tools (1100 tokens), system (2000 more), conversation (50 more): system wins.
    const plan = planBreakpoints(input(request));
    expect(plan.breakpoints.filter((b) => b.source === "added").map((b) => b.kind)).toEqual(["system"]);
  });

  it("makes earlier added breakpoints 1h when a later one is 1h", () => {
    const request = base({
      tools: [{ name: "t", description: prose(1100), parameters: {} }],
      messages: [
        { role: "user", content: "Hi" },
        { role: "assistant", content: prose(100) },
        { role: "user", content: "More" },
      ],
    });
    const hashes: string[] = [];
    planBreakpoints(
      input(request, {
        reuse: (h) => {
          hashes.push(h);
          return NO_REUSE;
        },
      }),
    );
    const last = hashes.at(-1);
    const reuse = (h: string): Reuse => (h === last ? { within5m: 0, within1h: 4, total: 4 } : NO_REUSE);
    const plan = planBreakpoints(input(request, { reuse }));
    expect(plan.breakpoints.map((b) => [b.kind, b.ttl])).toEqual([
      ["tools", "1h"],
      ["system", "1h"],
      ["conversation", "1h"],
    ]);
  });

  it("adds nothing between a caller's 5m marker and a later caller 1h marker, and reports the bad order", () => {
    const request = base({
      system: [
        { type: "text", text: prose(1100), cacheControl: {} },
        { type: "text", text: prose(1000) },
      ],
      messages: [
        { role: "user", content: [{ type: "text", text: prose(100), cacheControl: { ttl: "1h" } }] },
        { role: "assistant", content: "ok" },
        { role: "user", content: "next" },
      ],
    });
    const plan = planBreakpoints(input(request));
    expect(plan.callerTtlOutOfOrder).toBe(true);
    expect(plan.breakpoints.map((b) => [b.at, b.source])).toEqual([
      ["system[0]", "caller"],
      ["messages[0].content[0]", "caller"],
      ["messages[1].content[0]", "added"],
    ]);
  });

  it("marks the conversation before the newest user turn, its tool results and a prefill included", () => {
    const request = base({
      messages: [
        { role: "user", content: "Find the order." },
        { role: "assistant", content: [{ type: "text", text: "Looking." }] },
        { role: "user", content: "Quickly." },
        { role: "assistant", content: [{ type: "tool-call", id: "c1", name: "find", arguments: "{}" }] },
        { role: "tool", content: [{ type: "tool-result", toolCallId: "c1", content: "found" }] },
        { role: "assistant", content: "{" },
      ],
    });
    // The assistant turn before the tool result has no markable block: the marker goes on the last one before it.
    expect(planBreakpoints(input(request)).breakpoints.map((b) => [b.kind, b.at])).toEqual([
      ["system", "system[0]"],
      ["conversation", "messages[2].content[0]"],
    ]);
  });

  it("trims the caller marker closest to the one before it", () => {
    const marked = (text: string) => ({
      role: "user" as const,
      content: [{ type: "text" as const, text, cacheControl: {} }],
    });
    const request = base({
      messages: [
        marked(prose(2000)),
        marked(prose(10)),
        marked(prose(3000)),
        marked(prose(500)),
        marked(prose(800)),
      ],
    });
    const plan = planBreakpoints(input(request));
    expect(plan.trimmed).toBe(1);
    expect(plan.breakpoints.map((b) => b.at)).toEqual([
      "messages[0].content[0]",
      "messages[2].content[0]",
      "messages[3].content[0]",
      "messages[4].content[0]",
    ]);
  });
});
