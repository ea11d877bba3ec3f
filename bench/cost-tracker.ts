/**
 * What the cost tracker adds per request (issue target: < 10 µs median with
 * the memory ledger), in-process so no network noise hides it: llm.chat on
 * a provider that answers at once, with and without costTracker. The tracker
 * builds the record, prices the baseline and pushes to the ledger's buffer;
 * the buffer's batched writes are part of what is measured.
 */
import { costTracker, createClient, memoryLedger } from "../src/index.js";
import { type BenchOptions, measure, type Plan } from "./harness.js";
import { input, instant } from "./overhead-inprocess.js";
import { type Summary, signed, target } from "./stats.js";

export const name = "cost-tracker";

export async function run({ quick }: BenchOptions): Promise<void> {
  const bare = createClient({ providers: { openai: instant } });
  const tracker = costTracker({ ledger: memoryLedger({ maxRecords: 10_000 }) });
  const tracked = createClient({ providers: { openai: instant }, middleware: [tracker] });
  const plan: Plan = quick
    ? { warmup: 500, rounds: 4, perRound: 500 }
    : { warmup: 2_000, rounds: 20, perRound: 1_000 };
  const { summaries } = await measure(
    "In-process: llm.chat without and with costTracker (memory ledger)",
    plan,
    [
      { label: "(i) llm.chat, empty pipeline", call: () => bare.chat(input) },
      { label: "(j) llm.chat, costTracker + memory ledger", call: () => tracked.chat(input) },
    ],
    { baseline: 0, ratios: false },
  );
  await tracker.close();
  const [i, j] = summaries as [Summary, Summary];
  const added = j.p50 - i.p50;
  console.log(`\n  info    records written ${tracker.stats()?.written}, dropped ${tracker.stats()?.dropped}`);
  console.log(target("the cost tracker adds < 10 µs median per request", `${signed(added)} µs`, added < 10));
}
