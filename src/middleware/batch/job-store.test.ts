import { describe, expect, it } from "vitest";
import type { KeyValueStore } from "../../storage/kv.js";
import { memoryKv } from "../../storage/memory/kv.js";
import { recording } from "../exact-cache/test-client.js";
import { type JobRecord, JobStore } from "./job-store.js";

const PREFIX = "t:";
const job = (id: string, status: JobRecord["status"] = "queued"): JobRecord => ({
  v: 1,
  id,
  requestId: `req-${id}`,
  provider: "openai",
  model: "gpt-4o-mini",
  params: { model: "gpt-4o-mini", messages: [] },
  tokens: 1,
  enqueuedAt: 0,
  tries: 0,
  status,
  attempts: [],
});

/** A store whose index writes take `delayMs` and can be made to fail; it counts writes and overlaps. */
function slowIndex(inner: KeyValueStore, delayMs: number) {
  const stats = { writes: 0, inFlight: 0, maxInFlight: 0, fail: false };
  const store: KeyValueStore = {
    ...inner,
    get: (key) => inner.get(key),
    async set(key, value, ttl) {
      if (!key.endsWith("index")) return inner.set(key, value, ttl);
      stats.writes++;
      stats.inFlight++;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      try {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        if (stats.fail) throw new Error("store down");
        await inner.set(key, value, ttl);
      } finally {
        stats.inFlight--;
      }
    },
  };
  return { store, stats };
}

const storedIndex = async (kv: KeyValueStore) => JSON.parse((await kv.get(`${PREFIX}index`))!);

describe("JobStore: the durable queue over a plain key-value store", () => {
  it("250 concurrent changes are group-committed: a few writes, never two at once, none lost", async () => {
    const kv = memoryKv();
    const { store, stats } = slowIndex(kv, 5);
    const jobs = new JobStore(store, PREFIX, 1000);
    await Promise.all(
      Array.from({ length: 250 }, (_, i) => jobs.update((index) => index.queued.add(`j${i}`))),
    );
    expect(stats.maxInFlight).toBe(1);
    expect(stats.writes).toBeLessThanOrEqual(3);
    expect((await storedIndex(kv)).queued).toHaveLength(250);
  });

  it("a change resolves only once a write that holds it has reached the store", async () => {
    const kv = memoryKv();
    const jobs = new JobStore(slowIndex(kv, 10).store, PREFIX, 1000);
    const first = jobs.update((index) => index.queued.add("a"));
    await new Promise((resolve) => setTimeout(resolve, 2));
    // Made while the first write is in flight: it waits for the next one.
    const second = jobs.update((index) => index.queued.add("b"));
    await first;
    expect((await storedIndex(kv)).queued).toEqual(["a"]);
    await second;
    expect((await storedIndex(kv)).queued).toEqual(["a", "b"]);
  });

  it("a new instance keeps what an earlier one stored (the index is loaded before the first change)", async () => {
    const kv = memoryKv();
    const before = new JobStore(kv, PREFIX, 1000);
    await before.update((index) => {
      index.queued.add("old");
      index.batches.set("batch_1", { provider: "anthropic", group: "anthropic", ids: ["x"], submittedAt: 5 });
    });
    const after = new JobStore(kv, PREFIX, 1000);
    await after.update((index) => index.queued.add("new"));
    expect(await storedIndex(kv)).toEqual({
      v: 1,
      queued: ["old", "new"],
      batches: { batch_1: { provider: "anthropic", group: "anthropic", ids: ["x"], submittedAt: 5 } },
    });
  });

  it("a failed write rejects its changes; a reverted change is left out of the next write", async () => {
    const kv = memoryKv();
    const { store, stats } = slowIndex(kv, 1);
    const jobs = new JobStore(store, PREFIX, 1000);
    await jobs.update((index) => index.queued.add("kept"));
    stats.fail = true;
    await expect(jobs.update((index) => index.queued.add("lost"))).rejects.toThrow("store down");
    await jobs.revert((index) => index.queued.delete("lost"));
    stats.fail = false;
    await jobs.update((index) => index.queued.add("next"));
    expect((await storedIndex(kv)).queued).toEqual(["kept", "next"]);
  });

  it("settled jobs expire after resultTtlMs; queued and sent ones never expire", async () => {
    const kv = recording(memoryKv());
    const jobs = new JobStore(kv, PREFIX, 60_000);
    for (const status of ["queued", "sent", "done", "failed"] as const)
      await jobs.putJob(job(status, status));
    expect(kv.sets.map((s) => [s.key, s.ttlMs])).toEqual([
      ["t:job:queued", undefined],
      ["t:job:sent", undefined],
      ["t:job:done", 60_000],
      ["t:job:failed", 60_000],
    ]);
    expect(await jobs.getJob("done")).toEqual(job("done", "done"));
    await jobs.deleteJob("done");
    expect(await jobs.getJob("done")).toBeUndefined();
  });
});
