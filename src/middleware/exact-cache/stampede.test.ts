import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeServer, startFakeOpenAI } from "../../../test/fakes/index.js";
import { ProviderError } from "../../core/errors.js";
import type { ChatRequestInput } from "../../core/request.js";
import { memoryKv } from "../../storage/memory/kv.js";
import { type ExactCacheOptions, exactCache } from "./index.js";
import { ask, readStream, recording, settle, testClient } from "./test-client.js";

let fo: FakeServer;
beforeAll(async () => {
  fo = await startFakeOpenAI();
});
afterAll(() => fo.close());
beforeEach(() => fo.reset());

function setup(options: Partial<ExactCacheOptions> = {}) {
  const store = recording(options.store ?? memoryKv());
  const cache = exactCache({ ...options, store });
  return { ...testClient({ openai: fo }, [cache]), cache, store };
}
const request: ChatRequestInput = ask("Explain DNS", { metadata: { tenant: "acme" } });

describe("exactCache: stampede protection (C6)", () => {
  it("100 concurrent identical misses make exactly 1 provider request", async () => {
    const { llm, records, store } = setup();
    fo.enqueue({ kind: "slow-first-byte", delayMs: 50, next: { kind: "text", text: "DNS maps names." } });
    const answers = await Promise.all(Array.from({ length: 100 }, () => llm.chat(request)));
    expect(fo.requests).toHaveLength(1);
    expect(new Set(answers.map((a) => a.text))).toEqual(new Set(["DNS maps names."]));
    expect(new Set(answers).size).toBe(100); // each caller its own completion object
    expect(new Set(answers.map((a) => a.content)).size).toBe(100);
    const priced = records.filter((r) => r.attempts.length > 0);
    expect(priced).toHaveLength(1);
    expect(priced[0]!.cost.usd).toBeGreaterThan(0);
    const followers = records.filter((r) => r.attempts.length === 0);
    expect(followers).toHaveLength(99);
    for (const r of followers) {
      expect(r.cost.usd).toBe(0);
      expect(r.cache).toMatchObject({ status: "hit", kind: "dedupe", saved: { cost: priced[0]!.cost } });
      expect(r.savingsUsd).toBeCloseTo(priced[0]!.cost.usd!, 12);
    }
    await settle();
    expect(store.sets).toHaveLength(1);
  });

  it("if that one call fails, all 100 reject with its error and the provider saw 1 request", async () => {
    const { llm, records } = setup();
    fo.enqueue({ kind: "slow-first-byte", delayMs: 50, next: { kind: "error", status: 500 } });
    const results = await Promise.allSettled(Array.from({ length: 100 }, () => llm.chat(request)));
    expect(fo.requests).toHaveLength(1);
    expect(results.every((r) => r.status === "rejected")).toBe(true);
    for (const r of results) {
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ProviderError);
      expect((r as PromiseRejectedResult).reason.status).toBe(500);
    }
    expect(records.filter((r) => r.attempts.length > 0)).toHaveLength(1);
    expect(records.every((r) => r.status === "error")).toBe(true);
    // The failure is not remembered: the next request calls again.
    await llm.chat(request);
    expect(fo.requests).toHaveLength(2);
  });

  it("streamed callers each get their own stream, whichever they read first", async () => {
    const { llm } = setup();
    fo.enqueue({ kind: "slow-first-byte", delayMs: 30, next: { kind: "text", text: "one two three four" } });
    const streams = Array.from({ length: 10 }, () => llm.stream(request));
    // Read the last first: a follower must not wait on a leader nobody reads yet.
    const results = [];
    for (const stream of streams.reverse()) results.push(await readStream(stream));
    expect(fo.requests).toHaveLength(1);
    for (const { events, completion } of results) {
      const text = events.flatMap((e) => (e.type === "text-delta" ? [e.text] : [])).join("");
      expect(text).toBe("one two three four");
      expect(completion.text).toBe("one two three four");
      expect(events.at(-1)?.type).toBe("finish");
    }
  });

  it("streamed and non-streamed callers share one call", async () => {
    const { llm } = setup();
    fo.enqueue({ kind: "slow-first-byte", delayMs: 30, next: { kind: "text", text: "shared answer" } });
    const [a, b, c] = await Promise.all([
      llm.stream(request).finalCompletion(),
      llm.chat(request),
      readStream(llm.stream(request)),
    ]);
    expect(fo.requests).toHaveLength(1);
    expect([a.text, b.text, c.completion.text]).toEqual(["shared answer", "shared answer", "shared answer"]);
  });

  it("when the leader's caller aborts, the followers still get an answer, from one more call", async () => {
    const { llm } = setup();
    fo.enqueue(
      { kind: "slow-first-byte", delayMs: 300, next: { kind: "text", text: "first" } },
      { kind: "text", text: "second" },
    );
    const controller = new AbortController();
    const leader = llm.chat(request, { signal: controller.signal });
    const followers = Array.from({ length: 5 }, () => llm.chat(request));
    setTimeout(() => controller.abort(), 20);
    await expect(leader).rejects.toThrow(/abort/i);
    const answers = await Promise.all(followers);
    expect(answers.map((a) => a.text)).toEqual(["second", "second", "second", "second", "second"]);
    expect(fo.requests).toHaveLength(2);
  });

  it("a follower's own abort rejects only that follower", async () => {
    const { llm } = setup();
    fo.enqueue({ kind: "slow-first-byte", delayMs: 300, next: { kind: "text", text: "answer" } });
    const controller = new AbortController();
    const leader = llm.chat(request);
    const follower = llm.chat(request, { signal: controller.signal });
    const other = llm.chat(request);
    setTimeout(() => controller.abort(), 10);
    await expect(follower).rejects.toThrow(/aborted/);
    expect((await leader).text).toBe("answer");
    expect((await other).text).toBe("answer");
    expect(fo.requests).toHaveLength(1);
  });

  it("when the leader's reader stops early, waiting followers still get the whole answer", async () => {
    const { llm } = setup();
    fo.enqueue({ kind: "slow-first-byte", delayMs: 30, next: { kind: "text", text: "a b c d e f" } });
    const leader = llm.stream(request);
    const follower = llm.chat(request);
    for await (const event of leader) if (event.type === "text-delta") break;
    expect((await follower).text).toBe("a b c d e f");
    expect(fo.requests).toHaveLength(1);
    await settle();
    expect((await llm.chat(request)).meta.state.cache?.status).toBe("hit");
  });
});
