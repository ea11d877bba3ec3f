/**
 * The library's own per-call cost, free of network noise: a provider written
 * here answers at once with a fixed response (no I/O), so every microsecond
 * above calling it directly is spent in createClient, the pipeline and
 * dispatch. It is registered as "openai" and answers as gpt-4o-mini, so the
 * default price book prices each call as it would a real one. The 20 µs
 * target for 6 pass-through middleware is judged here.
 */
import {
  type ChatRequest,
  type ChatRequestInput,
  createClient,
  type Provider,
  type ProviderResponse,
  type StreamEvent,
} from "../src/index.js";
import { type BenchOptions, measure, type Plan, passThrough } from "./harness.js";
import { type Summary, signed, target } from "./stats.js";

export const name = "overhead-inprocess";

const MIDDLEWARE = 6;

const response: ProviderResponse = {
  id: "chatcmpl-bench",
  model: "gpt-4o-mini",
  content: [{ type: "text", text: "Hello." }],
  finishReason: "stop",
  usage: {
    inputTokens: 12,
    cacheReadTokens: 0,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: 2,
    reasoningTokens: 0,
  },
  raw: undefined,
};

const events: readonly StreamEvent[] = [
  { type: "start", id: response.id, provider: "openai", model: response.model },
  { type: "text-delta", text: "Hello." },
  { type: "finish", finishReason: "stop", usage: response.usage },
];

/** Answers at once, with no I/O. */
export const instant: Provider = {
  name: "openai",
  complete: async () => response,
  stream: async () =>
    (async function* () {
      yield* events;
    })(),
};

export const input: ChatRequestInput = {
  model: "openai:gpt-4o-mini",
  messages: [{ role: "user", content: "Say hello in one word." }],
};
const parsed = { ...input, stream: false } as ChatRequest;
const callOptions = { model: "gpt-4o-mini", signal: new AbortController().signal, maxRetries: undefined };

export async function run({ quick }: BenchOptions): Promise<void> {
  const empty = createClient({ providers: { openai: instant } });
  const six = createClient({ providers: { openai: instant }, middleware: passThrough(MIDDLEWARE) });
  const plan: Plan = quick
    ? { warmup: 500, rounds: 4, perRound: 500 }
    : { warmup: 2_000, rounds: 20, perRound: 1_000 };

  const { summaries } = await measure(
    "In-process (a provider that answers at once, no I/O): the provider alone vs llm.chat with 0 and 6 middleware",
    plan,
    [
      { label: "(f) provider.complete, no library", call: () => instant.complete(parsed, callOptions) },
      { label: "(g) llm.chat, empty pipeline", call: () => empty.chat(input) },
      { label: `(h) llm.chat, ${MIDDLEWARE} pass-through mw`, call: () => six.chat(input) },
    ],
    { baseline: 0, ratios: false },
  );
  const [f, g, h] = summaries as [Summary, Summary, Summary];
  const added = h.p50 - g.p50;
  console.log(
    `\n  info    the empty pipeline costs (g)-(f) = ${signed(g.p50 - f.p50)} µs median per call` +
      ` (mean ${signed(g.mean - f.mean)} µs)`,
  );
  console.log(
    `  info    ${MIDDLEWARE} middleware: (h)-(g) = ${signed(added)} µs median per call,` +
      ` ${signed(added / MIDDLEWARE)} µs per middleware (mean ${signed(h.mean - g.mean)} µs)`,
  );
  console.log(
    target(
      `${MIDDLEWARE} pass-through middleware add < 20 µs median per call (judged here)`,
      `${signed(added)} µs`,
      added < 20,
    ),
  );
}
