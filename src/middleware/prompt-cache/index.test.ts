import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, expectTypeOf, it } from "vitest";
import { type FakeServer, startFakeAnthropic, startFakeOpenAI } from "../../../test/fakes/index.js";
import { createClient } from "../../client.js";
import type { CostRecord } from "../../core/cost-record.js";
import type { Middleware } from "../../core/middleware.js";
import type { Provider } from "../../core/provider.js";
import type { ChatRequestInput, Message } from "../../core/request.js";
import { anthropic } from "../../providers/anthropic/index.js";
import { openai } from "../../providers/openai/index.js";
import { costTracker } from "../cost-tracker/index.js";
import { type PromptCacheState, type PromptCacheWarning, promptCache } from "./index.js";
import { deepFreeze, oneHourFirst, prose, wireMarkers } from "./prompts.fixture.js";

let fa: FakeServer;
let fo: FakeServer;
beforeAll(async () => {
  fa = await startFakeAnthropic();
  fo = await startFakeOpenAI();
});
afterAll(async () => {
  await fa.close();
  await fo.close();
});
beforeEach(() => {
  fa.reset();
  fo.reset();
});

const KEY = "sk-test-prompt-cache";
const SONNET = "anthropic:claude-sonnet-4-6";
// Published per-million prices of Claude Sonnet 4.6 (src/pricing/price-book.test.ts checks the data).
const SONNET_PRICE = { input: 3, read: 0.3, write5m: 3.75, write1h: 6, output: 15 };

function setup(middleware: Middleware[] = [promptCache()], extra: Record<string, Provider> = {}) {
  const records: CostRecord[] = [];
  const warnings: PromptCacheWarning[] = [];
  const generic: { code: string; message: string }[] = [];
  let now = Date.parse("2026-01-05T09:00:00Z");
  const llm = createClient({
    providers: {
      anthropic: anthropic(new Anthropic({ apiKey: KEY, baseURL: fa.baseURL, maxRetries: 0 })),
      openai: openai(new OpenAI({ apiKey: KEY, baseURL: fo.baseURL, maxRetries: 0 })),
      ...extra,
    },
    middleware: [costTracker({ onRecord: (r) => records.push(r) }), ...middleware],
    clock: { now: () => now },
  });
  llm.on("prompt-cache-warning", (w) => warnings.push(w));
  llm.on("warning", (w) => generic.push(w));
  const advance = (ms: number) => {
    now += ms;
  };
  return { llm, records, warnings, generic, advance };
}

const user = (text: string): Message => ({ role: "user", content: text });
const ask = (model: string, extra: Partial<ChatRequestInput> = {}): ChatRequestInput => ({
  model,
  messages: [user("What does the policy say about refunds?")],
  metadata: { tenant: "acme", task: "support" },
  ...extra,
});
const bodyOf = (fake: FakeServer, i = -1) => fake.requests.at(i)!.body;

describe("promptCache, Anthropic: where breakpoints go", () => {
  it("marks the end of a long system prompt, with the default 5m TTL on a first sighting", async () => {
    const { llm } = setup();
    const res = await llm.chat(ask(SONNET, { system: prose(2000) }));
    expect(wireMarkers(bodyOf(fa))).toEqual([{ at: "system[0]", ttl: "5m" }]);
    expect(bodyOf(fa).system[0].cache_control).toEqual({ type: "ephemeral" });
    expectTypeOf(res.meta.state.promptCache).toEqualTypeOf<PromptCacheState | undefined>();
    expect(res.meta.state.promptCache).toMatchObject({
      provider: "anthropic",
      ttl: "5m",
      minTokens: 1024,
      breakpoints: [{ kind: "system", source: "added", ttl: "5m", at: "system[0]" }],
    });
  });

  it("places no breakpoint below the model's minimum cacheable length", async () => {
    const { llm } = setup();
    // 1000 tokens: under Sonnet 4.6's 1024.
    const short = await llm.chat(ask(SONNET, { system: prose(1000) }));
    expect(wireMarkers(bodyOf(fa))).toEqual([]);
    expect(bodyOf(fa).system).toBe(prose(1000));
    expect(short.meta.state.promptCache?.breakpoints).toEqual([]);
    // 3000 tokens: above Sonnet's minimum, under Haiku 4.5's 4096.
    await llm.chat(ask("anthropic:claude-haiku-4-5", { system: prose(3000) }));
    expect(wireMarkers(bodyOf(fa))).toEqual([]);
    await llm.chat(ask("anthropic:claude-haiku-4-5", { system: prose(5000) }));
    expect(wireMarkers(bodyOf(fa))).toEqual([{ at: "system[0]", ttl: "5m" }]);
  });

  it("marks the tools, the system prompt, a large document and the conversation, in prefix order", async () => {
    const { llm } = setup();
    const tools = [
      { name: "lookup", description: prose(1200, "tools"), parameters: { type: "object", properties: {} } },
    ];
    const messages: Message[] = [
      { role: "user", content: [{ type: "text", text: prose(1500, "contract") }] },
      { role: "assistant", content: "I have read the contract." },
      user("Which clause covers refunds?"),
    ];
    await llm.chat(ask(SONNET, { tools, system: prose(300), messages }));
    expect(wireMarkers(bodyOf(fa))).toEqual([
      { at: "tools[0]", ttl: "5m" },
      { at: "system[0]", ttl: "5m" },
      { at: "messages[0].content[0]", ttl: "5m" },
      { at: "messages[1].content[0]", ttl: "5m" },
    ]);
  });

  it("leaves the caller's request objects untouched", async () => {
    const { llm } = setup();
    const request = deepFreeze(
      ask(SONNET, {
        system: prose(2000),
        messages: [user(prose(1500, "contract")), { role: "assistant", content: "Read." }, user("Refunds?")],
      }),
    );
    const before = JSON.stringify(request);
    await llm.chat(request);
    expect(JSON.stringify(request)).toBe(before);
    expect(wireMarkers(bodyOf(fa)).length).toBeGreaterThan(0);
  });
});

describe("promptCache, Anthropic: the cap of four counts the caller's markers (C7)", () => {
  const callerMarked = (n: number, ttl?: "1h"): Message[] => {
    const messages: Message[] = [];
    for (let i = 0; i < n; i++) {
      messages.push(
        {
          role: "user",
          content: [
            { type: "text", text: prose(300, `part${"abcdefg"[i]}`), cacheControl: ttl ? { ttl } : {} },
          ],
        },
        { role: "assistant", content: "Noted." },
      );
    }
    messages.push(user("Summarize."));
    return messages;
  };
  const longPrompt = {
    system: prose(2000),
    tools: [{ name: "t", parameters: { description: prose(1100) } }],
  };

  it("adds at most one breakpoint to a request that has three of its own", async () => {
    const { llm } = setup();
    await llm.chat(ask(SONNET, { ...longPrompt, messages: callerMarked(3) }));
    const markers = wireMarkers(bodyOf(fa));
    expect(markers).toHaveLength(4);
    for (const i of [0, 2, 4]) expect(markers.map((m) => m.at)).toContain(`messages[${i}].content[0]`);
  });

  it("adds none to a request that has four", async () => {
    const { llm } = setup();
    const messages = callerMarked(4);
    const res = await llm.chat(ask(SONNET, { ...longPrompt, messages }));
    expect(wireMarkers(bodyOf(fa)).map((m) => m.at)).toEqual(
      [0, 2, 4, 6].map((i) => `messages[${i}].content[0]`),
    );
    expect(res.meta.state.promptCache?.breakpoints.every((b) => b.source === "caller")).toBe(true);
  });

  it("counts a top-level cache_control (automatic caching) as one of the four", async () => {
    const { llm } = setup();
    await llm.chat(
      ask(SONNET, {
        ...longPrompt,
        messages: callerMarked(3),
        providerOptions: { anthropic: { cache_control: { type: "ephemeral" } } },
      }),
    );
    expect(wireMarkers(bodyOf(fa))).toHaveLength(4);
  });

  it("trims a request that has five down to four, warning once, so Anthropic never answers 400", async () => {
    const { llm, warnings, generic } = setup();
    for (let i = 0; i < 2; i++) {
      const res = await llm.chat(ask(SONNET, { ...longPrompt, messages: callerMarked(5) }));
      expect(wireMarkers(bodyOf(fa))).toHaveLength(4);
      expect(res.meta.state.promptCache?.trimmed).toBe(1);
    }
    expect(warnings.map((w) => w.code)).toEqual(["too-many-breakpoints"]);
    expect(generic.map((w) => w.code)).toContain("prompt-cache-too-many-breakpoints");
  });
});

describe("promptCache, Anthropic: TTLs", () => {
  it("gives 1h to a prefix that comes back every 20 minutes, and keeps 1h breakpoints before 5m ones", async () => {
    const { llm, advance } = setup();
    const system = prose(3000);
    const conversation = (turn: number): Message[] => [
      user(`Question number ${"abc"[turn]}?`),
      { role: "assistant", content: prose(200, `answer ${"abc"[turn]}`) },
      user("And then?"),
    ];
    await llm.chat(ask(SONNET, { system, messages: conversation(0) }));
    expect(wireMarkers(bodyOf(fa)).map((m) => m.ttl)).toEqual(["5m", "5m"]);
    advance(20 * 60_000);
    const res = await llm.chat(ask(SONNET, { system, messages: conversation(1) }));
    const markers = wireMarkers(bodyOf(fa));
    expect(markers).toEqual([
      { at: "system[0]", ttl: "1h" },
      { at: "messages[1].content[0]", ttl: "5m" },
    ]);
    expect(bodyOf(fa).system[0].cache_control).toEqual({ type: "ephemeral", ttl: "1h" });
    expect(res.meta.state.promptCache?.ttl).toBe("1h");
  });

  it("gives an added breakpoint 1h when the caller's own 1h breakpoint comes after it", async () => {
    const { llm } = setup();
    await llm.chat(
      ask(SONNET, {
        system: prose(2000),
        messages: [{ role: "user", content: [{ type: "text", text: "Hi", cacheControl: { ttl: "1h" } }] }],
      }),
    );
    const markers = wireMarkers(bodyOf(fa));
    expect(markers).toEqual([
      { at: "system[0]", ttl: "1h" },
      { at: "messages[0].content[0]", ttl: "1h" },
    ]);
    expect(oneHourFirst(markers)).toBe(true);
  });

  it('always uses the TTL set by `ttl: "1h"`', async () => {
    const { llm } = setup([promptCache({ ttl: "1h" })]);
    await llm.chat(ask(SONNET, { system: prose(2000) }));
    expect(wireMarkers(bodyOf(fa))).toEqual([{ at: "system[0]", ttl: "1h" }]);
  });
});

describe("promptCache, Anthropic: deterministic and idempotent", () => {
  const request = () =>
    ask(SONNET, {
      tools: [{ name: "t", parameters: { description: prose(1100) } }],
      system: prose(2000),
      messages: [
        { role: "user", content: [{ type: "text", text: prose(1200), cacheControl: { ttl: "1h" } }] },
        { role: "assistant", content: "Read." },
        user("Refunds?"),
      ],
    });

  it("sends the same body when the middleware runs twice as when it runs once", async () => {
    await setup([promptCache()]).llm.chat(request());
    await setup([promptCache(), promptCache()]).llm.chat(request());
    await setup([promptCache()]).llm.chat(request());
    const [once, twice, again] = fa.requests.map((r) => r.body);
    expect(wireMarkers(once).length).toBe(4);
    expect(twice).toEqual(once);
    expect(again).toEqual(once);
  });

  it("reports the breakpoints it added as its own on a second pass", async () => {
    const res = await setup([promptCache(), promptCache()]).llm.chat(request());
    const state = res.meta.state.promptCache!;
    expect(state.breakpoints.filter((b) => b.source === "added").map((b) => b.kind)).toEqual([
      "tools",
      "system",
      "conversation",
    ]);
  });
});

describe("promptCache, Anthropic: a two-turn conversation reads from cache (C7)", () => {
  it.each([
    ["not streamed", false],
    ["streamed", true],
  ])(
    "turn 2 marks the end of turn 1 and its cache reads are priced at the read rate, %s",
    async (_l, stream) => {
      const { llm, records } = setup();
      const system = prose(2500);
      const send = async (request: ChatRequestInput) =>
        stream ? llm.stream(request).finalCompletion() : llm.chat(request);

      fa.enqueue({
        kind: "text",
        text: "Refunds take 14 days.",
        usage: { input: 10, cacheWrite5m: 2500, output: 6 },
      });
      const turn1 = await send(ask(SONNET, { system }));
      expect(wireMarkers(bodyOf(fa))).toEqual([{ at: "system[0]", ttl: "5m" }]);

      const history: Message[] = [
        user("What does the policy say about refunds?"),
        { role: "assistant", content: turn1.text },
        user("And exchanges?"),
      ];
      fa.enqueue({
        kind: "text",
        text: "Exchanges are free.",
        usage: { input: 8, cacheRead: 2500, cacheWrite5m: 15, output: 4 },
      });
      const turn2 = await send(ask(SONNET, { system, messages: history }));
      const body = bodyOf(fa);
      // The prefix turn 1 wrote is sent again byte for byte, and the conversation breakpoint sits at the end of turn 1.
      expect(body.system).toEqual(bodyOf(fa, 0).system);
      expect(wireMarkers(body)).toEqual([
        { at: "system[0]", ttl: "5m" },
        { at: "messages[1].content[0]", ttl: "5m" },
      ]);
      expect(body.messages[1].content).toEqual([
        { type: "text", text: "Refunds take 14 days.", cache_control: { type: "ephemeral" } },
      ]);

      const record = records.at(-1)!;
      expect(record.usage.cacheReadTokens).toBe(2500);
      expect(record.cost.priced && record.cost.breakdown.cacheRead).toBeCloseTo(
        (2500 * SONNET_PRICE.read) / 1e6,
        12,
      );
      const expected =
        (8 * SONNET_PRICE.input +
          2500 * SONNET_PRICE.read +
          15 * SONNET_PRICE.write5m +
          4 * SONNET_PRICE.output) /
        1e6;
      expect(record.cost.usd).toBeCloseTo(expected, 12);
      const saved =
        (2500 * (SONNET_PRICE.input - SONNET_PRICE.read) - 15 * (SONNET_PRICE.write5m - SONNET_PRICE.input)) /
        1e6;
      expect(turn2.meta.state.promptCache?.outcome).toEqual({
        cacheReadTokens: 2500,
        cacheWriteTokens: 15,
        savedUsd: expect.closeTo(saved, 12),
      });
    },
  );
});

describe("promptCache: what it leaves alone", () => {
  it("passes requests to other providers through untouched", async () => {
    const seen: unknown[] = [];
    const echo: Provider = {
      name: "echo",
      async complete(request, o) {
        seen.push(request);
        return {
          id: "e1",
          model: o.model,
          content: [{ type: "text", text: "ok" }],
          finishReason: "stop",
          usage: {
            inputTokens: 1,
            cacheReadTokens: 0,
            cacheWrite5mTokens: 0,
            cacheWrite1hTokens: 0,
            outputTokens: 1,
            reasoningTokens: 0,
          },
          raw: null,
        };
      },
      stream: () => Promise.reject(new Error("not used")),
    };
    const { llm } = setup([promptCache()], { echo });
    const request = ask("echo:model", { system: prose(3000) });
    const res = await llm.chat(request);
    expect(seen[0]).toMatchObject({ system: prose(3000) });
    expect(res.meta.state.promptCache).toBeUndefined();
  });

  it("leaves `auto` to the dispatcher's own error when no router ran first", async () => {
    const { llm } = setup();
    await expect(llm.chat(ask("auto"))).rejects.toThrow(/needs a router/);
  });

  it("does not touch a prompt that providerOptions.anthropic replaces", async () => {
    const { llm } = setup();
    const res = await llm.chat(
      ask(SONNET, {
        system: prose(2000),
        providerOptions: { anthropic: { system: prose(2000, "override") } },
      }),
    );
    expect(wireMarkers(bodyOf(fa))).toEqual([]);
    expect(res.meta.state.promptCache?.skipped).toMatch(/providerOptions\.anthropic sets system/);
  });

  it("adds no breakpoint and no key when the request forbids caches (metadata.cache false)", async () => {
    const { llm } = setup();
    const metadata = { tenant: "acme", task: "support", cache: false };
    const res = await llm.chat(ask(SONNET, { system: prose(2000), metadata }));
    await llm.chat(ask("openai:gpt-4o-mini", { system: prose(2000), metadata }));
    expect(wireMarkers(bodyOf(fa))).toEqual([]);
    expect(bodyOf(fo).prompt_cache_key).toBeUndefined();
    expect(res.meta.state.promptCache?.skipped).toBe("metadata.cache is false");
  });

  it("can be turned off per provider", async () => {
    const { llm } = setup([promptCache({ anthropic: false, openai: false })]);
    await llm.chat(ask(SONNET, { system: prose(2000) }));
    await llm.chat(ask("openai:gpt-4o-mini"));
    expect(wireMarkers(bodyOf(fa))).toEqual([]);
    expect(bodyOf(fo).prompt_cache_key).toBeUndefined();
  });
});

describe("promptCache, OpenAI: prompt_cache_key", () => {
  const MINI = "openai:gpt-4o-mini";
  const keyOf = (i = -1) => bodyOf(fo, i).prompt_cache_key as string | undefined;

  it("sets a key that is stable per tenant and template and differs between tenants and templates", async () => {
    const { llm } = setup();
    const send = (tenant: string, task: string, question: string) =>
      llm.chat(ask(MINI, { metadata: { tenant, task }, messages: [user(question)] }));
    const res = await send("acme", "support", "Refunds?");
    await send("acme", "support", "Exchanges?");
    await send("globex", "support", "Refunds?");
    await send("acme", "billing", "Refunds?");
    const keys = fo.requests.map((r) => r.body.prompt_cache_key);
    expect(keys[0]).toMatch(/^fl-[\w-]{32}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(keys[2]).not.toBe(keys[0]);
    expect(keys[3]).not.toBe(keys[0]);
    expect(keys.join(" ")).not.toMatch(/acme|globex|support|billing/);
    expect(res.meta.state.promptCache?.promptCacheKey).toEqual({ value: keys[0], source: "added" });
  });

  it("keeps the caller's own key", async () => {
    const { llm } = setup();
    const res = await llm.chat(ask(MINI, { providerOptions: { openai: { prompt_cache_key: "mine" } } }));
    expect(keyOf()).toBe("mine");
    expect(res.meta.state.promptCache?.promptCacheKey).toEqual({ value: "mine", source: "caller" });
    // null: the caller wants no key, and gets none.
    await llm.chat(ask(MINI, { providerOptions: { openai: { prompt_cache_key: null } } }));
    expect(keyOf()).toBeNull();
  });

  it("keys by the host's templateOf, else by the system prompt, and sets none with nothing to go on", async () => {
    const { llm } = setup([
      promptCache({ templateOf: (r) => (r.metadata?.tags?.includes("faq") ? "faq" : undefined) }),
    ]);
    await llm.chat(ask(MINI, { metadata: { tenant: "acme", task: "a", tags: ["faq"] } }));
    await llm.chat(ask(MINI, { metadata: { tenant: "acme", task: "b", tags: ["faq"] } }));
    expect(keyOf(0)).toBe(keyOf(1));
    await llm.chat(ask(MINI, { metadata: { tenant: "acme" }, system: "You answer questions." }));
    await llm.chat(ask(MINI, { metadata: { tenant: "acme" }, system: "You write poems." }));
    expect(keyOf(2)).toMatch(/^fl-/);
    expect(keyOf(3)).not.toBe(keyOf(2));
    const res = await llm.chat(ask(MINI, { metadata: { tenant: "acme" } }));
    expect(keyOf()).toBeUndefined();
    expect(res.meta.state.promptCache?.skipped).toMatch(/no template/);
  });

  it("depends on the host's salt", async () => {
    await setup([promptCache({ salt: "one" })]).llm.chat(ask(MINI));
    await setup([promptCache({ salt: "two" })]).llm.chat(ask(MINI));
    expect(keyOf(0)).not.toBe(keyOf(1));
  });

  it("records the cached-token savings of the reply", async () => {
    const { llm, records } = setup();
    fo.enqueue({ kind: "text", text: "ok", usage: { input: 200, cacheRead: 1800, output: 2 } });
    const res = await llm.chat(ask(MINI, { system: prose(2000) }));
    expect(records[0]!.usage.cacheReadTokens).toBe(1800);
    expect(res.meta.state.promptCache?.outcome).toEqual({
      cacheReadTokens: 1800,
      cacheWriteTokens: 0,
      savedUsd: expect.closeTo((1800 * (0.15 - 0.075)) / 1e6, 12),
    });
  });
});

describe("promptCache: dynamic content before a long static prefix", () => {
  const stamped = (stamp: string) => `Current time: ${stamp}.\n${prose(2000)}`;

  it("warns once per template, through its own event and `warning`, without the prompt text", async () => {
    const { llm, warnings, generic } = setup();
    await llm.chat(ask("openai:gpt-4o-mini", { system: stamped("2026-01-05T09:00:00Z") }));
    await llm.chat(ask("openai:gpt-4o-mini", { system: stamped("2026-01-05T09:00:07Z") }));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      code: "dynamic-prefix",
      provider: "openai",
      model: "gpt-4o-mini",
      dynamic: { kind: "timestamp", where: "system", offset: 14 },
    });
    expect(warnings[0]!.message).not.toContain("09:00");
    expect(generic.filter((w) => w.code === "prompt-cache-dynamic-prefix")).toHaveLength(1);
    // Another template is another warning; so is another tenant.
    await llm.chat(
      ask("openai:gpt-4o-mini", { system: stamped("2026-01-05T09:00:09Z"), metadata: { task: "x" } }),
    );
    await llm.chat(ask(SONNET, { system: `Request id: 7f9c\n${prose(2000)}` }));
    expect(warnings.map((w) => [w.provider, w.dynamic?.kind])).toEqual([
      ["openai", "timestamp"],
      ["openai", "timestamp"],
      ["anthropic", "request-id"],
    ]);
  });

  it("stays quiet for short prompts, late dynamic content, or when turned off", async () => {
    const { llm, warnings } = setup();
    await llm.chat(ask("openai:gpt-4o-mini", { system: "Now: 2026-01-05T09:00:00Z. Be brief." }));
    await llm.chat(ask("openai:gpt-4o-mini", { system: `${prose(3000)} Now: 2026-01-05T09:00:00Z.` }));
    const off = setup([promptCache({ warnDynamicContent: false })]);
    await off.llm.chat(ask("openai:gpt-4o-mini", { system: stamped("2026-01-05T09:00:00Z") }));
    expect(warnings).toEqual([]);
    expect(off.warnings).toEqual([]);
  });
});

describe("promptCache options", () => {
  it.each([
    [{ ttl: "2h" }, /options\.ttl/],
    [{ documentMinTokens: 0 }, /options\.documentMinTokens/],
    [{ priorHitRate: 1 }, /options\.priorHitRate/],
    [{ historySize: 0 }, /options\.historySize/],
    [{ minTokens: { "claude-x": 1.5 } }, /options\.minTokens/],
    [{ salt: "" }, /options\.salt/],
    [{ surprise: true }, /surprise/],
  ])("rejects %o with an error naming the option", (options, message) => {
    expect(() => promptCache(options as never)).toThrow(message);
  });
});
