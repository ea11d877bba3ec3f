// R5: the queue survives a restart. A process dies in the middle of polling (its callers die
// with it); a new process with a NEW batcher over the same store calls resume() and every job
// that the dead one accepted is answered by id, once, at the batch price.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Completion } from "../../src/core/completion.js";
import type { Middleware } from "../../src/core/middleware.js";
import { type Batcher, batch } from "../../src/middleware/batch/index.js";
import {
  answerTo,
  batchSdks,
  closeFakes,
  expectedCost,
  type Fakes,
  ManualTimers,
  promptOf,
  question,
  resetFakes,
  rig,
  settle,
  startFakes,
  until,
} from "../../src/middleware/batch/test-rig.js";
import { memoryKv } from "../../src/storage/memory/kv.js";
import { redisKv } from "../../src/storage/redis/kv.js";
import type { FakeServer } from "../fakes/index.js";
import { redisAvailable, redisClient, requireOrSkip, uniqueName } from "../services.js";

const WORKER = fileURLToPath(new URL("./restart-worker.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const redisUp = requireOrSkip("Redis", await redisAvailable());

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

const failOnce =
  (prompts: readonly string[]) =>
  ({ body, seen }: { body: any; seen: number }) =>
    seen === 1 && prompts.includes(promptOf(body)) ? ("error" as const) : undefined;

/** Every custom id each fake was sent, with how many batches carried it. */
function sends(fake: FakeServer): Map<string, number> {
  const counts = new Map<string, number>();
  for (const b of fake.batchLog.created)
    for (const id of b.customIds) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

/** The checks every recovered answer must pass: its own prompt's answer, at exactly the batch price. */
function expectRecovered(answers: Completion[], prompts: string[], failed: readonly string[]) {
  answers.forEach((answer, k) => {
    const prompt = prompts[k]!;
    expect(answer.text).toBe(answerTo(prompt.replace("question ", "")));
    const price = expectedCost(answer.provider, answer.model, answer.usage);
    expect(answer.cost.usd).toBeCloseTo(price.batch, 12);
    expect(answer.cost.usd).toBeCloseTo(price.standard / 2, 12);
    expect(answer.meta.attempts.map((a) => a.status)).toEqual(
      failed.includes(prompt) ? ["error", "ok"] : ["ok"],
    );
  });
}

describe("a restart in the middle of polling loses no queued request (R5)", () => {
  it("250 requests across both providers, 3 injected item failures: every accepted job is answered by the new instance", async () => {
    const failing = ["question 7", "question 130", "question 201"];
    fakes.openai.scriptBatch({ pollsUntilDone: 5, itemFault: failOnce(failing) });
    fakes.anthropic.scriptBatch({ pollsUntilDone: 5, itemFault: failOnce(failing) });
    const store = memoryKv();
    // The first process: its timers die with it.
    const timers = new ManualTimers();
    const promptOfJob = new Map<string, string>();
    const remember: Middleware = {
      name: "remember",
      async handle(ctx, next) {
        const reply = await next(ctx);
        promptOfJob.set(ctx.state.batch!.jobId, promptOf({ messages: ctx.request.messages }));
        return reply;
      },
    };
    const first = rig(fakes, { store, maxItems: 100, maxAgeMs: 600_000, timers, clock: timers.clock }, [
      remember,
    ]);
    const callers = Array.from({ length: 250 }, (_, i) =>
      first.llm.chat(question(i, i < 125 ? "openai" : "anthropic")),
    );
    for (const c of callers) c.catch(() => {});
    await until(() => first.acked.length === 250);
    // One full batch per provider went out by size; 25 requests per provider still wait in the queue.
    await until(
      () => fakes.openai.batchLog.created.length === 1 && fakes.anthropic.batchLog.created.length === 1,
    );
    while (fakes.openai.batchLog.polls === 0 || fakes.anthropic.batchLog.polls === 0) {
      await first.batcher.poll();
      await settle(2);
    }
    timers.kill();
    expect(first.settled).toEqual([]);

    const second = batch({ ...batchSdks(fakes), store, pollIntervalMs: 5, maxAgeMs: 10 });
    open.push(second);
    await second.resume();
    const ids = [...first.acked];
    const answers = await Promise.all(ids.map((id) => second.job(id)));
    expectRecovered(
      answers,
      ids.map((id) => promptOfJob.get(id)!),
      failing,
    );

    // Nothing was sent twice but the three failed items, each alone in a batch of its own.
    const sent = new Map([...sends(fakes.openai), ...sends(fakes.anthropic)]);
    expect([...sent.keys()].sort()).toEqual([...ids].sort());
    const twice = [...sent].filter(([, n]) => n > 1).map(([id]) => promptOfJob.get(id));
    expect(twice.sort()).toEqual([...failing].sort());
    expect(fakes.openai.batchLog.lines + fakes.anthropic.batchLog.lines).toBe(253);
    for (const fake of [fakes.openai, fakes.anthropic]) {
      expect(fake.batchLog.created.slice(0, 2).map((b) => b.customIds.length)).toEqual([100, 25]);
    }
    // The answers stay readable by id, from the store.
    expect((await second.job(ids[0]!)).text).toBe(answers[0]!.text);
  });

  it("a job still queued and a batch in flight: resume() is idempotent and sends nothing twice", async () => {
    fakes.openai.scriptBatch({ pollsUntilDone: 1 });
    const store = memoryKv();
    const timers = new ManualTimers();
    const first = rig(fakes, { store, maxItems: 2, maxAgeMs: 600_000, timers, clock: timers.clock });
    for (const i of [0, 1, 2]) first.llm.chat(question(i)).catch(() => {});
    await until(() => first.acked.length === 3 && fakes.openai.batchLog.created.length === 1);
    await settle();
    timers.kill();

    const second = batch({ ...batchSdks(fakes), store, pollIntervalMs: 5, maxAgeMs: 0 });
    open.push(second);
    await Promise.all([second.resume(), second.resume()]);
    await second.resume();
    const answers = await Promise.all(first.acked.map((id) => second.job(id)));
    expect(answers.map((a) => a.text).sort()).toEqual([0, 1, 2].map(answerTo));
    expect(fakes.openai.batchLog.created.map((b) => b.customIds.length)).toEqual([2, 1]);
  });

  it.skipIf(!redisUp)(
    "a host process killed with SIGKILL mid-polling: a new process over the same Redis answers every job it had accepted",
    async () => {
      const keyPrefix = `${uniqueName("batch_restart")}:`;
      const redis = redisClient();
      try {
        fakes.openai.scriptBatch({ pollsUntilDone: Number.POSITIVE_INFINITY });
        fakes.anthropic.scriptBatch({ pollsUntilDone: Number.POSITIVE_INFINITY });
        const accepted = await killMidPolling(keyPrefix, 90);
        expect(accepted.size).toBe(90);

        const failing = ["question 4", "question 9"];
        fakes.openai.scriptBatch({ pollsUntilDone: 1, itemFault: failOnce(failing) });
        fakes.anthropic.scriptBatch({ pollsUntilDone: 1, itemFault: failOnce(failing) });
        const next = batch({
          ...batchSdks(fakes),
          store: redisKv({ client: redis, keyPrefix }),
          pollIntervalMs: 10,
          maxAgeMs: 10,
        });
        open.push(next);
        await next.resume();
        const ids = [...accepted.keys()];
        const answers = await Promise.all(ids.map((id) => next.job(id)));
        expectRecovered(
          answers,
          ids.map((id) => accepted.get(id)!),
          failing,
        );
        // Per provider: 40 sent before the kill, 5 queued ones after, and one failed item again.
        for (const fake of [fakes.openai, fakes.anthropic]) {
          expect(fake.batchLog.created.map((b) => b.customIds.length)).toEqual([40, 5, 1]);
        }
      } finally {
        await redisKv({ client: redis, keyPrefix: "" }).deletePrefix(keyPrefix);
        redis.disconnect();
      }
    },
  );
});

/**
 * Runs the worker until it has accepted `count` requests, sent one batch per provider and
 * polled each at least twice, then kills it with SIGKILL. Returns the accepted job ids with
 * their prompts.
 */
async function killMidPolling(keyPrefix: string, count: number): Promise<Map<string, string>> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", WORKER, fakes.openai.baseURL, fakes.anthropic.baseURL, keyPrefix, String(count)],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk) => {
    out += chunk;
  });
  child.stderr.on("data", (chunk) => {
    err += chunk;
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on("exit", (_code, signal) => resolve(signal)),
  );
  const lines = () => out.split("\n").slice(0, -1);
  try {
    await until(
      () =>
        lines().length === count &&
        [fakes.openai, fakes.anthropic].every(
          (f) => f.batchLog.created.length === 1 && f.batchLog.polls >= 2,
        ),
      30_000,
    );
  } finally {
    child.kill("SIGKILL");
  }
  expect(await exited, `the worker should be killed, not exit on its own: ${err}`).toBe("SIGKILL");
  return new Map(lines().map((line) => line.split("\t") as [string, string]));
}
