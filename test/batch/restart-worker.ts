/**
 * The process that test/batch/restart.test.ts kills: a host with the batch middleware over
 * Redis that queues `count` deferrable requests (alternating OpenAI and Anthropic) and prints
 * each job id with its prompt, one per line, once the batcher has stored the job (the request
 * was accepted). It then keeps polling until it is killed.
 *
 *   node --import tsx test/batch/restart-worker.ts <openai base URL> <anthropic base URL> <key prefix> <count>
 */
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { createClient } from "../../src/client.js";
import type { Middleware } from "../../src/core/middleware.js";
import { batch } from "../../src/middleware/batch/index.js";
import { anthropic } from "../../src/providers/anthropic/index.js";
import { openai } from "../../src/providers/openai/index.js";
import { redisKv } from "../../src/storage/redis/kv.js";
import { redisClient } from "../services.js";

const [openaiURL, anthropicURL, keyPrefix, countText] = process.argv.slice(2);
const count = Number(countText);
if (!openaiURL || !anthropicURL || !keyPrefix || !Number.isInteger(count)) {
  console.error("usage: restart-worker.ts <openai URL> <anthropic URL> <key prefix> <count>");
  process.exit(2);
}

const sdks = () => ({
  openai: new OpenAI({ apiKey: "sk-test-worker", baseURL: openaiURL, maxRetries: 0 }),
  anthropic: new Anthropic({ apiKey: "sk-ant-test-worker", baseURL: anthropicURL, maxRetries: 0 }),
});
const batcher = batch({
  ...sdks(),
  store: redisKv({ client: redisClient(), keyPrefix }),
  // Full batches go out by size; the rest wait (past the kill) for their age.
  maxItems: 40,
  maxAgeMs: 600_000,
  pollIntervalMs: 20,
  onError: (error) => console.error(error),
});
const acknowledge: Middleware = {
  name: "acknowledge",
  async handle(ctx, next) {
    const reply = await next(ctx);
    const content = ctx.request.messages[0]?.content;
    process.stdout.write(`${ctx.state.batch?.jobId}\t${content}\n`);
    return reply;
  },
};
const { openai: o, anthropic: a } = sdks();
const llm = createClient({
  providers: { openai: openai(o), anthropic: anthropic(a) },
  middleware: [acknowledge, batcher],
});

for (let i = 0; i < count; i++) {
  const provider = i % 2 === 0 ? "openai:gpt-4o-mini" : "anthropic:claude-haiku-4-5";
  llm
    .chat({
      model: provider,
      messages: [{ role: "user", content: `question ${i}` }],
      metadata: { priority: "deferrable" },
    })
    .catch((error) => console.error(error));
}
// The batcher's timers are unref'd (they never hold a process open): this one keeps the host alive.
setInterval(() => {}, 1_000);
