/**
 * The semantic cache's vector index, in process (what every
 * `memoryVectorIndex` and `redisVectorIndex` query runs): query latency
 * p50/p99, recall@1 of the approximate index against exact search, build
 * time and memory per entry, at 10k and 100k entries of 384 and 1,536
 * dimensions (`--quick`: 10k only).
 *
 * Data: 1,000 Gaussian clusters around random centres on the unit sphere
 * (a member's cosine to its centre ~0.71); queries are stored vectors plus
 * noise (cosine ~0.89 to the vector they came from: a paraphrase of a
 * cached prompt). A second, harder set (diffuse clusters, member-centre
 * cosine ~0.55) checks the probe count has margin. Every query's exact
 * answer comes from a full scan of the same index; recall@1 counts a query
 * when the approximate best is the exact best (or ties its score). One
 * query at a time on the main thread, as a request handler runs it.
 *
 * Latency is wall time per query; on a shared machine (see the load
 * average in the header) other processes preempt this one, so the CPU time
 * per query is printed too: the cost on one core of the index alone.
 *
 * Figures only; no assertion fails the process.
 */
import { availableParallelism, loadavg } from "node:os";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { LocalVectorIndex } from "../src/storage/vector/local-index.js";
import { clustered, fastGaussian, perturb, uniform } from "../test/vector/data.js";
import type { BenchOptions } from "./harness.js";
import { type Summary, summarize, table, target, us } from "./stats.js";

export const name = "vector-index";

const CLUSTERS = 1_000;
const QUERY_NOISE = 0.5; // query-source cosine ~0.89
/** Queries timed with the default probes; the first `exactQueries` of them also get an exact scan. */
const QUERIES = 1_000;
/** Queries per other probe count (recall and latency of the sweep). */
const SWEEP_QUERIES = 250;

interface Config {
  readonly count: number;
  readonly dims: number;
  /** Member-centre noise: cosine ~1 / sqrt(1 + spread^2). */
  readonly spread: number;
  readonly exactQueries: number;
  readonly sweep: readonly number[];
}

interface Timed {
  readonly wall: Summary;
  readonly cpu: Summary;
}

interface Measured {
  readonly config: Config;
  readonly buildMs: number;
  readonly heapBytes: number;
  readonly jsBytes: number;
  readonly exact: Timed;
  readonly byProbes: Map<number, Timed & { recall: number }>;
}

export async function run(options: BenchOptions): Promise<void> {
  const probe = new LocalVectorIndex({ maxVectors: 1 });
  const { tuning } = probe;
  const sweep = [4, 8, tuning.probes, 32].filter((p, i, all) => all.indexOf(p) === i).sort((a, b) => a - b);
  const configs: Config[] = [
    { count: 10_000, dims: 384, spread: 1, exactQueries: 500, sweep: [tuning.probes] },
    { count: 10_000, dims: 1_536, spread: 1, exactQueries: 500, sweep: [tuning.probes] },
  ];
  if (!options.quick) {
    configs.push(
      { count: 100_000, dims: 384, spread: 1, exactQueries: 200, sweep },
      { count: 100_000, dims: 1_536, spread: 1, exactQueries: 150, sweep },
    );
  }
  console.log(
    `\nData: ${CLUSTERS} Gaussian clusters on the unit sphere (member-centre cosine ~0.71); queries = stored` +
      ` vectors + noise (cosine ~0.89).\nIndex: inverted file whose lists split at ${tuning.maxListRows} rows,` +
      ` exact below ${tuning.exactMaxFloats.toLocaleString("en")} floats (rows x dims), default probes ${tuning.probes}.` +
      ` Kernel: ${probe.heap.kernel.simd ? "WebAssembly SIMD (f32x4)" : "JavaScript (no SIMD)"}.\n`,
  );
  const results = configs.map(measure);

  const rows: string[][] = [];
  for (const r of results) {
    const approx = r.byProbes.get(tuning.probes)!;
    const memory = `${kb(r.heapBytes + r.jsBytes)} (${kb(r.heapBytes)} + ${kb(r.jsBytes)} JS)`;
    const build = `${(r.buildMs / 1000).toFixed(1)} s (${us((r.buildMs * 1000) / r.config.count)} µs/vector)`;
    rows.push([label(r.config), "exact scan", "", "", ...latency(r.exact), "1.000"]);
    rows.push([
      "",
      `IVF, ${tuning.probes} probes`,
      build,
      memory,
      ...latency(approx),
      approx.recall.toFixed(3),
    ]);
  }
  console.log(
    "\nQuery latency (topK 1; wall time, and CPU time of this process), recall@1 against exact search,",
  );
  console.log("build time (one upsert at a time) and memory per entry (WebAssembly heap + JavaScript)\n");
  console.log(
    table(
      ["entries x dims", "search", "build", "memory / entry", "p50 µs", "p99 µs", "cpu p99 µs", "recall@1"],
      rows,
    ),
  );

  const swept = results.filter((r) => r.config.sweep.length > 1);
  if (options.quick) {
    console.log("\n(--quick: no probe sweep, no diffuse data set, no 100k target)");
    return;
  }
  const diffuse = measure({ count: 100_000, dims: 384, spread: 1.5, exactQueries: 200, sweep });
  swept.push(diffuse);
  console.log(
    `\nProbes (lists scanned per query): recall@1 against cost. The default (${tuning.probes}) keeps recall@1 >= 0.99` +
      " on the diffuse set too,\nwhere a query's true neighbour is less often in the lists nearest it.\n",
  );
  const sweepRows: string[][] = [];
  for (const r of swept) {
    const data = r.config.spread === 1 ? label(r.config) : `${label(r.config)}, diffuse`;
    sweep.forEach((p, i) => {
      const m = r.byProbes.get(p)!;
      sweepRows.push([i === 0 ? data : "", String(p), ...latency(m), m.recall.toFixed(3)]);
    });
  }
  console.log(table(["data", "probes", "p50 µs", "p99 µs", "cpu p99 µs", "recall@1"], sweepRows));

  // Exact scan cost per million floats, from every configuration: where exact search stops paying.
  const perMillion = results
    .map((r) => r.exact.cpu.p50 / ((r.config.count * r.config.dims) / 1e6))
    .sort((a, b) => a - b);
  const median = perMillion[perMillion.length >> 1]!;
  console.log(
    `\nExact scan: ~${us(median)} µs of CPU per million floats (p50). At the switch to the inverted file` +
      ` (${(tuning.exactMaxFloats / 1e6).toFixed(1)}M floats)\nit costs ~${us((median * tuning.exactMaxFloats) / 1e6)} µs,` +
      " about what an approximate query costs, with recall 1.",
  );

  const goal = results.find((r) => r.config.count === 100_000 && r.config.dims === 1_536)!;
  const m = goal.byProbes.get(tuning.probes)!;
  const load = loadavg()[0]!;
  // On an idle machine wall time is the figure; on a shared one, the CPU time of this process is.
  const shared = load >= 1.5;
  const p99 = shared ? m.cpu.p99 : m.wall.p99;
  console.log(
    `\n${target(
      "p99 < 2 ms at 100k x 1536 with recall@1 >= 0.98",
      `p99 ${us(p99)} µs (${shared ? `CPU time: load average ${load.toFixed(1)} on ${availableParallelism()} CPUs; wall p99 ${us(m.wall.p99)} µs` : "wall time"}), recall@1 ${m.recall.toFixed(3)}`,
      p99 < 2_000 && m.recall >= 0.98,
    )}`,
  );
}

function measure(config: Config): Measured {
  const { count, dims } = config;
  const seed = count + dims + Math.round(config.spread * 10);
  let vectors: Float32Array[] | undefined = clustered({
    count,
    dims,
    clusters: CLUSTERS,
    spread: config.spread,
    seed,
  });
  const normal = fastGaussian(seed + 1);
  const pick = uniform(seed + 2);
  const queries = Array.from({ length: QUERIES }, () =>
    perturb(vectors![Math.floor(pick() * count)]!, QUERY_NOISE, normal),
  );

  const jsBefore = jsMemory();
  const index = new LocalVectorIndex({ maxVectors: count });
  const t0 = performance.now();
  for (let i = 0; i < count; i++) index.upsert("bench", `entry-${i}`, vectors[i]!);
  const buildMs = performance.now() - t0;
  // What the index holds in JavaScript (ids, slot maps, list sums), with the data set alive on both sides.
  const jsBytes = Math.max(0, jsMemory() - jsBefore) / count;
  const heapBytes = index.heap.usedBytes / count;
  vectors = undefined;

  const truth: { id: string; score: number }[] = [];
  const exact = time(config.exactQueries, (q) => {
    truth.push(index.query("bench", queries[q]!, 1, -1, Number.POSITIVE_INFINITY)[0]!);
  });
  const byProbes = new Map<number, Timed & { recall: number }>();
  for (const probes of config.sweep) {
    let agree = 0;
    for (let q = 0; q < 100; q++) index.query("bench", queries[q]!, 1, -1, probes); // warm-up
    const n = probes === index.tuning.probes ? QUERIES : Math.max(SWEEP_QUERIES, config.exactQueries);
    const timed = time(n, (q) => {
      const [best] = index.query("bench", queries[q]!, 1, -1, probes);
      const expected = truth[q];
      if (expected && (best?.id === expected.id || best?.score === expected.score)) agree++;
    });
    byProbes.set(probes, { ...timed, recall: agree / truth.length });
  }
  console.log(
    `  measured ${label(config)}${config.spread === 1 ? "" : ", diffuse"}: built in ${(buildMs / 1000).toFixed(1)} s,` +
      ` ${index.stats().lists} lists`,
  );
  index.clear();
  return { config, buildMs, heapBytes, jsBytes, exact, byProbes };
}

/** Runs `call(i)` for i < n, timing each call in wall and CPU time; figures in µs. */
function time(n: number, call: (i: number) => void): Timed {
  const wall = new Float64Array(n);
  const cpu = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    call(i);
    wall[i] = Number(process.hrtime.bigint() - t0);
    const c = process.cpuUsage(c0);
    cpu[i] = (c.user + c.system) * 1_000;
  }
  return { wall: summarize(wall), cpu: summarize(cpu) };
}

const latency = (t: Timed): string[] => [us(t.wall.p50), us(t.wall.p99), us(t.cpu.p99)];
const label = (c: Config): string => `${c.count / 1000}k x ${c.dims}`;

/** JavaScript heap plus typed-array memory in use after a full collection (when one can be forced), in bytes. */
function jsMemory(): number {
  try {
    setFlagsFromString("--expose-gc");
    (runInNewContext("gc") as () => void)();
  } catch {}
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

function kb(bytes: number): string {
  return bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${Math.round(bytes)} B`;
}
