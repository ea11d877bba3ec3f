/**
 * The exact cache's hit path, in-process (issue target: < 20 µs median per
 * request with the memory store): llm.chat served from a warm memoryKv,
 * against the same call through the empty pipeline to the provider that
 * answers at once (see overhead-inprocess.ts). A hit hashes the canonical
 * request (SHA-256), reads and parses the entry, and builds the reply; it
 * never reaches the provider. The streamed hit (a replay of the stored
 * answer, read to its end) and the key alone are shown for information.
 */
import { createClient, memoryKv } from "../src/index.js";
import { exactCache, requestKey } from "../src/middleware/exact-cache/index.js";
import { type BenchOptions, measure, type Plan } from "./harness.js";
import { input, instant } from "./overhead-inprocess.js";
import { type Summary, signed, target, us } from "./stats.js";

export const name = "exact-cache";

export async function run({ quick }: BenchOptions): Promise<void> {
  const empty = createClient({ providers: { openai: instant } });
  const cache = exactCache({ store: memoryKv() });
  const cached = createClient({ providers: { openai: instant }, middleware: [cache] });
  const first = await cached.chat(input);
  const check = await cached.chat(input);
  if (check.meta.state.cache?.status !== "hit") throw new Error("exact-cache bench: the warm-up did not hit");
  const canonical = { ...input, stream: false };

  const plan: Plan = quick
    ? { warmup: 500, rounds: 4, perRound: 500 }
    : { warmup: 2_000, rounds: 20, perRound: 1_000 };
  const { summaries } = await measure(
    "In-process: llm.chat through the empty pipeline (provider answers at once) vs an exact-cache hit (memoryKv)",
    plan,
    [
      { label: "(g) llm.chat, empty pipeline", call: () => empty.chat(input) },
      { label: "(k) llm.chat, exactCache hit", call: () => cached.chat(input) },
      {
        label: "(l) llm.stream, exactCache hit, read",
        call: async () => {
          for await (const _ of cached.stream(input));
        },
      },
      { label: "(m) requestKey alone", call: async () => requestKey(canonical, "openai:gpt-4o-mini") },
    ],
    { baseline: 0, ratios: false },
  );
  const [g, k, l, m] = summaries as [Summary, Summary, Summary, Summary];
  console.log(
    `\n  info    a hit vs the empty pipeline: (k)-(g) = ${signed(k.p50 - g.p50)} µs median` +
      ` (a hit skips dispatch and the provider); the key: ${us(m.p50)} µs;` +
      ` a streamed hit: ${us(l.p50)} µs`,
  );
  console.log(
    `  info    answer served: ${JSON.stringify(first.text)}, ${first.usage.outputTokens} output tokens`,
  );
  console.log(
    target("an exact-cache hit takes < 20 µs median per request (memoryKv)", `${us(k.p50)} µs`, k.p50 < 20),
  );
}
