import type { CostRecord } from "../core/cost-record.js";
import { ConfigError, FrugalError } from "../core/errors.js";
import { type Logger, redactingLogger } from "../core/logger.js";
import type { LedgerSink } from "./ledger.js";
import {
  type LedgerWriterErrorInfo,
  type LedgerWriterOptions,
  type LedgerWriterStats,
  type ParsedLedgerWriterOptions,
  parseLedgerWriterOptions,
} from "./ledger-writer-options.js";
import { RingBuffer } from "./ring-buffer.js";

export type {
  LedgerWriterErrorInfo,
  LedgerWriterOptions,
  LedgerWriterStats,
} from "./ledger-writer-options.js";

/** `flush()` or `close()` could not write everything it covered; `unwritten` says how many records. */
export class LedgerFlushError extends FrugalError {
  constructor(
    message: string,
    readonly unwritten: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface Pending {
  seq: number;
  record: CostRecord;
}

interface FlushWaiter {
  /** Covers every record with a lower sequence number. */
  target: number;
  failures: number;
  dropped: number;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Puts cost records in a sink without ever slowing down or failing an LLM
 * call: `push` is synchronous, O(1) and never throws; records are written in
 * batches, in order, by one background loop; a failed write keeps its
 * records and is retried with backoff; a full buffer drops the oldest
 * records and says so. Call `close()` on shutdown: timers are unref'd, so
 * buffered records are not written if the process just exits.
 *
 * @example
 * const writer = new LedgerWriter(jsonlLedger({ path: "ledger.jsonl" }), { batchSize: 200 });
 * writer.push(record);          // returns at once
 * process.on("SIGTERM", () => void writer.close());
 */
export class LedgerWriter {
  readonly #sink: LedgerSink;
  readonly #options: ParsedLedgerWriterOptions;
  readonly #onError: NonNullable<LedgerWriterOptions["onError"]>;
  readonly #log: Logger;
  readonly #queue = new RingBuffer<Pending>();
  #inFlight: Pending[] = [];
  #waiters: FlushWaiter[] = [];
  #seq = 0;
  #written = 0;
  #dropped = 0;
  #failedWrites = 0;
  #pumping = false;
  #scheduled = false;
  #closing = false;
  #stopped = false;
  #unreported = { "buffer-full": 0, closed: 0 };
  readonly #timer: ReturnType<typeof setInterval>;
  /** Ends the current retry pause early (on close). */
  #wake: (() => void) | undefined;

  constructor(sink: LedgerSink, options?: LedgerWriterOptions) {
    if (typeof sink?.write !== "function") {
      throw new ConfigError(
        "invalid LedgerWriter sink: expected an object with write(records), such as memoryLedger()",
      );
    }
    this.#sink = sink;
    this.#options = parseLedgerWriterOptions(options);
    this.#log = redactingLogger(this.#options.logger ?? console);
    this.#onError =
      this.#options.onError ??
      ((error, info) => {
        const what =
          info.kind === "dropped" ? "cost records dropped" : "cost ledger write failed, will retry";
        this.#log.error(`frugal-llm: ${what}`, { error, ...info });
      });
    this.#timer = setInterval(() => {
      if (this.#queue.length > 0) this.#schedule();
    }, this.#options.flushIntervalMs);
    this.#timer.unref();
  }

  /** Buffers a record for writing. Synchronous, O(1), never throws. */
  push(record: CostRecord): void {
    if (this.#closing) {
      this.#drop(1, "closed");
      return;
    }
    if (this.#queue.length >= this.#options.maxBuffered) this.#dropOldest(1);
    this.#queue.push({ seq: this.#seq++, record });
    if (this.#queue.length >= this.#options.batchSize) this.#schedule();
  }

  stats(): LedgerWriterStats {
    return {
      buffered: this.#queue.length + this.#inFlight.length,
      written: this.#written,
      dropped: this.#dropped,
      failedWrites: this.#failedWrites,
    };
  }

  /**
   * Resolves once every record pushed before the call is written. Rejects
   * with `LedgerFlushError` after `maxRetries` failed writes, or when some of
   * those records were dropped; records still buffered stay buffered.
   */
  flush(): Promise<void> {
    const target = this.#seq;
    if (this.#lowestPending() >= target) return Promise.resolve();
    if (this.#stopped) {
      const unwritten = this.stats().buffered;
      return Promise.reject(
        new LedgerFlushError(`the writer is closed; ${unwritten} record(s) unwritten`, unwritten),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ target, failures: 0, dropped: 0, resolve, reject });
      this.#schedule();
    });
  }

  /**
   * Flushes, stops the timer and the retry loop, and closes the sink. Records
   * pushed afterwards are dropped and reported. Rejects like `flush()`.
   */
  async close(): Promise<void> {
    this.#closing = true;
    try {
      await this.flush();
    } finally {
      this.#stopped = true;
      clearInterval(this.#timer);
      this.#wake?.();
      await this.#sink.close?.();
    }
  }

  #schedule(): void {
    if (this.#scheduled || this.#pumping || this.#stopped) return;
    this.#scheduled = true;
    // The write starts after the caller's synchronous code: push stays O(1).
    queueMicrotask(() => {
      this.#scheduled = false;
      void this.#pump();
    });
  }

  /** The one loop that writes: batches never overlap, so records reach the sink in push order. */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    let failures = 0;
    try {
      while (this.#queue.length > 0 && !this.#stopped) {
        this.#inFlight = this.#queue.take(this.#options.batchSize);
        const batch = this.#inFlight.map((p) => p.record);
        try {
          // Inside the try, so a sink that throws synchronously is handled like one that rejects.
          await this.#sink.write(batch);
          this.#written += batch.length;
          this.#inFlight = [];
          failures = 0;
          this.#settleWaiters();
        } catch (error) {
          failures++;
          this.#failedWrites++;
          const failed = this.#inFlight;
          this.#inFlight = [];
          for (let i = failed.length - 1; i >= 0; i--) this.#queue.unshift(failed[i]!);
          const excess = this.#queue.length - this.#options.maxBuffered;
          if (excess > 0) this.#dropOldest(excess);
          const retryInMs = this.#backoff(failures);
          this.#report(error, {
            kind: "write-failed",
            sink: this.#sink.name,
            records: batch.length,
            attempt: failures,
            retryInMs,
          });
          this.#failWaiters(error);
          await this.#pause(retryInMs);
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  #lowestPending(): number {
    return this.#inFlight[0]?.seq ?? this.#queue.peek()?.seq ?? this.#seq;
  }

  #settleWaiters(): void {
    const lowest = this.#lowestPending();
    this.#waiters = this.#waiters.filter((w) => {
      if (lowest < w.target) return true;
      if (w.dropped === 0) w.resolve();
      else {
        const message = `${w.dropped} cost record(s) were dropped before they could be written`;
        w.reject(new LedgerFlushError(message, w.dropped));
      }
      return false;
    });
  }

  #failWaiters(error: unknown): void {
    this.#waiters = this.#waiters.filter((w) => {
      if (++w.failures <= this.#options.maxRetries) return true;
      const unwritten = this.#queue.length;
      const message = `ledger sink "${this.#sink.name}" failed ${w.failures} time(s); ${unwritten} record(s) still buffered`;
      w.reject(new LedgerFlushError(message, unwritten, { cause: error }));
      return false;
    });
  }

  #dropOldest(count: number): void {
    let dropped = 0;
    for (; dropped < count; dropped++) {
      const gone = this.#queue.shift();
      if (!gone) break;
      for (const w of this.#waiters) if (gone.seq < w.target) w.dropped++;
    }
    this.#drop(dropped, "buffer-full");
    this.#settleWaiters();
  }

  /** Counts drops and reports them once per tick, not once per record: a full buffer can drop thousands. */
  #drop(count: number, reason: "buffer-full" | "closed"): void {
    this.#dropped += count;
    const first = this.#unreported["buffer-full"] + this.#unreported.closed === 0;
    this.#unreported[reason] += count;
    if (!first) return;
    queueMicrotask(() => {
      for (const why of ["buffer-full", "closed"] as const) {
        const dropped = this.#unreported[why];
        if (dropped === 0) continue;
        this.#unreported[why] = 0;
        const error = new LedgerFlushError(`dropped ${dropped} cost record(s): ${why}`, dropped);
        this.#report(error, { kind: "dropped", sink: this.#sink.name, dropped, reason: why });
      }
    });
  }

  #report(error: unknown, info: LedgerWriterErrorInfo): void {
    try {
      this.#onError(error, info);
    } catch (hookError) {
      this.#log.error("frugal-llm: the ledger onError hook threw", { error: hookError });
    }
  }

  #backoff(failures: number): number {
    const { retryBaseDelayMs: base, retryMaxDelayMs: max } = this.#options;
    const delay = Math.min(max, base * 2 ** Math.min(failures - 1, 30));
    // Jitter so that many instances recovering from one outage do not retry in step.
    return Math.round(delay * (0.5 + Math.random() / 2));
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => wake(), ms);
      timer.unref();
      const wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      this.#wake = wake;
    });
  }
}
