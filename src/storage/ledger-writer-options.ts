import { z } from "zod";
import type { Logger } from "../core/logger.js";
import { parseOptions } from "../core/options.js";

export interface LedgerWriterOptions {
  /** Records per `sink.write`. A full batch is written at once. Default 100; at most `maxBuffered`. */
  batchSize?: number;
  /** A partial batch waits at most this long (ms) before it is written. Default 1,000; at most 2^31-1. */
  flushIntervalMs?: number;
  /**
   * Records waiting to be written, at most. When a push finds the buffer full
   * the oldest waiting record is dropped, counted in `stats().dropped` and
   * reported to `onError`. The batch being written is held on top. Default 10,000.
   */
  maxBuffered?: number;
  /**
   * Failed writes a `flush()` sits through before it rejects. The writer keeps
   * the records and goes on retrying in the background. Default 5; 0 rejects on the first failure.
   */
  maxRetries?: number;
  /** First retry delay (ms), doubled on each consecutive failure, with jitter. Default 100. */
  retryBaseDelayMs?: number;
  /** Longest retry delay (ms). Default 30,000. */
  retryMaxDelayMs?: number;
  /**
   * Told about every failed write (with the retry delay) and every drop
   * (coalesced: one call per tick, not per record). Default: `logger.error`.
   * Called from the background loop; if the hook throws, that is logged, never rethrown.
   */
  onError?: (error: unknown, info: LedgerWriterErrorInfo) => void;
  /** Where the default `onError` writes, with credentials redacted. Default `console`. */
  logger?: Logger;
}

/** What went wrong: a sink write failed (and will be retried), or records were dropped. */
export type LedgerWriterErrorInfo =
  | { kind: "write-failed"; sink: string; records: number; attempt: number; retryInMs: number }
  | { kind: "dropped"; sink: string; dropped: number; reason: "buffer-full" | "closed" };

export interface LedgerWriterStats {
  /** Records waiting or being written. */
  buffered: number;
  /** Records the sink acknowledged. */
  written: number;
  /** Records given up on: buffer overflow, or pushed after `close()`. */
  dropped: number;
  /** `sink.write` calls that failed. */
  failedWrites: number;
}

const positiveInt = z.number().int().positive();
const optionsSchema = z
  .object({
    batchSize: positiveInt.default(100),
    flushIntervalMs: positiveInt.max(2 ** 31 - 1).default(1_000),
    maxBuffered: positiveInt.default(10_000),
    maxRetries: z.number().int().nonnegative().default(5),
    retryBaseDelayMs: z.number().int().nonnegative().default(100),
    retryMaxDelayMs: z.number().int().nonnegative().default(30_000),
    onError: z.custom<NonNullable<LedgerWriterOptions["onError"]>>((f) => typeof f === "function").optional(),
    logger: z
      .custom<Logger>((l) => typeof (l as Logger)?.error === "function", "expected a logger")
      .optional(),
  })
  .strict()
  .refine((o) => o.batchSize <= o.maxBuffered, {
    path: ["batchSize"],
    message: "expected batchSize <= maxBuffered",
  });

export type ParsedLedgerWriterOptions = z.output<typeof optionsSchema>;

/** Validates `LedgerWriter` options, filling in defaults; throws a `ConfigError` naming each bad option. */
export function parseLedgerWriterOptions(
  options: LedgerWriterOptions | undefined,
): ParsedLedgerWriterOptions {
  return parseOptions(optionsSchema, options ?? {}, "LedgerWriter");
}
