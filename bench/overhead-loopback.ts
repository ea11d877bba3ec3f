/**
 * Per-request overhead of createClient over the OpenAI SDK, both calling the
 * same loopback fake server (test/fakes): a direct SDK call against the same
 * call through an empty pipeline and through 6 pass-through middleware.
 */
import OpenAI from "openai";
import { type ChatRequest, type ChatRequestInput, createClient, openai } from "../src/index.js";
import { startFakeOpenAI } from "../test/fakes/index.js";
import { type BenchOptions, measure, type Plan, passThrough, slices } from "./harness.js";
import { median, ratio, type Summary, signed, target } from "./stats.js";

export const name = "overhead-loopback";

const PROMPT = "Say hello in one word.";
const wire = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: PROMPT }] };
const canonical: ChatRequestInput = {
  model: "openai:gpt-4o-mini",
  messages: [{ role: "user", content: PROMPT }],
};
/** The canonical request as validation leaves it, for calling the adapter alone. */
const validated = { ...canonical, stream: false } as ChatRequest;

export async function run({ quick }: BenchOptions): Promise<void> {
  const fake = await startFakeOpenAI();
  try {
    const sdk = new OpenAI({ apiKey: "sk-bench", baseURL: fake.baseURL, maxRetries: 0 });
    const provider = openai(sdk);
    const empty = createClient({ providers: { openai: provider } });
    const six = createClient({ providers: { openai: provider }, middleware: passThrough(6) });
    // The fake records every request; dropping the records between rounds keeps memory flat.
    const betweenRounds = () => fake.reset();

    // Few calls per round and many rounds: a burst of load from another process then
    // lands on all variants alike, instead of on whichever one was running a long block.
    const plan: Plan = quick
      ? { warmup: 50, rounds: 50, perRound: 4, betweenRounds }
      : { warmup: 200, rounds: 1_000, perRound: 4, betweenRounds };
    const { summaries, samples } = await measure(
      "Loopback, non-streamed: the OpenAI SDK calling the fake server directly vs through createClient",
      plan,
      [
        { label: "(a) SDK chat.completions.create", call: () => sdk.chat.completions.create(wire) },
        {
          label: "(p) openai(sdk).complete, adapter only",
          // As dispatch calls it for (b): a non-streamed call with no caller signal gets no
          // signal, since nothing can abort it (a signal would add the SDK's abort wiring).
          call: () =>
            provider.complete(validated, { model: wire.model, signal: undefined, maxRetries: undefined }),
        },
        { label: "(b) llm.chat, empty pipeline", call: () => empty.chat(canonical) },
        { label: "(c) llm.chat, 6 pass-through mw", call: () => six.chat(canonical) },
      ],
      { baseline: 0, ratios: true },
    );
    const [a, p, b, c] = summaries as [Summary, Summary, Summary, Summary];
    const direct = slices(samples[0]!, 10);
    const spread = slices(samples[2]!, 10).map((s, i) => median(s) / median(direct[i]!));
    console.log(
      `\n  (b)/(a) p50 ratio in each tenth of the run: ${ratio(Math.min(...spread))} .. ${ratio(Math.max(...spread))}` +
        " (the spread is noise)",
    );
    console.log(
      target(
        "the empty pipeline adds < 5% to the direct median",
        `(b)/(a) = ${ratio(b.p50 / a.p50)}, ${signed(b.p50 - a.p50)} µs`,
        b.p50 / a.p50 < 1.05,
      ),
    );
    console.log(
      `  info    split: the adapter alone (p)-(a) = ${signed(p.p50 - a.p50)} µs;` +
        ` createClient on top of it (b)-(p) = ${signed(b.p50 - p.p50)} µs`,
    );
    console.log(
      `  info    6 middleware: (c)/(a) = ${ratio(c.p50 / a.p50)}, (c)-(b) = ${signed(c.p50 - b.p50)} µs;` +
        " judged in-process (next section), free of network noise",
    );

    const streamPlan: Plan = quick
      ? { warmup: 30, rounds: 25, perRound: 4, betweenRounds }
      : { warmup: 100, rounds: 500, perRound: 4, betweenRounds };
    const streamed = await measure(
      "Loopback, streamed (every chunk read, include_usage on): the SDK stream directly vs llm.stream",
      streamPlan,
      [
        {
          label: "(d) SDK create({ stream: true })",
          call: async () => {
            const stream = await sdk.chat.completions.create({
              ...wire,
              stream: true,
              stream_options: { include_usage: true },
            });
            for await (const _ of stream);
          },
        },
        {
          label: "(e) llm.stream, empty pipeline",
          call: async () => {
            const stream = empty.stream(canonical);
            for await (const _ of stream);
            await stream.completion;
          },
        },
      ],
      { baseline: 0, ratios: true },
    );
    const [d, e] = streamed.summaries as [Summary, Summary];
    console.log(
      `\n  info    streamed: (e)/(d) = ${ratio(e.p50 / d.p50)}, ${signed(e.p50 - d.p50)} µs median`,
    );
  } finally {
    await fake.close();
  }
}
