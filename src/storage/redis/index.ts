// Entry point of `frugal-llm/redis`.
export { type RedisCountersOptions, redisCounters } from "./counters.js";
export { type RedisKvOptions, redisKv } from "./kv.js";
export { type RedisLedgerOptions, redisLedger } from "./ledger.js";
export { type RedisVectorIndex, type RedisVectorIndexOptions, redisVectorIndex } from "./vector-index.js";
