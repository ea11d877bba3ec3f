// A multi-tenant service with free and paid plans:
//
//   node --import tsx examples/multi-tenant.ts
//
// Each tenant has a daily spend limit by plan. A free tenant past its soft
// limit is served by a cheaper model; past its hard limit it is refused with a
// typed error before any provider call. Work that can wait goes through the
// batch APIs at half price. Every request lands in the ledger; the report at
// the end shows spend by tenant. Runs against a local stand-in for the
// provider APIs (no keys, no network).
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
// In your app: `from "frugal-llm"`. The example imports the source so it runs without a build.
import {
  anthropic,
  BudgetExceededError,
  batch,
  budget,
  costTracker,
  createClient,
  formatReport,
  memoryCounters,
  memoryKv,
  memoryLedger,
  openai,
  report,
} from "../src/index.js";
import { startFakeAnthropic, startFakeOpenAI } from "../test/fakes/index.js";

const PLANS = {
  free: { limitUsd: 0.002, softLimitUsd: 0.0008 },
  paid: { limitUsd: 5, softLimitUsd: 4 },
} as const;
// Your service knows each tenant's plan; the budget asks for it per request.
const planOf = (tenant: string | undefined) => (tenant === "globex" ? PLANS.paid : PLANS.free);

// What the stand-ins answer: long enough that a free plan's budget runs out in a few calls.
const longAnswer = Array.from({ length: 40 }, (_, i) => `step${i}`).join(" ");
const fakeOpenAI = await startFakeOpenAI({ defaultText: () => longAnswer });
const fakeAnthropic = await startFakeAnthropic({ defaultText: () => longAnswer });
const openaiSdk = new OpenAI({ apiKey: "sk-demo", baseURL: fakeOpenAI.baseURL });
const anthropicSdk = new Anthropic({ apiKey: "demo", baseURL: fakeAnthropic.baseURL });
console.log("Using a local stand-in for the OpenAI and Anthropic APIs; nothing leaves this machine.\n");

const ledger = memoryLedger();
const tracker = costTracker({ ledger });
const spend = budget({
  limits: [
    {
      scope: "tenant",
      window: "day",
      limitUsd: (ctx) => planOf(ctx.request.metadata?.tenant).limitUsd,
      softLimitUsd: (ctx) => planOf(ctx.request.metadata?.tenant).softLimitUsd,
    },
  ],
  counters: memoryCounters(), // redisCounters({ client }) when several instances share the limits
  timeZone: "Europe/Paris",
  degrade: { model: "openai:gpt-4o-mini" },
});
const batcher = batch({
  openai: openaiSdk,
  anthropic: anthropicSdk,
  store: memoryKv(), // redisKv({ client }) so that a restart loses no queued request
  maxItems: 10,
  maxAgeMs: 100,
  pollIntervalMs: 50,
});
const llm = createClient({
  providers: { openai: openai(openaiSdk), anthropic: anthropic(anthropicSdk) },
  // Outermost first: the tracker sees everything, the budget checks before the batch defers.
  middleware: [tracker, spend, batcher],
});

const ask = (tenant: string, content: string, maxOutputTokens = 60) =>
  llm.chat({
    model: "anthropic:claude-haiku-4-5",
    messages: [{ role: "user", content }],
    maxOutputTokens,
    metadata: { tenant, task: "support" },
  });

try {
  for (const tenant of ["initech", "globex"]) {
    console.log(`${tenant} (${tenant === "globex" ? "paid" : "free"} plan)`);
    for (let i = 1; i <= 6; i++) {
      try {
        const res = await ask(tenant, `Question ${i}: how do I reset my password?`, i === 6 ? 4000 : 60);
        const route = res.meta.state.route?.tier === "degraded" ? " (degraded: over the soft limit)" : "";
        console.log(`  ${i}. ${res.provider}:${res.model}${route}  $${res.cost.usd?.toFixed(6)}`);
      } catch (error) {
        if (!(error instanceof BudgetExceededError)) throw error;
        console.log(`  ${i}. refused before any provider call: ${error.message}`);
      }
    }
  }

  // Work that can wait: half price through the batch API, each caller still gets its own answer.
  console.log("\nglobex, a deferrable report (batch API)");
  const deferred = await llm.chat({
    model: "openai:gpt-4o-mini",
    messages: [{ role: "user", content: "Summarize last month's tickets." }],
    metadata: { tenant: "globex", task: "report", priority: "deferrable" },
  });
  const source = deferred.cost.priced ? deferred.cost.source : deferred.cost.reason;
  console.log(`  ${deferred.provider}:${deferred.model}  $${deferred.cost.usd?.toFixed(6)}  (${source})`);

  await tracker.flush();
  console.log(`\n${formatReport(report(await ledger.read()))}`);
} catch (error) {
  console.error(`\nThe example failed: ${String(error)}`);
  process.exitCode = 1;
} finally {
  await batcher.close();
  await tracker.close();
  await Promise.all([fakeOpenAI.close(), fakeAnthropic.close()]);
}
