import { describe, expect, it, vi } from "vitest";
import { costRecords } from "../../test/ledger/records.js";
import type { CostRecord } from "../core/cost-record.js";
import { ConfigError } from "../core/errors.js";
import type { LedgerSink } from "./ledger.js";
import { LedgerFlushError, LedgerWriter, type LedgerWriterErrorInfo } from "./ledger-writer.js";

/** A sink that records every batch it accepts and fails the first `failures` calls. */
function flakySink(failures = 0, fail: "reject" | "throw" = "reject") {
  const batches: CostRecord[][] = [];
  let calls = 0;
  const sink: LedgerSink & { batches: CostRecord[][]; readonly calls: number } = {
    name: "flaky",
    batches,
    get calls() {
      return calls;
    },
    write(records) {
      calls++;
      if (calls <= failures) {
        if (fail === "throw") throw new Error(`sync failure ${calls}`);
        return Promise.reject(new Error(`failure ${calls}`));
      }
      batches.push([...records]);
      return Promise.resolve();
    },
  };
  return sink;
}

const fast = { retryBaseDelayMs: 1, retryMaxDelayMs: 5 };
const ids = (records: readonly CostRecord[]) => records.map((r) => r.id);

function collectErrors() {
  const seen: { error: unknown; info: LedgerWriterErrorInfo }[] = [];
  return { seen, onError: (error: unknown, info: LedgerWriterErrorInfo) => void seen.push({ error, info }) };
}

describe("LedgerWriter", () => {
  it("loses nothing and keeps push order when the sink fails, then recovers", async () => {
    const sink = flakySink(4);
    const errors = collectErrors();
    const writer = new LedgerWriter(sink, { ...fast, batchSize: 10, onError: errors.onError });
    const records = costRecords(35);
    for (const r of records) writer.push(r);
    await writer.flush();
    expect(ids(sink.batches.flat())).toEqual(ids(records));
    expect(writer.stats()).toEqual({ buffered: 0, written: 35, dropped: 0, failedWrites: 4 });
    expect(errors.seen.map((e) => e.info)).toEqual(
      [1, 2, 3, 4].map((attempt) => ({
        kind: "write-failed",
        sink: "flaky",
        records: 10,
        attempt,
        retryInMs: expect.any(Number),
      })),
    );
    await writer.close();
  });

  it("drops the oldest records when the buffer is full, counts them and says so once", async () => {
    const sink = flakySink();
    const errors = collectErrors();
    const writer = new LedgerWriter(sink, { batchSize: 5, maxBuffered: 10, onError: errors.onError });
    const records = costRecords(25);
    for (const r of records) writer.push(r); // synchronously: nothing can be written in between
    expect(writer.stats()).toMatchObject({ buffered: 10, dropped: 15 });
    await writer.close();
    expect(ids(sink.batches.flat())).toEqual(ids(records.slice(15)));
    expect(errors.seen).toEqual([
      {
        error: expect.any(LedgerFlushError),
        info: { kind: "dropped", sink: "flaky", dropped: 15, reason: "buffer-full" },
      },
    ]);
  });

  it("never throws from push, even when the sink throws synchronously", async () => {
    const sink = flakySink(2, "throw");
    const errors = collectErrors();
    const writer = new LedgerWriter(sink, { ...fast, batchSize: 1, onError: errors.onError });
    const [record] = costRecords(1);
    expect(() => writer.push(record!)).not.toThrow();
    await writer.flush();
    expect(sink.batches).toEqual([[record]]);
    expect(errors.seen.map((e) => (e.error as Error).message)).toEqual(["sync failure 1", "sync failure 2"]);
  });

  it("survives an onError hook that throws", async () => {
    const logger = { debug() {}, info() {}, warn() {}, error: vi.fn() };
    const writer = new LedgerWriter(flakySink(1), {
      ...fast,
      logger,
      onError: () => {
        throw new Error("hook bug");
      },
    });
    writer.push(costRecords(1)[0]!);
    await writer.flush();
    expect(writer.stats().written).toBe(1);
    expect(logger.error).toHaveBeenCalledWith("frugal-llm: the ledger onError hook threw", expect.anything());
  });

  it("writes a full batch at once, without waiting for the timer", async () => {
    const sink = flakySink();
    const writer = new LedgerWriter(sink, { batchSize: 3, flushIntervalMs: 60_000 });
    for (const r of costRecords(3)) writer.push(r);
    await vi.waitFor(() => expect(sink.batches).toHaveLength(1));
    await writer.close();
  });

  it("writes a partial batch when the flush interval elapses", async () => {
    const sink = flakySink();
    const writer = new LedgerWriter(sink, { batchSize: 100, flushIntervalMs: 20 });
    writer.push(costRecords(1)[0]!);
    expect(sink.calls).toBe(0);
    await vi.waitFor(() => expect(sink.batches).toHaveLength(1), { timeout: 1_000 });
    await writer.close();
  });

  it("resolves flush at once when nothing is buffered", async () => {
    const writer = new LedgerWriter(flakySink());
    await expect(writer.flush()).resolves.toBeUndefined();
    await writer.close();
  });

  it("rejects flush after maxRetries, keeps the records, and writes them once the sink is back", async () => {
    const sink = flakySink(3);
    const writer = new LedgerWriter(sink, { ...fast, maxRetries: 1, onError: () => {} });
    const records = costRecords(5);
    for (const r of records) writer.push(r);
    const failed = await writer.flush().catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(LedgerFlushError);
    expect(failed).toMatchObject({ unwritten: 5, cause: expect.objectContaining({ message: "failure 2" }) });
    expect(writer.stats().buffered).toBe(5);
    await vi.waitFor(() => expect(writer.stats().written).toBe(5));
    expect(ids(sink.batches.flat())).toEqual(ids(records));
    await writer.close();
  });

  it("rejects flush when records it covered were dropped", async () => {
    let release!: () => void;
    const sink: LedgerSink = { name: "slow", write: () => new Promise<void>((r) => (release = r)) };
    const writer = new LedgerWriter(sink, { batchSize: 2, maxBuffered: 2, onError: () => {} });
    const records = costRecords(6);
    writer.push(records[0]!);
    writer.push(records[1]!);
    await vi.waitFor(() => expect(release).toBeTypeOf("function")); // records 0-1 in flight
    writer.push(records[2]!);
    const flushed = writer.flush();
    for (const r of records.slice(3)) writer.push(r); // pushes 2 out of the buffer
    release();
    await expect(flushed).rejects.toThrow(/1 cost record\(s\) were dropped/);
    release();
  });

  it("close flushes, closes the sink, stops writing, and counts records pushed afterwards as dropped", async () => {
    const sink = { ...flakySink(), close: vi.fn(async () => {}) };
    const errors = collectErrors();
    const writer = new LedgerWriter(sink, { flushIntervalMs: 10, onError: errors.onError });
    writer.push(costRecords(1)[0]!);
    await writer.close();
    expect(sink.batches).toHaveLength(1);
    expect(sink.close).toHaveBeenCalledOnce();
    expect(() => writer.push(costRecords(1)[0]!)).not.toThrow();
    await new Promise((r) => setTimeout(r, 40));
    expect(sink.batches).toHaveLength(1);
    expect(writer.stats()).toEqual({ buffered: 0, written: 1, dropped: 1, failedWrites: 0 });
    expect(errors.seen.map((e) => e.info)).toEqual([
      { kind: "dropped", sink: "flaky", dropped: 1, reason: "closed" },
    ]);
  });

  it("close rejects, with the unwritten count, when the sink stays down", async () => {
    const writer = new LedgerWriter(flakySink(Number.POSITIVE_INFINITY), {
      ...fast,
      maxRetries: 2,
      onError: () => {},
    });
    for (const r of costRecords(3)) writer.push(r);
    await expect(writer.close()).rejects.toMatchObject({ name: "LedgerFlushError", unwritten: 3 });
    await expect(writer.flush()).rejects.toThrow(/closed; 3 record/);
  });

  it("refuses bad options with an error naming each one", () => {
    const sink = flakySink();
    expect(() => new LedgerWriter(sink, { batchSize: 0 })).toThrow(/options\.batchSize/);
    expect(() => new LedgerWriter(sink, { batchSize: 50, maxBuffered: 10 })).toThrow(
      /options\.batchSize.*maxBuffered/,
    );
    expect(() => new LedgerWriter(sink, { flushIntervalMs: -1 })).toThrow(/options\.flushIntervalMs/);
    expect(() => new LedgerWriter(sink, { maxRetries: 1.5 })).toThrow(/options\.maxRetries/);
    expect(() => new LedgerWriter(sink, { bogus: 1 } as never)).toThrow(ConfigError);
    expect(() => new LedgerWriter({} as never)).toThrow(/LedgerWriter sink/);
  });
});
