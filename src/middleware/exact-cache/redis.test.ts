import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { type FakeServer, startFakeOpenAI } from "../../../test/fakes/index.js";
import { redisAvailable, redisClient, requireOrSkip, uniqueName } from "../../../test/services.js";
import type { ChatRequestInput } from "../../core/request.js";
import { redisKv } from "../../storage/redis/kv.js";
import { type ExactCache, type ExactCacheOptions, exactCache } from "./index.js";
import { ask, settle, testClient } from "./test-client.js";

const redisUp = requireOrSkip("Redis", await redisAvailable());

describe.skipIf(!redisUp)("exactCache on Redis (a store shared by several instances)", () => {
  let fo: FakeServer;
  const clients: Redis[] = [];
  const caches: ExactCache[] = [];
  let tenant: string;
  let request: ChatRequestInput;

  beforeAll(async () => {
    fo = await startFakeOpenAI();
  });
  afterAll(async () => {
    await fo.close();
    for (const c of clients) c.disconnect();
  });
  beforeEach(() => {
    fo.reset();
    tenant = uniqueName("acme");
    request = ask("Explain TLS", { metadata: { tenant } });
  });
  afterEach(async () => {
    for (const cache of caches.splice(0)) await cache.purgeTenant(tenant);
  });

  /** Resolves once the first instance's call reached the provider: it holds the lock by then. */
  const calling = () => vi.waitFor(() => expect(fo.requests).toHaveLength(1), { interval: 2 });

  /** One service instance: its own Redis connection, store, cache (and in-process flights) and client. */
  function instance(options: Partial<ExactCacheOptions> = {}) {
    const client = redisClient();
    clients.push(client);
    const cache = exactCache({ store: redisKv({ client }), lockPollMs: 10, ...options });
    caches.push(cache);
    return { ...testClient({ openai: fo }, [cache]), cache };
  }

  it("two instances sharing one Redis share hits", async () => {
    const a = instance();
    const b = instance();
    const first = await a.llm.chat(request);
    await settle();
    const second = await b.llm.chat(request);
    expect(fo.requests).toHaveLength(1);
    expect(second.text).toBe(first.text);
    expect(second.meta.state.cache).toMatchObject({ status: "hit", kind: "exact" });
    expect(b.records[0]!.cost.usd).toBe(0);
  });

  it("simultaneous misses in two instances make 1 provider call: the second waits for the first's answer", async () => {
    const a = instance();
    const b = instance();
    fo.enqueue({ kind: "slow-first-byte", delayMs: 150, next: { kind: "text", text: "TLS encrypts." } });
    const first = a.llm.chat(request);
    await calling(); // a holds the lock
    const [x, y] = await Promise.all([first, b.llm.chat(request)]);
    expect(fo.requests).toHaveLength(1);
    expect([x.text, y.text]).toEqual(["TLS encrypts.", "TLS encrypts."]);
    expect(x.meta.state.cache).toMatchObject({ status: "miss", kind: "exact" });
    expect(y.meta.state.cache).toMatchObject({ status: "hit", kind: "exact" });
  });

  it("many requests across instances at once still make 1 call", async () => {
    const instances = [instance(), instance(), instance()];
    fo.enqueue({ kind: "slow-first-byte", delayMs: 100, next: { kind: "text", text: "once" } });
    const answers = await Promise.all(
      instances.flatMap((i) => Array.from({ length: 10 }, () => i.llm.chat(request))),
    );
    expect(fo.requests).toHaveLength(1);
    expect(new Set(answers.map((a) => a.text))).toEqual(new Set(["once"]));
  });

  it("if the lock holder's call fails, the waiters call one at a time, not all at once", async () => {
    const instances = [instance(), instance(), instance()];
    fo.enqueue(
      { kind: "slow-first-byte", delayMs: 100, next: { kind: "error", status: 500 } },
      { kind: "slow-first-byte", delayMs: 50, next: { kind: "text", text: "recovered" } },
    );
    const first = instances[0]!.llm.chat(request);
    await calling();
    const waiters = instances.slice(1).map((i) => i.llm.chat(request));
    await expect(first).rejects.toThrow();
    const answers = await Promise.all(waiters);
    expect(answers.map((a) => a.text)).toEqual(["recovered", "recovered"]);
    expect(fo.requests).toHaveLength(2);
  });

  it("a waiter calls the provider itself after lockTtlMs", async () => {
    const a = instance({ lockTtlMs: 100 });
    const b = instance({ lockTtlMs: 100 });
    fo.enqueue(
      { kind: "slow-first-byte", delayMs: 1_500, next: { kind: "text", text: "slow" } },
      { kind: "text", text: "fast" },
    );
    const first = a.llm.chat(request);
    await calling();
    const started = performance.now();
    const second = await b.llm.chat(request);
    expect(second.text).toBe("fast");
    expect(performance.now() - started).toBeLessThan(1_000); // well before the holder's answer
    expect((await first).text).toBe("slow");
    expect(fo.requests).toHaveLength(2);
  });

  it("purgeTenant removes the tenant's keys from Redis", async () => {
    const a = instance();
    await a.llm.chat(request);
    await a.llm.chat({ ...request, messages: [{ role: "user", content: "Explain SSH" }] });
    await settle();
    expect(await a.cache.purgeTenant(tenant)).toBe(2);
    expect((await a.llm.chat(request)).meta.state.cache?.status).toBe("miss");
  });
});
