import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeServer, startFakeOpenAI } from "../../../test/fakes/index.js";
import { memoryCounters, type SpendCounters } from "../../storage/memory/counters.js";
import { type BudgetOptions, BudgetUnavailableError, budget } from "./index.js";
import { ask, budgetClient, rejection } from "./test-client.js";

let fake: FakeServer;
beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

type Mode = "up" | "down" | "hang" | "write-then-fail";

/** Memory counters behind a switch: answering, refusing connections, hanging, or failing after the write. */
function faulty() {
  const inner = memoryCounters();
  const modes: { reserve: Mode; settle: Mode } = { reserve: "up", settle: "up" };
  const calls = { reserve: 0, settle: 0 };
  async function guard<T>(op: "reserve" | "settle", run: () => Promise<T>): Promise<T> {
    calls[op]++;
    const mode = modes[op];
    if (mode === "down") throw new Error("connect ECONNREFUSED 127.0.0.1:6379");
    if (mode === "hang") return new Promise<T>(() => {});
    if (mode === "write-then-fail") {
      await run();
      throw new Error("Command timed out");
    }
    return run();
  }
  const counters: SpendCounters = {
    name: "faulty",
    reserve: (...args) => guard("reserve", () => inner.reserve(...args)),
    settle: (...args) => guard("settle", () => inner.settle(...args)),
    status: (...args) => inner.status(...args),
  };
  return {
    counters,
    calls,
    set: (mode: Mode, op?: "reserve" | "settle") => {
      if (op) modes[op] = mode;
      else modes.reserve = modes.settle = mode;
    },
    status: () =>
      inner.status("tenant:acme", [{ id: `day:${today()}`, limitMicros: 0, ttlMs: 1 }], Date.now()),
  };
}

const today = () => new Date().toISOString().slice(0, 10);
const acme = { metadata: { tenant: "acme" }, maxOutputTokens: 10 };
const limits: BudgetOptions["limits"] = [{ scope: "tenant", window: "day", limitUsd: 1 }];

async function eventually(check: () => Promise<boolean>, ms = 3_000): Promise<void> {
  const until = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > until) throw new Error("the condition did not hold in time");
    await sleep(20);
  }
}

describe("budget: spend store outages (FAILURES.md B5, B2)", () => {
  it("fail-closed by default: refuses calls that spend money, says so, and recovers by itself", async () => {
    const store = faulty();
    const { llm, of, logs } = budgetClient(fake, [
      budget({ counters: store.counters, limits, storeRetryMs: 50 }),
    ]);
    store.set("down");
    for (let i = 0; i < 3; i++) {
      const error = await rejection(llm.chat(ask("Hi", acme)));
      expect(error).toBeInstanceOf(BudgetUnavailableError);
      expect(error.message).toMatch(/onStoreError is "fail-closed"/);
    }
    expect(fake.requests).toHaveLength(0);
    // One per refused call (the background release of a reserve that might have landed adds its own).
    expect(of("budget-store-error").filter((e) => e.operation === "reserve")).toHaveLength(3);
    expect(of("budget-store-error")[0]).toMatchObject({
      operation: "reserve",
      policy: "fail-closed",
      scope: "tenant:acme",
    });
    expect(logs.filter((l) => l.level === "warn")).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(/failed to reserve .*"fail-closed": calls are refused/),
      }),
    ]);

    store.set("up");
    await sleep(60);
    fake.enqueue({ kind: "text", text: "ok", usage: { input: 10, output: 5 } });
    const res = await llm.chat(ask("Hi", acme));
    expect(res.text).toBe("ok");
    expect(of("budget-store-recovered")).toEqual([
      { failures: expect.any(Number), downMs: expect.any(Number) },
    ]);
    expect((await store.status()).settledMicros).toEqual([1_500]);
  });

  it("after a failure, calls apply the policy at once for storeRetryMs instead of each waiting on the store", async () => {
    const store = faulty();
    const { llm } = budgetClient(fake, [
      budget({ counters: store.counters, limits, storeTimeoutMs: 100, storeRetryMs: 60_000 }),
    ]);
    store.set("hang");
    const slow = await rejection(llm.chat(ask("Hi", acme)));
    expect(slow.message).toMatch(/did not answer within 100 ms/);
    const started = performance.now();
    for (let i = 0; i < 5; i++)
      expect(await rejection(llm.chat(ask("Hi", acme)))).toBeInstanceOf(BudgetUnavailableError);
    expect(performance.now() - started).toBeLessThan(100);
    expect(store.calls.reserve).toBe(1);
  });

  it("fail-open: calls go on unreserved, reported as such, and their spend is settled once the store is back", async () => {
    const store = faulty();
    const { llm, of, logs } = budgetClient(fake, [
      budget({ counters: store.counters, limits, onStoreError: "fail-open", storeRetryMs: 50 }),
    ]);
    store.set("down");
    fake.enqueue({ kind: "text", text: "ok", usage: { input: 10, output: 5 } });
    const res = await llm.chat(ask("Hi", acme));
    expect(res.text).toBe("ok");
    expect(res.meta.state.spend).toMatchObject({ unreserved: true, reservedUsd: 0, windows: [] });
    expect(res.meta.state.budget).toBeUndefined();
    expect(of("budget-store-error")[0]).toMatchObject({ operation: "reserve", policy: "fail-open" });
    expect(logs.some((l) => /"fail-open": calls go on without a reservation/.test(l.message))).toBe(true);
    store.set("up");
    await eventually(async () => (await store.status()).settledMicros[0] === 1_500);
  });

  it("B2: a reserve that timed out after its write is refused, and the hold it left is released", async () => {
    const store = faulty();
    const { llm } = budgetClient(fake, [budget({ counters: store.counters, limits, storeRetryMs: 0 })]);
    store.set("write-then-fail", "reserve");
    expect(await rejection(llm.chat(ask("Hi", acme)))).toBeInstanceOf(BudgetUnavailableError);
    await eventually(async () => (await store.status()).heldMicros === 0);
    expect(fake.requests).toHaveLength(0);
  });

  it("fail-open: a reserve that timed out after its write is released even when the call costs nothing", async () => {
    const store = faulty();
    const { llm } = budgetClient(fake, [
      budget({ counters: store.counters, limits, onStoreError: "fail-open", storeRetryMs: 0 }),
    ]);
    store.set("write-then-fail", "reserve");
    fake.enqueue({ kind: "error", status: 400 }); // fails with no usage: $0 spent
    await rejection(llm.chat(ask("Hi", acme)));
    await eventually(async () => (await store.status()).heldMicros === 0);
    expect((await store.status()).settledMicros).toEqual([0]);
  });

  it("B2: a settle that timed out after its write is retried, and counted once", async () => {
    const store = faulty();
    const { llm } = budgetClient(fake, [budget({ counters: store.counters, limits, storeRetryMs: 0 })]);
    store.set("write-then-fail", "settle");
    fake.enqueue({ kind: "text", text: "ok", usage: { input: 10, output: 5 } });
    await llm.chat(ask("Hi", acme));
    store.set("up", "settle");
    await eventually(async () => store.calls.settle >= 2);
    await sleep(50);
    expect(await store.status()).toEqual({ settledMicros: [1_500], heldMicros: 0 });
  });

  it("a store that fails mid-request (between reserve and settle) never fails the answered call", async () => {
    const store = faulty();
    const { llm } = budgetClient(fake, [budget({ counters: store.counters, limits, storeTimeoutMs: 100 })]);
    fake.enqueue({
      kind: "slow-first-byte",
      delayMs: 50,
      next: { kind: "text", text: "ok", usage: { input: 10, output: 5 } },
    });
    const pending = llm.chat(ask("Hi", acme));
    await sleep(20);
    store.set("hang", "settle");
    expect((await pending).text).toBe("ok");
  });
});
