/**
 * What the tenant budget check adds per request, in-process so that only
 * the check is measured: llm.chat on a provider that answers at once, with
 * no middleware, then with `budget()` and a daily tenant limit on memory
 * counters and on Redis counters (the local server, `REDIS_URL` to point
 * elsewhere). Each budgeted call bounds its input from its bytes, prices the
 * worst case, reserves it and settles the actual cost. Redis commands are
 * counted on the budget's own connection: one Lua script to reserve, one to
 * settle (issue target: 2 round trips at most per request).
 */
import { Redis } from "ioredis";
import { type ChatRequestInput, createClient, memoryCounters } from "../src/index.js";
import { budget } from "../src/middleware/budget/index.js";
import { redisCounters } from "../src/storage/redis/index.js";
import { type BenchOptions, measure, type Plan, type Variant } from "./harness.js";
import { input, instant } from "./overhead-inprocess.js";
import { type Summary, signed, target } from "./stats.js";

export const name = "budget";

const request: ChatRequestInput = { ...input, maxOutputTokens: 256, metadata: { tenant: "bench" } };
const limits = [{ scope: "tenant" as const, window: "day" as const, limitUsd: 1e9 }];

export async function run({ quick }: BenchOptions): Promise<void> {
  const bare = createClient({ providers: { openai: instant } });
  const inMemory = createClient({
    providers: { openai: instant },
    middleware: [budget({ counters: memoryCounters(), limits })],
  });
  const redis = await connect(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
  const keyPrefix = `frugal-bench-budget-${process.pid}:`;
  const inRedis =
    redis &&
    createClient({
      providers: { openai: instant },
      middleware: [budget({ counters: redisCounters({ client: redis, keyPrefix }), limits })],
    });

  const plan: Plan = quick
    ? { warmup: 300, rounds: 4, perRound: 250 }
    : { warmup: 1_000, rounds: 10, perRound: 1_000 };
  const variants: Variant[] = [
    { label: "(a) llm.chat, empty pipeline", call: () => bare.chat(request) },
    { label: "(b) llm.chat, budget + memory counters", call: () => inMemory.chat(request) },
  ];
  if (inRedis)
    variants.push({ label: "(c) llm.chat, budget + Redis counters", call: () => inRedis.chat(request) });
  const { summaries } = await measure(
    "In-process: llm.chat without a budget, and with a tenant day limit on memory and on Redis counters",
    plan,
    variants,
    { baseline: 0, ratios: false },
  );
  const [a, b, c] = summaries as [Summary, Summary, Summary | undefined];
  console.log(`\n  info    budget check, memory counters: ${signed(b.p50 - a.p50)} µs median per request`);
  if (!redis || !c) {
    console.log("  info    Redis unreachable: the Redis variant and the round-trip count are skipped");
    return;
  }
  console.log(
    `  info    budget check, Redis counters:  ${signed(c.p50 - a.p50)} µs median per request (loopback)`,
  );

  const calls = quick ? 200 : 1_000;
  const sent = countCommands(redis);
  for (let i = 0; i < calls; i++) await inRedis!.chat(request);
  const perRequest = sent.count() / calls;
  sent.restore();
  await sweep(redis, `${keyPrefix}*`);
  await redis.quit();
  console.log(
    target("Redis round trips per budgeted request: 2 at most", perRequest.toFixed(2), perRequest <= 2),
  );
}

/** The client, once it answers PING; undefined when Redis is not there. */
async function connect(url: string): Promise<Redis | undefined> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest: 1 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.ping();
    return client;
  } catch {
    client.disconnect();
    return undefined;
  }
}

/** Counts the commands the client sends; nothing is pipelined here, so each is one round trip. */
function countCommands(client: Redis): { count(): number; restore(): void } {
  const original = client.sendCommand.bind(client);
  let sent = 0;
  client.sendCommand = ((...args: Parameters<Redis["sendCommand"]>) => {
    sent++;
    return original(...args);
  }) as Redis["sendCommand"];
  return {
    count: () => sent,
    restore: () => {
      client.sendCommand = original;
    },
  };
}

async function sweep(client: Redis, pattern: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", 1_000);
    cursor = next;
    if (keys.length) await client.unlink(...keys);
  } while (cursor !== "0");
}
