/**
 * `npm run bench [-- --quick] [section ...]`: runs the benchmark sections in
 * order and prints their figures. Targets are printed as PASS/MISS and never
 * fail the process; only an error does. To add a benchmark, write a module
 * exporting `name` and `run(options)` (see harness.ts) and list it below.
 */
import { availableParallelism, cpus, loadavg } from "node:os";
import * as costTrackerBench from "./cost-tracker.js";
import * as exactCacheBench from "./exact-cache.js";
import type { BenchOptions, Section } from "./harness.js";
import * as overheadInProcess from "./overhead-inprocess.js";
import * as overheadLoopback from "./overhead-loopback.js";
import * as tokenizers from "./tokenizers.js";

const sections: readonly Section[] = [
  overheadLoopback,
  overheadInProcess,
  costTrackerBench,
  exactCacheBench,
  tokenizers,
  await import("./semantic-cache.js"),
  await import("./budget.js"),
  await import("./vector-index.js"),
  await import("./router.js"),
];

const args = process.argv.slice(2);
const options: BenchOptions = { quick: args.includes("--quick") };
const wanted = args.filter((a) => !a.startsWith("--"));
const selected = wanted.length ? sections.filter((s) => wanted.some((w) => s.name.includes(w))) : sections;
if (selected.length === 0) {
  console.error(
    `no section matches ${wanted.join(", ")}; sections: ${sections.map((s) => s.name).join(", ")}`,
  );
  process.exit(2);
}

console.log(
  `frugal-llm bench${options.quick ? " --quick (fewer calls: indicative only)" : ""}` +
    `\nnode ${process.version}, ${process.platform}/${process.arch}, ${availableParallelism()} CPUs` +
    ` (${cpus()[0]?.model.trim() ?? "unknown"}), load average ${loadavg()[0]!.toFixed(2)}` +
    "\nlatencies in µs per call; targets are informative (PASS/MISS) and never fail the run",
);
const started = performance.now();
for (const section of selected) {
  const t0 = performance.now();
  console.log(`\n=== ${section.name} ${"=".repeat(Math.max(0, 72 - section.name.length))}`);
  await section.run(options);
  console.log(`\n  (${section.name}: ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}
console.log(`\ndone in ${((performance.now() - started) / 1000).toFixed(1)} s`);
