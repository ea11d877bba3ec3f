import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Completion } from "../../core/completion.js";
import { AbortedError, ConfigError, InvalidRequestError, OverloadedError } from "../../core/errors.js";
import { memoryKv } from "../../storage/memory/kv.js";
import { readStream } from "../exact-cache/test-client.js";
import { BatchDeferredError, type Batcher, BatchItemError, BatchJobNotFoundError, batch } from "./index.js";
import {
  ANTHROPIC_MODEL,
  answerTo,
  batchSdks,
  closeFakes,
  expectedCost,
  type Fakes,
  ManualTimers,
  OPENAI_MODEL,
  promptOf,
  question,
  type Rig,
  resetFakes,
  rig,
  settle,
  startFakes,
  until,
} from "./test-rig.js";

let fakes: Fakes;
const open: Batcher[] = [];
beforeAll(async () => {
  fakes = await startFakes();
});
afterAll(() => closeFakes(fakes));
beforeEach(() => resetFakes(fakes));
afterEach(async () => {
  await Promise.all(open.splice(0).map((b) => b.close()));
});

function setup(...args: Parameters<typeof rig>): Rig {
  const r = rig(...args);
  open.push(r.batcher);
  return r;
}

const jobIdOf = (c: Completion) => c.meta.state.batch!.jobId;
const failOnce =
  (prompts: string[], fate: "error" | "expire" | "duplicate" = "error") =>
  ({ body, seen }: { body: any; seen: number }) =>
    seen === 1 && prompts.includes(promptOf(body)) ? fate : undefined;

/** Polls by hand until `n` jobs have settled (for suites with injected timers). */
async function pollUntil(r: Rig, n: number): Promise<void> {
  for (let i = 0; r.settled.length < n; i++) {
    if (i > 500) throw new Error("jobs did not settle");
    await r.batcher.poll();
    await settle(2);
  }
}

describe("batch: deferrable requests answered through the batch APIs (R5)", () => {
  it("250 requests across both providers: each caller gets its own answer once; 3 failed items are retried alone; all at the batch price", async () => {
    const failing = ["question 7", "question 130", "question 201"];
    fakes.openai.scriptBatch({ pollsUntilDone: 1, itemFault: failOnce(failing) });
    fakes.anthropic.scriptBatch({ pollsUntilDone: 1, itemFault: failOnce(failing) });
    const r = setup(fakes, { maxItems: 50, maxAgeMs: 60_000 });
    const calls = Array.from({ length: 250 }, (_, i) =>
      r.llm.chat(question(i, i < 125 ? "openai" : "anthropic")),
    );
    await until(() => r.acked.length === 250);
    await r.batcher.flush();
    const answers = await Promise.all(calls);

    // Own answer, matched by custom id although every output file came back shuffled.
    for (const [i, a] of answers.entries()) expect(a.text).toBe(answerTo(i));
    expect(new Set(answers.map(jobIdOf)).size).toBe(250);
    expect(r.settled).toHaveLength(250);
    expect(new Set(r.settled.map((s) => s.jobId)).size).toBe(250);
    expect(r.records).toHaveLength(250);

    // The failed items went again alone: the first batches are never resent.
    const failedIds = new Set([7, 130, 201].map((i) => jobIdOf(answers[i]!)));
    for (const [fake, initial, retried] of [
      [fakes.openai, 125, 1],
      [fakes.anthropic, 125, 2],
    ] as const) {
      const created = fake.batchLog.created;
      const firsts = created.slice(0, 3);
      expect(firsts.map((b) => b.customIds.length)).toEqual([50, 50, 25]);
      expect(new Set(firsts.flatMap((b) => b.customIds)).size).toBe(initial);
      const retries = created.slice(3).flatMap((b) => b.customIds);
      expect(retries).toHaveLength(retried);
      for (const id of retries) expect(failedIds.has(id)).toBe(true);
      expect(fake.batchLog.lines).toBe(initial + retried);
    }

    for (const [i, record] of r.records.entries()) {
      const answer = answers.find((a) => a.meta.requestId === record.id)!;
      const model = answer.provider === "openai" ? OPENAI_MODEL : ANTHROPIC_MODEL;
      const price = expectedCost(answer.provider, model, answer.usage);
      expect(record.status, `record ${i}`).toBe("ok");
      expect(record.cost.usd).toBeCloseTo(price.batch, 12);
      expect(record.cost.usd).toBeCloseTo(price.standard / 2, 12);
      expect(answer.cost).toEqual(record.cost);
      const failedFirst = failedIds.has(jobIdOf(answer));
      expect(record.attempts.map((a) => [a.purpose, a.status])).toEqual(
        failedFirst
          ? [
              ["primary", "error"],
              ["retry", "ok"],
            ]
          : [["primary", "ok"]],
      );
    }
  });

  it("an expired item is sent again alone; a duplicated line answers its caller once", async () => {
    const script = {
      itemFault: ({ body, seen }: { body: any; seen: number }) =>
        promptOf(body) === "question 1" && seen === 1
          ? ("expire" as const)
          : promptOf(body) === "question 2"
            ? ("duplicate" as const)
            : undefined,
    };
    fakes.openai.scriptBatch(script);
    fakes.anthropic.scriptBatch(script);
    const r = setup(fakes);
    const calls = [0, 1, 2, 3].flatMap((i) => [
      r.llm.chat(question(i)),
      r.llm.chat(question(i, "anthropic")),
    ]);
    await until(() => r.acked.length === 8);
    await r.batcher.flush();
    const answers = await Promise.all(calls);
    for (const [k, a] of answers.entries()) expect(a.text).toBe(answerTo(Math.floor(k / 2)));
    expect(r.settled).toHaveLength(8);
    const recordOf = (a: Completion) => r.records.find((x) => x.id === a.meta.requestId)!;
    for (const expired of [answers[2]!, answers[3]!]) {
      expect(recordOf(expired).attempts.map((a) => a.status)).toEqual(["error", "ok"]);
      expect(recordOf(expired).attempts[0]?.error?.message).toMatch(/expired/);
    }
    for (const duplicated of [answers[4]!, answers[5]!]) {
      expect(recordOf(duplicated).attempts).toHaveLength(1);
      expect(recordOf(duplicated).cost.usd).toBeCloseTo(
        expectedCost(duplicated.provider, duplicated.model, duplicated.usage).batch,
        12,
      );
    }
    for (const fake of [fakes.openai, fakes.anthropic]) {
      expect(fake.batchLog.created.map((b) => b.customIds.length)).toEqual([4, 1]);
    }
  });

  it("an item that keeps failing is retried alone maxItemRetries times, then its caller rejects; the others are answered", async () => {
    fakes.openai.scriptBatch({
      itemFault: ({ body }) => (promptOf(body) === "question 3" ? "error" : undefined),
    });
    const r = setup(fakes, { maxItemRetries: 2 });
    const calls = [0, 1, 2, 3, 4].map((i) => r.llm.chat(question(i)));
    await until(() => r.acked.length === 5);
    await r.batcher.flush();
    const results = await Promise.allSettled(calls);
    const error = (results[3] as PromiseRejectedResult).reason;
    expect(error).toBeInstanceOf(BatchItemError);
    expect(error).toMatchObject({ reason: "errored", status: 500, retryable: false, provider: "openai" });
    expect(error.attempts.map((a: { purpose: string }) => a.purpose)).toEqual(["primary", "retry", "retry"]);
    for (const i of [0, 1, 2, 4])
      expect((results[i] as PromiseFulfilledResult<Completion>).value.text).toBe(answerTo(i));
    expect(fakes.openai.batchLog.created.map((b) => b.customIds.length)).toEqual([5, 1, 1]);
    expect(fakes.openai.batchLog.created[2]?.customIds).toEqual([error.jobId]);
    const record = r.records.find((x) => x.status === "error")!;
    expect(record).toMatchObject({ cost: { usd: 0 }, error: { name: "BatchItemError" } });
    expect(record.attempts).toHaveLength(3);
    expect(r.settled.find((s) => s.jobId === error.jobId)).toMatchObject({
      status: "failed",
      hadCaller: true,
    });
  });

  it("never retries an item the provider refused with a 4xx", async () => {
    fakes.openai.scriptBatch({
      failStatus: 400,
      itemFault: ({ body }) => (promptOf(body) === "question 1" ? "error" : undefined),
    });
    const r = setup(fakes);
    const calls = [r.llm.chat(question(0)), r.llm.chat(question(1))];
    await until(() => r.acked.length === 2);
    await r.batcher.flush();
    const [ok, refused] = await Promise.allSettled(calls);
    expect(ok?.status).toBe("fulfilled");
    expect((refused as PromiseRejectedResult).reason).toMatchObject({ reason: "errored", status: 400 });
    expect(fakes.openai.batchLog.lines).toBe(2);
  });

  it("a batch refused for one bad request is halved until that request stands alone; the rest are sent", async () => {
    const r = setup(fakes);
    const calls = [0, 1, 2, 3, 4].map((i) =>
      r.llm.chat(
        question(i, "anthropic", i === 2 ? { providerOptions: { anthropic: { max_tokens: 0 } } } : {}),
      ),
    );
    await until(() => r.acked.length === 5);
    await r.batcher.flush();
    const results = await Promise.allSettled(calls);
    const refused = (results[2] as PromiseRejectedResult).reason;
    expect(refused).toBeInstanceOf(BatchItemError);
    expect(refused).toMatchObject({ reason: "rejected", status: 400 });
    expect(refused.message).toMatch(/max_tokens/);
    for (const i of [0, 1, 3, 4]) expect(results[i]?.status).toBe("fulfilled");
    expect(fakes.anthropic.batchLog.lines).toBe(4);
  });

  it("an upload that fails with a 5xx keeps the jobs queued and sends them after pollIntervalMs", async () => {
    fakes.openai.enqueue({ kind: "error", status: 503 });
    const r = setup(fakes, { pollIntervalMs: 30 });
    const call = r.llm.chat(question(1));
    await until(() => r.acked.length === 1);
    await r.batcher.flush();
    expect(r.errors[0]).toBeInstanceOf(OverloadedError);
    expect(fakes.openai.batchLog.created).toHaveLength(0);
    expect((await call).text).toBe(answerTo(1));
    expect(fakes.openai.batchLog.created).toHaveLength(1);
  });

  it("a batch the provider no longer knows (404) counts as ended without results: its items are sent again", async () => {
    fakes.openai.scriptBatch({ pollsUntilDone: Number.POSITIVE_INFINITY });
    const r = setup(fakes);
    const call = r.llm.chat(question(1));
    await until(() => r.acked.length === 1);
    await r.batcher.flush();
    fakes.openai.reset(); // the provider forgets every batch and file
    expect((await call).text).toBe(answerTo(1));
    expect(r.records[0]?.attempts.map((a) => a.status)).toEqual(["error", "ok"]);
    expect(r.records[0]?.attempts[0]?.error?.message).toMatch(/404/);
  });

  it("prices every token class of every item at half the standard rate (A5)", async () => {
    fakes.anthropic.scriptBatch({
      replyFor: () => ({
        kind: "text",
        text: "ok",
        usage: { input: 1000, cacheRead: 4000, cacheWrite5m: 800, cacheWrite1h: 600, output: 300 },
      }),
    });
    fakes.openai.scriptBatch({
      replyFor: () => ({
        kind: "text",
        text: "ok",
        usage: { input: 1000, cacheRead: 2048, output: 500, reasoning: 200 },
      }),
    });
    const r = setup(fakes);
    const calls = [r.llm.chat(question(1)), r.llm.chat(question(1, "anthropic"))];
    await until(() => r.acked.length === 2);
    await r.batcher.flush();
    for (const answer of await Promise.all(calls)) {
      const { priceBook } = await import("../../pricing/price-book.js");
      const standard = priceBook().cost(answer.provider, answer.model, answer.usage);
      if (!standard.priced || !answer.cost.priced) throw new Error("unpriced");
      // OpenAI has no cache writes; every other bucket is billed, and halved.
      const buckets = [
        "input",
        "cacheRead",
        "output",
        ...(answer.provider === "anthropic" ? ["cacheWrite"] : []),
      ];
      for (const bucket of buckets as (keyof typeof standard.breakdown)[]) {
        expect(standard.breakdown[bucket]).toBeGreaterThan(0);
        expect(answer.cost.breakdown[bucket]).toBeCloseTo(standard.breakdown[bucket] / 2, 12);
      }
      expect(answer.usage.reasoningTokens).toBe(answer.provider === "openai" ? 200 : 0);
      expect(answer.cost.source).toMatch(/batch$/);
    }
  });
});

describe("batch: when a batch is sent", () => {
  it("by size: at maxItems queued requests", async () => {
    const r = setup(fakes, { maxItems: 5, maxAgeMs: 60_000 });
    const calls = [0, 1, 2, 3].map((i) => r.llm.chat(question(i)));
    await until(() => r.acked.length === 4);
    await settle();
    expect(fakes.openai.batchLog.created).toHaveLength(0);
    calls.push(r.llm.chat(question(4)));
    await until(() => fakes.openai.batchLog.created.length === 1);
    expect(fakes.openai.batchLog.created[0]?.customIds).toHaveLength(5);
    await Promise.all(calls);
  });

  it("by token volume: never more than maxTokens estimated input tokens in one batch", async () => {
    const long = (i: number) =>
      question(i, "openai", { messages: [{ role: "user", content: `${i} ${"x".repeat(2000)}` }] });
    // Each request is about 520 tokens (chars / 4 of its wire body): the third crosses 1,200.
    const r = setup(fakes, { maxTokens: 1200, maxAgeMs: 60_000 });
    const calls = [r.llm.chat(long(0)), r.llm.chat(long(1))];
    await until(() => r.acked.length === 2);
    await settle();
    expect(fakes.openai.batchLog.created).toHaveLength(0);
    calls.push(r.llm.chat(long(2)));
    await until(() => fakes.openai.batchLog.created.length === 1);
    await settle();
    expect(fakes.openai.batchLog.created.map((b) => b.customIds.length)).toEqual([2]);
    await r.batcher.flush();
    expect(fakes.openai.batchLog.created.map((b) => b.customIds.length)).toEqual([2, 1]);
    await Promise.all(calls);
  });

  it("by age: once the oldest request has waited maxAgeMs on the injected clock", async () => {
    const timers = new ManualTimers();
    const r = setup(fakes, { maxAgeMs: 1_000, clock: timers.clock, timers });
    const call = r.llm.chat(question(1));
    await until(() => r.acked.length === 1);
    timers.advance(999);
    await settle();
    expect(fakes.openai.batchLog.created).toHaveLength(0);
    timers.advance(1);
    await until(() => fakes.openai.batchLog.created.length === 1);
    await pollUntil(r, 1);
    expect((await call).text).toBe(answerTo(1));
  });
});

describe("batch: what is not deferred", () => {
  it("streamed and interactive calls go live; a task in deferTasks is deferred", async () => {
    const r = setup(fakes, { deferTasks: ["nightly"] });
    const streamed = await readStream(r.llm.stream(question(1)));
    const interactive = await r.llm.chat(
      question(2, "openai", { metadata: { priority: "interactive", task: "nightly" } }),
    );
    const byTask = r.llm.chat(question(3, "openai", { metadata: { task: "nightly" } }));
    await until(() => r.acked.length === 1);
    await r.batcher.flush();
    expect((await byTask).text).toBe(answerTo(3));
    expect(streamed.completion.text).toBe(answerTo(1));
    expect(interactive.text).toBe(answerTo(2));
    expect(fakes.openai.requests.filter((q) => q.path === "/v1/chat/completions")).toHaveLength(2);
    expect(fakes.openai.batchLog.lines).toBe(1);
  });

  it("a provider the batcher has no SDK for goes live", async () => {
    const r = setup(fakes, { anthropic: undefined });
    const answer = await r.llm.chat(question(1, "anthropic"));
    expect(answer.text).toBe(answerTo(1));
    expect(fakes.anthropic.requests.map((q) => q.path)).toEqual(["/v1/messages"]);
  });
});

describe("batch: contracts around the caller", () => {
  it("detached: the call rejects at once with BatchDeferredError; job(id) gives the answer at the batch price", async () => {
    const r = setup(fakes, { detach: true });
    const error = await r.llm.chat(question(1)).catch((e) => e);
    expect(error).toBeInstanceOf(BatchDeferredError);
    expect(error.reason).toBe("detached");
    expect(r.records[0]).toMatchObject({
      status: "error",
      attempts: [],
      error: { name: "BatchDeferredError" },
    });
    await r.batcher.flush();
    await until(() => r.settled.length === 1);
    expect(r.settled).toMatchObject([{ jobId: error.jobId, status: "done", hadCaller: false }]);
    const answer = await r.batcher.job(error.jobId);
    expect(answer.text).toBe(answerTo(1));
    expect(answer.cost.usd).toBeCloseTo(expectedCost("openai", OPENAI_MODEL, answer.usage).batch, 12);
    expect(answer.meta.attempts).toMatchObject([{ purpose: "primary", label: "batch", status: "ok" }]);
  });

  it("aborting a queued request takes it out of the queue before anything is sent", async () => {
    const r = setup(fakes);
    const controller = new AbortController();
    const aborted = r.llm.chat(question(1), { signal: controller.signal });
    const kept = r.llm.chat(question(2));
    await until(() => r.acked.length === 2);
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortedError);
    await r.batcher.flush();
    const answer = await kept;
    expect(fakes.openai.batchLog.created.map((b) => b.customIds)).toEqual([[jobIdOf(answer)]]);
  });

  it("aborting after the batch was sent: the caller rejects at once; the job is still answered, priced and kept", async () => {
    fakes.openai.scriptBatch({ pollsUntilDone: Number.POSITIVE_INFINITY });
    const r = setup(fakes);
    const controller = new AbortController();
    const call = r.llm.chat(question(1), { signal: controller.signal });
    await until(() => r.acked.length === 1);
    await r.batcher.flush();
    controller.abort();
    await expect(call).rejects.toBeInstanceOf(AbortedError);
    fakes.openai.scriptBatch({ pollsUntilDone: 0 });
    await until(() => r.settled.length === 1);
    const answer = await r.batcher.job(r.acked[0]!);
    expect(answer.text).toBe(answerTo(1));
    expect(answer.cost.usd).toBeCloseTo(expectedCost("openai", OPENAI_MODEL, answer.usage).batch, 12);
    expect(r.settled[0]).toMatchObject({ status: "done", hadCaller: false });
  });

  it("a store that refuses the write: the caller rejects with the store's error and nothing is sent", async () => {
    const down = { ...memoryKv(), name: "down", set: async () => Promise.reject(new Error("store down")) };
    const r = setup(fakes, { store: down });
    await expect(r.llm.chat(question(1))).rejects.toThrow("store down");
    await r.batcher.flush();
    expect(fakes.openai.batchLog.created).toEqual([]);
    expect(fakes.openai.requests).toEqual([]);
  });

  it("job(id) of an id the store does not hold rejects with BatchJobNotFoundError", async () => {
    const r = setup(fakes);
    await expect(r.batcher.job("never-queued")).rejects.toBeInstanceOf(BatchJobNotFoundError);
  });

  it("a host-chosen job id: a second request with the same id joins the job; one line is sent, once", async () => {
    const r = setup(fakes, { jobId: (ctx) => ctx.request.metadata?.tags?.[0] });
    const tagged = (tag: string) =>
      question(1, "openai", { metadata: { priority: "deferrable", tags: [tag] } });
    const calls = [r.llm.chat(tagged("doc-1")), r.llm.chat(tagged("doc-1"))];
    await until(() => r.acked.length === 2);
    await r.batcher.flush();
    const [a, b] = await Promise.all(calls);
    expect(a!.text).toBe(answerTo(1));
    expect(b!.text).toBe(answerTo(1));
    expect(fakes.openai.batchLog.created).toEqual([{ id: expect.any(String), customIds: ["doc-1"] }]);
    const later = await r.llm.chat(tagged("doc-1"));
    expect(later.text).toBe(answerTo(1));
    expect(fakes.openai.batchLog.lines).toBe(1);
    // The job's cost is charged once, to the request that queued it.
    expect(r.records.map((x) => x.attempts.length).sort()).toEqual([0, 0, 1]);
    await expect(r.llm.chat(tagged("not ok!"))).rejects.toBeInstanceOf(InvalidRequestError);
  });

  it("close(): waiting callers reject with BatchDeferredError; later calls go live; a new instance finishes the job", async () => {
    fakes.openai.scriptBatch({ pollsUntilDone: Number.POSITIVE_INFINITY });
    const r = setup(fakes);
    const call = r.llm.chat(question(1));
    await until(() => r.acked.length === 1);
    await r.batcher.flush();
    await r.batcher.close();
    const error = await call.catch((e) => e);
    expect(error).toBeInstanceOf(BatchDeferredError);
    expect(error.reason).toBe("closed");
    expect((await r.llm.chat(question(2))).text).toBe(answerTo(2));
    expect(fakes.openai.requests.filter((q) => q.path === "/v1/chat/completions")).toHaveLength(1);

    fakes.openai.scriptBatch({ pollsUntilDone: 0 });
    const next = batch({ ...batchSdks(fakes), store: r.store, pollIntervalMs: 5 });
    open.push(next);
    expect((await next.job(error.jobId)).text).toBe(answerTo(1));
    expect(fakes.openai.batchLog.created).toHaveLength(1);
  });

  it("validates its options, naming the bad one", () => {
    expect(() => batch({ store: memoryKv() })).toThrow(ConfigError);
    expect(() => batch({ ...batchSdks(fakes), store: memoryKv(), maxItems: 0 })).toThrow(/options\.maxItems/);
    expect(() => batch({ ...batchSdks(fakes), store: memoryKv(), maxItems: 50_001 })).toThrow(
      /options\.maxItems/,
    );
    expect(() => batch({ ...batchSdks(fakes), store: memoryKv(), pollIntervalMs: 0 })).toThrow(
      /options\.pollIntervalMs/,
    );
    expect(() => batch({ ...batchSdks(fakes), store: {} as never })).toThrow(/options\.store/);
  });
});
