// Router + cascade + retry/fallback in one client:
//
//   node --import tsx examples/routing.ts
//
// The router picks where each request starts (rules first, then a small kNN model
// trained here); the cascade checks the cheap model's answer and escalates when it
// fails (JSON that does not parse); retry and fallback ride out a provider outage,
// with a circuit breaker that stops calling the failing model and a cost guard that
// caps how much traffic may fall back to a dearer one. The cost tracker records
// every provider call; the report at the end lists them, with the savings against
// sending everything to the strong model. Runs against a local stand-in for the
// provider APIs (no keys, no network).
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { z } from "zod";
// In your app: `from "frugal-llm"`. The example imports the source so it runs without a build.
import {
  anthropic,
  type ChatRequestInput,
  CostGuardError,
  cascade,
  costTracker,
  createClient,
  defaultValidators,
  fallback,
  jsonMatches,
  knn,
  memoryLedger,
  openai,
  report,
  retry,
  router,
  rules,
  trainKnn,
} from "../src/index.js";
import { startFakeAnthropic, startFakeOpenAI } from "../test/fakes/index.js";

const CHEAP = "openai:gpt-4o-mini";
const STRONG = "anthropic:claude-opus-4-5";

const fakeOpenAI = await startFakeOpenAI();
const fakeAnthropic = await startFakeAnthropic();
const openaiSdk = new OpenAI({ apiKey: "sk-demo", baseURL: fakeOpenAI.baseURL });
const anthropicSdk = new Anthropic({ apiKey: "demo", baseURL: fakeAnthropic.baseURL });
console.log("Using a local stand-in for the OpenAI and Anthropic APIs; nothing leaves this machine.");

// The learned policy, for what no rule covers. In production: `frugal router train` on your
// own traffic, loaded with KnnModel.fromJSON. Here: eight prompts, each labelled with the
// tiers whose answer was good enough (the labels are the router's tier names).
const easy = ["cheap", "strong"];
const hard = ["strong"];
const knnModel = await trainKnn([
  { prompt: "Summarize this meeting memo in three bullet points", goodEnough: easy },
  { prompt: "Translate this product description into French", goodEnough: easy },
  { prompt: "Rewrite this email so it sounds more polite", goodEnough: easy },
  { prompt: "Summarize the customer review in one sentence", goodEnough: easy },
  { prompt: "Draft a contract clause limiting our liability under German law", goodEnough: hard },
  { prompt: "Analyse the legal risks of this software licensing agreement", goodEnough: hard },
  { prompt: "Design a database schema for a multi-region payments ledger", goodEnough: hard },
  { prompt: "Compare the tax consequences of these two stock option plans", goodEnough: hard },
]);

// Each model's backup at the other provider. Claude Haiku costs more than GPT-4o mini, so
// falling back to it is an escalation, which the cost guard caps; GPT-4o costs less than Opus.
const BACKUP: Record<string, string[]> = {
  [CHEAP]: ["anthropic:claude-haiku-4-5"],
  [STRONG]: ["openai:gpt-4o"],
};
const Place = z.object({ city: z.string(), country: z.string() });

const ledger = memoryLedger();
// Listed first, the tracker sees every call the layers below make. Each routed answer is also
// priced at the router's baseline (the strongest tier that could take it): what it would have
// cost without routing.
const tracker = costTracker({ ledger });
const outage = fallback({
  chain: (ctx) => BACKUP[ctx.request.model] ?? [],
  // Skip a model for 30 s once half of its calls in the last minute failed (4 calls at least;
  // a call is judged after its retries).
  breaker: { failureRate: 0.5, minCalls: 4, openMs: 30_000 },
  // At most a quarter of the requests may fall back to a dearer model; critical ones always
  // may. The others get a typed CostGuardError instead of a surprise on the bill.
  guard: {
    maxShare: 0.25,
    critical: (ctx) => !!ctx.request.metadata?.tags?.includes("critical"),
    degrade: "error",
  },
});
const llm = createClient({
  providers: { openai: openai(openaiSdk), anthropic: anthropic(anthropicSdk) },
  middleware: [
    tracker,
    // Where a request starts: the first rule that matches decides, else the kNN model, else
    // the default (the strongest tier: quality first).
    router({
      tiers: [
        { name: "cheap", model: CHEAP },
        { name: "strong", model: STRONG },
      ],
      policies: [
        rules([
          { name: "code", when: { code: true }, tier: "strong" },
          { name: "math", when: { math: true }, tier: "strong" },
          { name: "simple task", when: { task: ["faq", "extract"] }, tier: "cheap" },
        ]),
        knn({ model: knnModel, threshold: 0.9 }),
      ],
    }),
    // After the router: it starts from the model the router chose and only climbs. Before
    // fallback and retry, which act within one step: a transient error is retried, then
    // served by the backup provider, rather than escalated.
    cascade({ models: [CHEAP, STRONG], validators: [...defaultValidators(), jsonMatches(Place)] }),
    // Outside retry: each model is retried before the chain moves on to the other provider.
    outage,
    // Innermost, just above the provider (short waits, so the example runs fast).
    retry({ maxAttempts: 2, baseDelayMs: 20 }),
  ],
});

const say = (line: string) => console.log(`     ${line}`);
llm.on("retry", ({ model, attempt, error }) => say(`retry: ${model} call ${attempt} after ${error.name}`));
llm.on("escalation", ({ from, to, reasons }) => say(`escalation: ${from} -> ${to} (${reasons[0]})`));
llm.on("fallback", ({ from, to, error }) => say(`fallback: ${from} -> ${to} (${error.name})`));
llm.on("circuit-open", ({ model, calls }) => say(`circuit open: ${model} (${calls} calls in the window)`));
llm.on("guard-engaged", ({ model, share }) =>
  say(`guard engaged: no fallback to ${model} (${Math.round(share * 100)}% of requests already did)`),
);

// Every request asks for "auto": the router picks the model. `task` names the request in the ledger.
async function ask(task: string, content: string, extra: Partial<ChatRequestInput> = {}) {
  const metadata = { task, ...extra.metadata };
  const label = [task, metadata.tenant, ...(metadata.tags ?? [])].filter(Boolean).join(" ");
  console.log(`  ${label}`);
  try {
    const res = await llm.chat({ ...extra, model: "auto", messages: [{ role: "user", content }], metadata });
    const route = res.meta.state.route; // the router's decision, also in the cost record
    say(`routed to ${route?.tier} (${route?.model}; ${route?.reason})`);
    say(`answered by ${res.provider}:${res.model}: ${res.text.split("\n")[0]?.slice(0, 50)}`);
  } catch (error) {
    if (!(error instanceof CostGuardError)) throw error;
    say(`CostGuardError: ${error.message}`);
  }
}

const place = { type: "json-schema", name: "place", schema: z.toJSONSchema(Place) } as const;

try {
  console.log("\n1. Routing: rules first, then the kNN model");
  fakeAnthropic.enqueue({ kind: "error", status: 529 }); // Anthropic overloaded once: retried
  await ask("debug", "Why does this throw?\n```js\nconst user = null;\nuser.name;\n```");
  await ask("homework", "Solve 3x + 5 = 20 and explain each step.");
  await ask("faq", "How do I reset my password?");
  await ask("summary", "Summarize this memo about the office move in three bullet points.");
  await ask("contract", "Analyse the liability clause of this licensing agreement under German law.");

  console.log("\n2. Cascade: the cheap model's JSON is checked before it is served");
  fakeOpenAI.enqueue({ kind: "text", text: '{"city": "Paris", "country": ' }); // cut short
  fakeAnthropic.enqueue({ kind: "text", text: '{"city": "Paris", "country": "France"}' });
  await ask("extract", "Where is the Louvre?", { responseFormat: place });
  fakeOpenAI.enqueue({ kind: "text", text: '{"city": "Rome", "country": "Italy"}' });
  await ask("extract", "Where is the Colosseum?", { responseFormat: place });

  console.log("\n3. OpenAI goes down: retry, fall back to Anthropic, open the breaker, cap the cost");
  for (let i = 0; i < 4; i++)
    fakeOpenAI.enqueue({ kind: "error", status: 500 }, { kind: "error", status: 429 });
  for (let n = 1; n <= 6; n++) {
    const tags = n === 5 ? ["critical"] : [];
    await ask("faq", `Question ${n}: where is my invoice?`, { metadata: { tenant: `tenant-${n}`, tags } });
  }
  const circuits = outage.circuits().map((c) => `${c.model} ${c.state}`);
  console.log(`  circuits now: ${circuits.join(", ")}`); // what a health endpoint would show

  // One record per request, with every provider call it made, each priced at its own model.
  await tracker.flush();
  const records = await ledger.read();
  console.log("\n4. The ledger: each request's calls (purpose, model, outcome), who answered, the cost");
  for (const r of records) {
    const who = [r.task, r.tenant].filter(Boolean).join(" ").padEnd(17);
    const cost = r.cost.priced ? `$${r.cost.usd.toFixed(6)}` : "unpriced";
    const calls = r.attempts.map((a) => `${a.purpose} ${a.model} ${a.error?.status ?? a.status}`);
    console.log(
      `  ${who} ${r.status.padEnd(5)} ${(r.model ?? "-").padEnd(17)} ${cost}  ${calls.join(", ") || "no call"}`,
    );
  }
  const t = report(records);
  const pct = (x: number | null) => `${Math.round((x ?? 0) * 100)}%`;
  console.log(
    `\n  ${t.requests} requests (${t.ok} answered, ${t.errors} failed), cost $${t.totals.costUsd.toFixed(6)}`,
  );
  console.log(`  saved $${t.totals.savingsUsd.toFixed(6)} against sending every answer to ${STRONG}`);
  console.log(
    `  escalation ${pct(t.escalationRate)}, fallback ${pct(t.fallbackRate)}, retry ${pct(t.retryRate)}`,
  );
} catch (error) {
  console.error(`\nThe example failed: ${String(error)}`);
  process.exitCode = 1;
} finally {
  await tracker.close();
  await Promise.all([fakeOpenAI.close(), fakeAnthropic.close()]);
}
