// The storage surface of the main entry. Redis and PostgreSQL adapters are not here: they are the
// subpath entries `frugal-llm/redis` and `frugal-llm/postgres`, so a host that uses neither never
// loads ioredis or pg.

export { type JsonlLedgerOptions, jsonlLedger } from "./jsonl/ledger.js";
export { checkTtl, type KeyValueStore } from "./kv.js";
export type { Ledger, LedgerQuery, LedgerSink } from "./ledger.js";
export {
  LedgerFlushError,
  LedgerWriter,
  type LedgerWriterErrorInfo,
  type LedgerWriterOptions,
  type LedgerWriterStats,
} from "./ledger-writer.js";
export {
  type MemoryCounters,
  type MemoryCountersOptions,
  memoryCounters,
  type ReserveResult,
  type SpendCounters,
  type SpendHold,
  type SpendStatus,
  type SpendWindow,
} from "./memory/counters.js";
export { type MemoryKv, type MemoryKvOptions, memoryKv } from "./memory/kv.js";
export { type MemoryLedger, type MemoryLedgerOptions, memoryLedger } from "./memory/ledger.js";
export {
  type MemoryVectorIndex,
  type MemoryVectorIndexOptions,
  memoryVectorIndex,
} from "./memory/vector-index.js";
export type { VectorIndex, VectorMatch } from "./vector-index.js";
