import { createHash } from "node:crypto";
import type { Cluster, Redis } from "ioredis";
import { z } from "zod";
import { parseOptions } from "../../core/options.js";
import type { ReserveResult, SpendCounters, SpendStatus, SpendWindow } from "../memory/counters.js";

export interface RedisCountersOptions {
  /** The host's ioredis client (`Redis` or `Cluster`). The counters never connect, quit or disconnect it. */
  client: Redis | Cluster;
  /**
   * Prepended to every key, before the hash tag, so several services can share a
   * database. Default `""`. Leave hash tags (`{...}`) out of it: the tag of each
   * key is its scope (`{frugal:budget:tenant:acme}`).
   */
  keyPrefix?: string;
  /**
   * How long a settled hold id is remembered, so that a repeated settle is
   * ignored, in ms. Default 600,000 (10 minutes: settles are retried for about 20 s); a positive integer.
   */
  dedupeMs?: number;
}

const optionsSchema = z
  .object({
    client: z.custom<Redis | Cluster>(
      (c) => typeof (c as Redis)?.evalsha === "function" && typeof (c as Redis)?.eval === "function",
      "expected an ioredis client (new Redis(...) or new Cluster(...))",
    ),
    keyPrefix: z.string().default(""),
    dedupeMs: z.number().int().positive().default(600_000),
  })
  .strict();

// Keys of one scope, all under one hash tag so that each script touches one Cluster slot:
//   KEYS[1] holds    ZSET  hold id -> expiry (ms)
//   KEYS[2] held     HASH  "total" -> micro-dollars held; "h:<id>" -> one hold's amount
//   KEYS[3] settled  ZSET  settled hold id -> settle time (ms), kept `dedupeMs`
//   KEYS[4..] one HASH per window: "s" -> settled micro-dollars, or "<bucket>" -> micro-dollars (rolling)
// Expired holds are swept in batches of 500 (Lua's unpack has a stack limit).
const COMMON = `
local now = tonumber(ARGV[1])
local function sweep()
  while true do
    local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 500)
    if #gone == 0 then return end
    local fields = {}
    for i, id in ipairs(gone) do fields[i] = 'h:' .. id end
    local freed = 0
    for _, a in ipairs(redis.call('HMGET', KEYS[2], unpack(fields))) do
      if a then freed = freed + tonumber(a) end
    end
    redis.call('HDEL', KEYS[2], unpack(fields))
    redis.call('ZREM', KEYS[1], unpack(gone))
    if freed ~= 0 then redis.call('HINCRBY', KEYS[2], 'total', -freed) end
  end
end
local function spent(key, span, bucket)
  if span == 0 then return tonumber(redis.call('HGET', key, 's') or '0') end
  local first = math.floor((now - span) / bucket)
  local all = redis.call('HGETALL', key)
  local sum, stale = 0, {}
  for i = 1, #all, 2 do
    if tonumber(all[i]) >= first then sum = sum + tonumber(all[i + 1]) else stale[#stale + 1] = all[i] end
  end
  if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
  return sum
end
local function extend(key, ms)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end
`;

// ARGV: now, id, amount, holdTtl, then per window: limit, span (0: calendar), bucketMs.
// Returns {status, refusedBy (1-based, 0 none), held, settled...}; status 1 ok, 0 refused, -1 already settled.
const RESERVE = `${COMMON}
local id, amount, ttl = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
sweep()
if redis.call('ZSCORE', KEYS[3], id) then return {-1, 0, 0} end
local held = tonumber(redis.call('HGET', KEYS[2], 'total') or '0')
local settled, refused = {}, 0
for i = 1, #KEYS - 3 do
  local a = 5 + (i - 1) * 3
  settled[i] = spent(KEYS[3 + i], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]))
end
local existing = redis.call('HGET', KEYS[2], 'h:' .. id)
if existing then
  held = held - tonumber(existing)
else
  for i = 1, #settled do
    if settled[i] + held + amount > tonumber(ARGV[5 + (i - 1) * 3]) then refused = i break end
  end
  if refused == 0 then
    redis.call('HSET', KEYS[2], 'h:' .. id, amount)
    redis.call('HINCRBY', KEYS[2], 'total', amount)
    redis.call('ZADD', KEYS[1], now + ttl, id)
    extend(KEYS[1], ttl + 60000)
    extend(KEYS[2], ttl + 60000)
  end
end
local out = {refused == 0 and 1 or 0, refused, held}
for i = 1, #settled do out[3 + i] = settled[i] end
return out
`;

// ARGV: now, id, actual, dedupeMs, then per window: ttl, span (0: calendar), bucket index.
// Returns 1 when applied, 0 for a repeat.
const SETTLE = `${COMMON}
local id, actual, keep = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - keep)
if redis.call('ZSCORE', KEYS[3], id) then return 0 end
local amount = redis.call('HGET', KEYS[2], 'h:' .. id)
if amount then
  redis.call('HDEL', KEYS[2], 'h:' .. id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('HINCRBY', KEYS[2], 'total', -tonumber(amount))
end
if actual > 0 then
  for i = 1, #KEYS - 3 do
    local a = 5 + (i - 1) * 3
    local field = tonumber(ARGV[a + 1]) == 0 and 's' or ARGV[a + 2]
    redis.call('HINCRBY', KEYS[3 + i], field, ARGV[3])
    extend(KEYS[3 + i], tonumber(ARGV[a]))
  end
end
redis.call('ZADD', KEYS[3], now, id)
extend(KEYS[3], keep)
return 1
`;

// ARGV: now, then per window: span (0: calendar), bucketMs. Returns {held, settled...}.
const STATUS = `${COMMON}
sweep()
local out = {tonumber(redis.call('HGET', KEYS[2], 'total') or '0')}
for i = 1, #KEYS - 3 do
  out[1 + i] = spent(KEYS[3 + i], tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1]))
end
return out
`;

/**
 * Spend counters in the host's Redis, shared by every process: one Lua
 * script per operation, so a reserve or a settle is one atomic round trip
 * (two after a Redis restart, while the script is loaded again). Each
 * scope's keys share the hash tag `{frugal:budget:<scope>}`, so on Redis
 * Cluster every script touches one slot. Amounts are integer micro-dollars;
 * window keys expire after their window, holds after their TTL, settled ids
 * after `dedupeMs`.
 *
 * Errors (Redis down, a timeout) reject the returned promise: the budget
 * middleware applies the host's `onStoreError` policy.
 *
 * @example
 * import { Redis } from "ioredis";
 * const counters = redisCounters({ client: new Redis(process.env.REDIS_URL), keyPrefix: "myapp:" });
 * const spend = budget({ counters, limits: [{ scope: "tenant", window: "day", limitUsd: 5 }] });
 */
export function redisCounters(options: RedisCountersOptions): SpendCounters {
  const { client, keyPrefix, dedupeMs } = parseOptions(optionsSchema, options, "redisCounters");
  const scripts = { reserve: script(RESERVE), settle: script(SETTLE), status: script(STATUS) };

  async function run(which: keyof typeof scripts, keys: string[], args: (string | number)[]) {
    const s = scripts[which];
    try {
      return (await client.evalsha(s.sha, keys.length, ...keys, ...args)) as unknown;
    } catch (error) {
      // After a restart (or SCRIPT FLUSH) the server has forgotten the script: send it whole once.
      if (!String((error as Error)?.message).startsWith("NOSCRIPT")) throw error;
      return (await client.eval(s.lua, keys.length, ...keys, ...args)) as unknown;
    }
  }

  const keysOf = (scope: string, windows: readonly SpendWindow[]): string[] => {
    if (/[{}]/.test(scope)) throw new RangeError(`redisCounters: a scope may not hold '{' or '}' (${scope})`);
    const tag = `${keyPrefix}{frugal:budget:${scope}}:`;
    return [`${tag}holds`, `${tag}held`, `${tag}settled`, ...windows.map((w) => `${tag}w:${w.id}`)];
  };

  return {
    name: "redis",
    async reserve(scope, windows, hold, nowMs): Promise<ReserveResult> {
      const args: (string | number)[] = [nowMs, hold.id, micros(hold.amountMicros), Math.ceil(hold.ttlMs)];
      for (const w of windows)
        args.push(micros(w.limitMicros), w.rolling?.spanMs ?? 0, w.rolling?.bucketMs ?? 1);
      const out = (await run("reserve", keysOf(scope, windows), args)) as number[];
      if (out[0] === -1) throw new Error(`redisCounters: hold ${hold.id} was already settled`);
      return {
        ok: out[0] === 1,
        refusedBy: out[1]! - 1,
        heldMicros: out[2]!,
        settledMicros: windows.map((_, i) => out[3 + i] ?? 0),
      };
    },
    async settle(scope, windows, holdId, actualMicros, nowMs) {
      const args: (string | number)[] = [nowMs, holdId, micros(actualMicros), dedupeMs];
      for (const w of windows) {
        const bucket = w.rolling ? Math.floor(nowMs / w.rolling.bucketMs) : 0;
        args.push(Math.ceil(w.ttlMs), w.rolling?.spanMs ?? 0, bucket);
      }
      return (await run("settle", keysOf(scope, windows), args)) === 1;
    },
    async status(scope, windows, nowMs): Promise<SpendStatus> {
      const args: (string | number)[] = [nowMs];
      for (const w of windows) args.push(w.rolling?.spanMs ?? 0, w.rolling?.bucketMs ?? 1);
      const out = (await run("status", keysOf(scope, windows), args)) as number[];
      return { heldMicros: out[0]!, settledMicros: windows.map((_, i) => out[1 + i] ?? 0) };
    },
  };
}

function script(lua: string): { lua: string; sha: string } {
  return { lua, sha: createHash("sha1").update(lua).digest("hex") };
}

/** Whole micro-dollars only: a fraction would make HINCRBY fail. */
function micros(value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`redisCounters: amounts are non-negative integer micro-dollars (got ${value})`);
  }
  return value;
}
