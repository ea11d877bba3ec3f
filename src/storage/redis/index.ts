// Entry point of `frugal-llm/redis`.
export { type RedisLedgerOptions, redisLedger } from "./ledger.js";
