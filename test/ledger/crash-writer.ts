/**
 * The process that test/ledger/crash.test.ts kills: it writes batches to a
 * ledger sink as fast as it can and prints each record's id, one per line,
 * only after the `write` holding it resolved (the sink acknowledged it).
 *
 *   node --import tsx test/ledger/crash-writer.ts jsonl <file>
 *   node --import tsx test/ledger/crash-writer.ts postgres <table>
 */

import { jsonlLedger } from "../../src/storage/jsonl/ledger.js";
import type { Ledger } from "../../src/storage/ledger.js";
import { postgresLedger } from "../../src/storage/postgres/ledger.js";
import { postgresPool } from "../services.js";
import { costRecords } from "./records.js";

const [sink, target] = process.argv.slice(2);
if (!target || (sink !== "jsonl" && sink !== "postgres")) {
  console.error("usage: crash-writer.ts <jsonl|postgres> <file or table>");
  process.exit(2);
}
const ledger: Ledger =
  sink === "jsonl" ? jsonlLedger({ path: target }) : postgresLedger({ pool: postgresPool(), table: target });

// Large batches, so that a kill often lands in the middle of writing one.
for (let batch = 0; ; batch++) {
  const records = costRecords(200, (i) => ({ task: `crash-${process.pid}-${batch}-${i}` }));
  await ledger.write(records);
  process.stdout.write(`${records.map((r) => r.id).join("\n")}\n`);
}
