import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeServer, startFakeOpenAI } from "../../../test/fakes/index.js";
import { ConfigError, ProviderError } from "../../core/errors.js";
import type { ChatRequestInput } from "../../core/request.js";
import { memoryKv } from "../../storage/memory/kv.js";
import { exactCache } from "../exact-cache/index.js";
import { ask, readStream, testClient } from "../exact-cache/test-client.js";
import { type DedupeOptions, dedupe } from "./index.js";

let fo: FakeServer;
beforeAll(async () => {
  fo = await startFakeOpenAI();
});
afterAll(() => fo.close());
beforeEach(() => fo.reset());

function setup(options?: DedupeOptions) {
  const coalesce = dedupe(options);
  return { ...testClient({ openai: fo }, [coalesce]), coalesce };
}
const request: ChatRequestInput = ask("Summarize the news", { metadata: { tenant: "acme" } });
const slow = (text: string, delayMs = 40) =>
  ({ kind: "slow-first-byte", delayMs, next: { kind: "text", text } }) as const;

describe("dedupe: identical requests in flight share one call", () => {
  it("20 concurrent callers: 1 provider call, 20 own answers, 1 priced record and 19 dedupe hits", async () => {
    const { llm, records, coalesce } = setup();
    fo.enqueue(slow("Markets rose."));
    const calls = Array.from({ length: 20 }, (_, i) =>
      i % 2 === 0
        ? llm.chat(request)
        : readStream(llm.stream(request)).then((r) => ({ ...r.completion, events: r.events })),
    );
    expect(coalesce.inFlight()).toBe(1);
    const answers = await Promise.all(calls);
    expect(fo.requests).toHaveLength(1);
    expect(coalesce.inFlight()).toBe(0);
    expect(answers.every((a) => a.text === "Markets rose.")).toBe(true);
    expect(new Set(answers.map((a) => a.content)).size).toBe(20);
    expect(new Set(answers.map((a) => a.usage)).size).toBe(20);
    for (const a of answers.filter((_, i) => i % 2 === 1)) {
      const events = (a as unknown as { events: { type: string; text?: string }[] }).events;
      expect(events[0]?.type).toBe("start");
      expect(
        events
          .filter((e) => e.type === "text-delta")
          .map((e) => e.text)
          .join(""),
      ).toBe("Markets rose.");
      expect(events.at(-1)?.type).toBe("finish");
    }
    const priced = records.filter((r) => r.attempts.length === 1);
    const hits = records.filter((r) => r.cache?.status === "hit");
    expect(priced).toHaveLength(1);
    expect(priced[0]!.cost.usd).toBeGreaterThan(0);
    expect(hits).toHaveLength(19);
    for (const r of hits) {
      expect(r).toMatchObject({
        cost: { usd: 0 },
        attempts: [],
        cache: { kind: "dedupe", saved: { cost: priced[0]!.cost } },
      });
      expect(r.savingsUsd).toBeCloseTo(priced[0]!.cost.usd!, 12);
    }
  });

  it("one caller changing its copy does not change another's", async () => {
    const { llm } = setup();
    fo.enqueue({ kind: "tool-calls", calls: [{ name: "lookup", arguments: { q: "x" } }] });
    const [a, b] = await Promise.all([llm.chat(request), llm.chat(request)]);
    a.toolCalls[0]!.arguments = "{}";
    a.usage.outputTokens = 0;
    expect(b.toolCalls[0]!.arguments).toBe('{"q":"x"}');
    expect(b.usage.outputTokens).toBeGreaterThan(0);
  });

  it("an error of the shared call reaches every waiter, after 1 request", async () => {
    const { llm } = setup();
    fo.enqueue({ kind: "slow-first-byte", delayMs: 40, next: { kind: "error", status: 500 } });
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => llm.chat(request)));
    expect(fo.requests).toHaveLength(1);
    for (const r of results) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ProviderError);
  });

  it("a stream that fails midway fails every waiter", async () => {
    const { llm } = setup();
    fo.enqueue({ kind: "slow-first-byte", delayMs: 20, next: { kind: "truncated-stream", afterDeltas: 2 } });
    const results = await Promise.allSettled([
      readStream(llm.stream(request)),
      llm.chat(request),
      readStream(llm.stream(request)),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    expect(fo.requests).toHaveLength(1);
  });

  it("stores nothing: once the call is over, the next identical request calls again", async () => {
    const { llm } = setup();
    await llm.chat(request);
    const second = await llm.chat(request);
    expect(fo.requests).toHaveLength(2);
    expect(second.meta.state.cache).toEqual({ status: "miss", kind: "dedupe" });
  });
});

describe("dedupe: what is never coalesced", () => {
  it("two tenants' identical requests, nor a tenant's and an untenanted one (C1)", async () => {
    const { llm } = setup();
    fo.enqueue(slow("a"), slow("b"), slow("c"), slow("d"));
    await Promise.all([
      llm.chat(request),
      llm.chat({ ...request, metadata: { tenant: "globex" } }),
      llm.chat({ ...request, metadata: undefined }),
      llm.chat({ ...request, metadata: { tenant: "-" } }),
    ]);
    expect(fo.requests).toHaveLength(4);
  });

  it("requests that differ in any answer-changing field", async () => {
    const { llm } = setup();
    await Promise.all([
      llm.chat(request),
      llm.chat({ ...request, temperature: 0 }),
      llm.chat({ ...request, seed: 1 }),
    ]);
    expect(fo.requests).toHaveLength(3);
  });

  it("metadata.cache: false, or a temperature above the limit", async () => {
    const { llm } = setup({ admission: { maxTemperature: 0.5 } });
    const off = { ...request, temperature: 0, metadata: { tenant: "acme", cache: false } };
    const hot = { ...request, temperature: 0.9 };
    await Promise.all([llm.chat(off), llm.chat(off), llm.chat(hot), llm.chat(hot)]);
    expect(fo.requests).toHaveLength(4);
  });

  it("requests for which keyOf returns undefined", async () => {
    const { llm } = setup({ keyOf: () => undefined });
    await Promise.all([llm.chat(request), llm.chat(request)]);
    expect(fo.requests).toHaveLength(2);
  });

  it("keyOf decides within a tenant, never across tenants", async () => {
    const { llm } = setup({ keyOf: () => "everything" });
    fo.enqueue(slow("a"), slow("b"));
    const [a, b, c] = await Promise.all([
      llm.chat(request),
      llm.chat({ ...request, messages: [{ role: "user", content: "other" }] }),
      llm.chat({ ...request, metadata: { tenant: "globex" } }),
    ]);
    expect(fo.requests).toHaveLength(2);
    expect([a.text, b.text]).toEqual(["a", "a"]);
    expect(c.text).toBe("b");
  });
});

describe("dedupe: aborts", () => {
  it("the leader's abort is its own: the followers are answered by one more call", async () => {
    const { llm } = setup();
    fo.enqueue(slow("first", 300), { kind: "text", text: "second" });
    const controller = new AbortController();
    const leader = llm.stream(request, { signal: controller.signal }).finalCompletion();
    const followers = Promise.all([llm.chat(request), llm.chat(request), readStream(llm.stream(request))]);
    setTimeout(() => controller.abort(), 20);
    await expect(leader).rejects.toThrow(/abort/i);
    const [x, y, z] = await followers;
    expect([x.text, y.text, z.completion.text]).toEqual(["second", "second", "second"]);
    expect(fo.requests).toHaveLength(2);
  });
  it("when the leader's reader stops early, the call goes on for the followers and the leader's completion resolves", async () => {
    const { llm } = setup();
    fo.enqueue(slow("a b c d e f", 30));
    const leader = llm.stream(request);
    const follower = llm.chat(request);
    for await (const event of leader) if (event.type === "text-delta") break;
    expect((await follower).text).toBe("a b c d e f");
    expect((await leader.completion).text).toBe("a b c d e f");
    expect(fo.requests).toHaveLength(1);
  });

  it("a follower's own abort rejects only that follower", async () => {
    const { llm } = setup();
    fo.enqueue(slow("answer", 200));
    const controller = new AbortController();
    const leader = llm.chat(request);
    const follower = llm.stream(request, { signal: controller.signal }).finalCompletion();
    setTimeout(() => controller.abort(), 10);
    await expect(follower).rejects.toThrow(/aborted/);
    expect((await leader).text).toBe("answer");
    expect(fo.requests).toHaveLength(1);
  });
});

describe("dedupe: with exactCache inside it", () => {
  it("followers of a leader served by the cache record what the answer cost when it was made", async () => {
    const store = memoryKv();
    const { llm, records } = testClient({ openai: fo }, [dedupe(), exactCache({ store })]);
    await llm.chat(request);
    const original = records[0]!;
    await Promise.all([llm.chat(request), llm.chat(request)]);
    expect(fo.requests).toHaveLength(1);
    const [leader, follower] = [records[1]!, records[2]!];
    expect(leader.cache).toMatchObject({ status: "hit", kind: "exact", saved: { cost: original.cost } });
    expect(follower.cache).toMatchObject({ status: "hit", kind: "dedupe", saved: { cost: original.cost } });
  });
});

describe("dedupe: options", () => {
  it("refuses an unknown option or a bad keyOf, naming it", () => {
    expect(() => dedupe({ keyOf: "x" } as never)).toThrow(ConfigError);
    expect(() => dedupe({ keyOf: "x" } as never)).toThrow(/options.keyOf/);
    expect(() => dedupe({ ttl: 1 } as never)).toThrow(/ttl/);
  });
});
