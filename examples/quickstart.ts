// frugal-llm quickstart: one client, five requests, one small middleware.
//
//   npm run demo
//
// With OPENAI_API_KEY / ANTHROPIC_API_KEY set it calls the real APIs. Without
// them it starts a local stand-in that speaks the same wire protocol, so the
// real SDKs run unchanged and nothing leaves this machine.
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
// In your app: `from "frugal-llm"`. The demo imports the source so it runs without a build.
import {
  type Attempt,
  anthropic,
  type Completion,
  costTracker,
  createClient,
  formatReport,
  type Message,
  type Middleware,
  memoryLedger,
  openai,
  report,
  type ToolDefinition,
  wrapAnthropic,
  wrapOpenAI,
} from "../src/index.js";
// Only for running without keys: loopback servers that answer like the real APIs.
import { startFakeAnthropic, startFakeOpenAI } from "../test/fakes/index.js";

// ---- The SDK clients your service already has -------------------------------------------
// frugal-llm never creates clients or reads keys: you hand it your own instances.
const openaiStandIn = process.env.OPENAI_API_KEY ? undefined : await startFakeOpenAI();
const anthropicStandIn = process.env.ANTHROPIC_API_KEY ? undefined : await startFakeAnthropic();
const openaiSdk = openaiStandIn
  ? new OpenAI({ apiKey: "sk-demo", baseURL: openaiStandIn.baseURL })
  : new OpenAI();
const anthropicSdk = anthropicStandIn
  ? new Anthropic({ apiKey: "demo", baseURL: anthropicStandIn.baseURL })
  : new Anthropic();
announce();
scriptStandIns();

// ---- A middleware: one log line per request, streamed or not ----------------------------
// It chains on `reply.completion`, which settles once the answer is complete, and
// returns the reply untouched, so a stream still reaches the caller as it arrives.
const logRequests: Middleware = {
  name: "log",
  async handle(ctx, next) {
    const log = (outcome: string) => {
      const tags = Object.entries(ctx.request.metadata ?? {}).map(([k, v]) => ` · ${k}=${v}`);
      const n = ctx.attempts.length;
      const took = ctx.clock.now() - ctx.startedAt;
      console.log(`   [log] ${outcome}${tags.join("")} · ${n} attempt${n === 1 ? "" : "s"} · ${took} ms`);
    };
    const failed = (error: Error) => log(`${ctx.request.model} failed (${error.name})`);
    const reply = await next(ctx).catch((error: Error) => {
      failed(error);
      throw error;
    });
    reply.completion.then((c) => log(`${c.provider}:${c.model}`), failed);
    return reply;
  },
};

// The cost tracker writes one record per request to a ledger (memory here; JSONL, Redis or
// PostgreSQL in a service). Listed first, it sees every provider call the others make.
const ledger = memoryLedger();
const tracker = costTracker({ ledger });
const llm = createClient({
  providers: { openai: openai(openaiSdk), anthropic: anthropic(anthropicSdk) },
  middleware: [tracker, logRequests],
});

// Every provider call is also published as an event with its usage and cost: how a
// wrapped call (which returns the SDK's own types) still gets a cost figure.
const calls: Attempt[] = [];
llm.on("attempt", ({ attempt }) => void calls.push(attempt));

try {
  // 1. A plain chat call. Metadata says who pays and what for; budgets and caches use it.
  console.log("\n1. llm.chat to anthropic:claude-haiku-4-5");
  const answer = await llm.chat({
    model: "anthropic:claude-haiku-4-5",
    system: "You are a concise assistant.",
    messages: [{ role: "user", content: "In one sentence: why cache LLM answers?" }],
    maxOutputTokens: 200,
    metadata: { tenant: "acme", task: "faq" },
  });
  console.log(`   ${answer.text}`);
  printUsage(answer);

  // 2. A streamed call: print deltas as they arrive; `completion` has the usage at the end.
  console.log("\n2. llm.stream to openai:gpt-4o-mini");
  const stream = llm.stream({
    model: "openai:gpt-4o-mini",
    messages: [{ role: "user", content: "Give me three short tips for cutting LLM costs." }],
  });
  for await (const event of stream) {
    if (event.type === "start") process.stdout.write("   ");
    if (event.type === "text-delta") process.stdout.write(event.text);
    if (event.type === "finish") process.stdout.write("\n");
  }
  printUsage(await stream.completion);

  // 3. A tool call, then the tool's result sent back in a second turn.
  console.log("\n3. A tool call with anthropic:claude-haiku-4-5");
  const getWeather: ToolDefinition = {
    name: "get_weather",
    description: "The current weather in a city.",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  };
  const question: Message = { role: "user", content: "What's the weather in Paris right now?" };
  const ask = (messages: Message[]) =>
    llm.chat({ model: "anthropic:claude-haiku-4-5", tools: [getWeather], messages, maxOutputTokens: 300 });
  const turn1 = await ask([question]);
  const call = turn1.toolCalls[0];
  if (!call) throw new Error(`expected a get_weather call, got: ${turn1.text}`);
  const args = JSON.parse(call.arguments) as { city: string };
  console.log(`   tool call: ${call.name}`, args);
  printUsage(turn1);
  // Your code runs the tool; the model gets its own turn back, then the result.
  const weather = { city: args.city, temperature_c: 18, conditions: "partly cloudy" };
  const result = { type: "tool-result" as const, toolCallId: call.id, content: JSON.stringify(weather) };
  const turn2 = await ask([
    question,
    { role: "assistant", content: turn1.content },
    { role: "tool", content: [result] },
  ]);
  console.log(`   ${turn2.text}`);
  printUsage(turn2);

  // 4. Drop-in: existing OpenAI code keeps its call shape and types, and goes through llm.
  console.log("\n4. wrapOpenAI: chat.completions.create with stream: true");
  const wrappedOpenAI = wrapOpenAI(openaiSdk, llm, { metadata: () => ({ tenant: "acme" }) });
  const chunks = await wrappedOpenAI.chat.completions.create({
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: "Say hello to a new frugal-llm user." }],
    stream: true,
    stream_options: { include_usage: true },
  });
  for await (const chunk of chunks) {
    const choice = chunk.choices[0];
    if (choice?.delta.role) process.stdout.write("   ");
    if (choice?.delta.content) process.stdout.write(choice.delta.content);
    if (choice?.finish_reason) process.stdout.write("\n");
    if (chunk.usage) {
      const { prompt_tokens, completion_tokens } = chunk.usage;
      console.log(`   usage chunk: prompt_tokens ${prompt_tokens} · completion_tokens ${completion_tokens}`);
    }
  }
  printUsage(calls.at(-1));

  // 5. Drop-in for Anthropic: messages.create returns the SDK's own Message.
  console.log("\n5. wrapAnthropic: messages.create");
  const message = await wrapAnthropic(anthropicSdk, llm).messages.create({
    model: "claude-haiku-4-5",
    max_tokens: 200,
    messages: [{ role: "user", content: "Name one thing a semantic cache must never mix up." }],
  });
  console.log(`   ${message.content.flatMap((b) => (b.type === "text" ? [b.text] : [])).join("")}`);
  console.log(`   stop_reason: ${message.stop_reason}`);
  printUsage(calls.at(-1));

  // The ledger now holds one cost record per request: report over it.
  await tracker.flush();
  console.log(`\n${formatReport(report(await ledger.read()))}`);
} catch (error) {
  // Errors are typed (RateLimitError, ConnectionError, ...) and their messages carry no keys.
  console.error(`\nThe demo failed: ${String(error)}`);
  process.exitCode = 1;
} finally {
  await Promise.all([openaiStandIn?.close(), anthropicStandIn?.close()]);
}

/** Usage in its disjoint buckets, and the cost as the library reports it. */
function printUsage(result: Pick<Completion, "usage" | "cost"> | Attempt | undefined): void {
  if (!result?.usage || !result.cost) throw new Error("no usage was reported for this request");
  const u = result.usage;
  console.log(
    `   usage: input ${u.inputTokens} · cache read ${u.cacheReadTokens} · cache write ${u.cacheWrite5mTokens + u.cacheWrite1hTokens} · output ${u.outputTokens} · reasoning ${u.reasoningTokens}${u.estimated ? " (estimated)" : ""}`,
  );
  // An unknown price is reported as unknown, never as $0.
  const { cost } = result;
  console.log(
    `   cost: ${cost.priced ? `$${cost.usd.toFixed(6)} (${cost.source})` : `not priced (${cost.reason})`}`,
  );
}

/** Says where the requests go, before any is sent. */
function announce(): void {
  const [o, a] = [openaiStandIn?.baseURL, anthropicStandIn?.baseURL];
  const where = (name: string, url?: string) =>
    url
      ? `No ${name.toUpperCase()}_API_KEY set: using a local stand-in for the ${name} API at ${url}.`
      : `${name.toUpperCase()}_API_KEY is set: calling the real ${name} API (this spends a few tokens).`;
  if (o && a) {
    const at = `for the OpenAI and Anthropic APIs at ${o} and ${a}`;
    console.log(`No API keys set: using a local stand-in ${at}; nothing leaves this machine.`);
  } else console.log(`${where("OpenAI", o)}\n${where("Anthropic", a)}`);
}

/** What the stand-ins answer, in the order the requests above reach them. */
function scriptStandIns(): void {
  anthropicStandIn?.enqueue(
    {
      kind: "text",
      text: "A cache serves repeated questions from storage, so you pay for each answer once.",
    },
    {
      kind: "tool-calls",
      calls: [{ name: "get_weather", arguments: { city: "Paris" } }],
      usage: { output: 54 },
    },
    { kind: "text", text: "It's 18 °C and partly cloudy in Paris right now." },
    { kind: "text", text: "Tenants: an answer cached for one customer must never reach another." },
  );
  openaiStandIn?.enqueue(
    { kind: "text", text: "Cache repeated prompts, send easy ones to a small model, and cap output tokens." },
    { kind: "text", text: "Hello, and welcome! Every call you make now has its cost on record." },
  );
}
