// Entry point of `frugal-llm/postgres`.
export { type PostgresLedger, type PostgresLedgerOptions, postgresLedger } from "./ledger.js";
export type { SpendDimension, SpendQuery, SpendRow } from "./spend.js";
