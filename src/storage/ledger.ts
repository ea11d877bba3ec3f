import type { CostRecord } from "../core/cost-record.js";

/**
 * Where cost records go. `write` receives records in batches and resolves
 * once they are durable in the sink (for a file: appended and flushed; for
 * PostgreSQL: committed). It may reject; the caller buffers and retries.
 *
 * A retried batch may repeat records that already reached the sink, so every
 * built-in sink is idempotent by record `id`: the first copy written wins and
 * `read` never returns an id twice.
 */
export interface LedgerSink {
  readonly name: string;
  write(records: readonly CostRecord[]): Promise<void>;
  /** Flushes what the sink itself buffers and releases what it holds (not the host's connections). */
  close?(): Promise<void>;
}

/** Which records to read. Bounds compare instants, so times written with different offsets compare correctly. */
export interface LedgerQuery {
  /** Inclusive start (record `time` >= from). */
  from?: Date;
  /** Exclusive end (record `time` < to). */
  to?: Date;
  /** Only this tenant's records; records without a tenant never match. */
  tenant?: string;
  /** At most this many records. Default: all. 0 reads nothing; a negative or fractional limit is an error. */
  limit?: number;
}

/** A sink that can also read back what it stored, for reports and alerts. */
export interface Ledger extends LedgerSink {
  /** Records matching the query, oldest `time` first, ties by `id`. Rejects a malformed query with `InvalidRequestError`. */
  read(query?: LedgerQuery): Promise<CostRecord[]>;
}
