import { z } from "zod";
import { type AdmissionOptions, bypassReason, isStorable } from "../../caching/admission.js";
import { type CacheEntry, parseEntry, serializeEntry, toCacheEntry } from "../../caching/entry.js";
import { scopedKey, scopeOf, tenantPrefix, tenantScope } from "../../caching/scope.js";
import type { RequestContext } from "../../core/context.js";
import type { Middleware, Next } from "../../core/middleware.js";
import { parseOptions } from "../../core/options.js";
import type { Reply } from "../../core/reply.js";
import type { KeyValueStore } from "../../storage/kv.js";
import { hitReply, savedOf } from "./hit.js";
import { requestKey, resolvedModel } from "./request-key.js";
import { type Lead, SingleFlight } from "./single-flight.js";
import { GuardedStore, reporter, type StoreErrorInfo } from "./store-lock.js";

export { canonicalJson, requestKey } from "./request-key.js";
export type { StoreErrorInfo } from "./store-lock.js";

declare module "../../core/context.js" {
  interface ContextState {
    /**
     * The store key `exactCache` used for this request (tenant scope, policy
     * version, request key), for `purgeKey`. Absent when the request bypassed
     * the cache.
     */
    exactCacheKey?: string;
  }
}

export interface ExactCacheOptions {
  /** Where entries and stampede locks live: `memoryKv()` in one process, `redisKv()` shared by several. */
  store: KeyValueStore;
  /**
   * How long an answer is kept, in milliseconds. Default 3,600,000 (1 hour).
   * `0` stores nothing (only tasks listed in `ttlByTask` are cached);
   * `Infinity` keeps answers until the store evicts them. Must be a
   * non-negative integer or `Infinity`.
   */
  ttlMs?: number;
  /**
   * TTL per `metadata.task`, in milliseconds, overriding `ttlMs` for that
   * task: `{ faq: 86_400_000, news: 0 }`. `0` means that task is never
   * cached; `Infinity` means no expiry. Requests without a task use `ttlMs`.
   */
  ttlByTask?: Record<string, number>;
  /**
   * Part of every key. Change it when anything outside the request changes
   * answers (a new system-prompt policy, a router's rules, a provider
   * endpoint behind the same provider name): old entries stop being served
   * at once and expire by their TTL. Default `"1"`; any non-empty string.
   */
  policyVersion?: string;
  /**
   * One cache for every tenant. Default `false`: each tenant (and the
   * requests with no tenant) has its own scope, and nothing is ever served
   * across tenants. Set it only when answers are not tenant data: a shared
   * cache also refuses personalized requests (`metadata.user`) and
   * tool-derived ones.
   */
  shared?: boolean;
  /** What may be cached: temperature limit (default 1) and side-effect tools. See `AdmissionOptions`. */
  admission?: Omit<AdmissionOptions, "shared">;
  /**
   * How long one process may hold the stampede lock of a key, and how long
   * another waits for its answer before calling the provider itself, in
   * milliseconds. Default 30,000. Set it above the usual duration of a call:
   * past it, a waiting process makes a second call. `0` turns the
   * cross-process lock off (concurrent misses within one process still make
   * one call). Must be a non-negative integer.
   */
  lockTtlMs?: number;
  /** How often a process waiting for another's answer reads the store, in milliseconds. Default 50; a positive integer. */
  lockPollMs?: number;
  /**
   * Receives store failures (Redis down, a timeout): the request then goes
   * on as a miss, or without storing, and never fails because of the cache.
   * Default: a warning through the client's logger, at most one per
   * operation every 10 seconds.
   */
  onError?: (error: unknown, info: StoreErrorInfo) => void;
}

/** The exact cache middleware, with its purge API. */
export interface ExactCache extends Middleware {
  /**
   * Removes every entry of one tenant's scope (every policy version);
   * `undefined` names the requests that carry no tenant. In a shared cache
   * every tenant's answers live in one scope, so this empties it whatever
   * tenant is named. Resolves with how many keys were removed; a store
   * failure rejects.
   */
  purgeTenant(tenant: string | undefined): Promise<number>;
  /**
   * Removes one entry: `key` is a store key (`completion.meta.state.exactCacheKey`,
   * or `keyFor(ctx)`) or a bare request key (`requestKey(...)`, 64 hex
   * characters, taken under the current policy version). A store key outside
   * `tenant`'s scope is refused. Resolves with whether an entry was removed.
   */
  purgeKey(tenant: string | undefined, key: string): Promise<boolean>;
  /** The store key of a request's answer (whether or not the request may be cached). */
  keyFor(ctx: RequestContext): string;
}

const PREFIX = "frugal:x";
const ttl = z.union([z.number().int().nonnegative(), z.literal(Number.POSITIVE_INFINITY)]);

const optionsSchema = z
  .object({
    store: z.custom<KeyValueStore>(
      (s) =>
        typeof (s as KeyValueStore)?.get === "function" &&
        typeof (s as KeyValueStore)?.setIfAbsent === "function" &&
        typeof (s as KeyValueStore)?.deletePrefix === "function",
      "expected a KeyValueStore such as memoryKv() or redisKv({ client })",
    ),
    ttlMs: ttl.default(3_600_000),
    ttlByTask: z.record(z.string(), ttl).default({}),
    policyVersion: z.string().min(1).default("1"),
    shared: z.boolean().default(false),
    admission: z
      .object({
        maxTemperature: z.number().nonnegative().optional(),
        sideEffectTools: z.array(z.string()).readonly().optional(),
      })
      .strict()
      .default({}),
    lockTtlMs: z.number().int().nonnegative().default(30_000),
    lockPollMs: z.number().int().positive().default(50),
    onError: z.function().optional(),
  })
  .strict();

/**
 * Serves an identical earlier request's answer from a store, with no
 * provider call: same tenant, same policy version, and a request equal in
 * everything that can change the answer (see `requestKey`). Only complete
 * answers are stored; a hit is replayed as a stream when the caller
 * streamed, costs $0, and records what it saved. Concurrent misses for one
 * key make one provider call, in one process and, through a lock in the
 * store, across processes.
 *
 * @example
 * const cache = exactCache({ store: memoryKv(), ttlByTask: { faq: 86_400_000 } });
 * const llm = createClient({ providers, middleware: [costTracker(), cache] });
 * await cache.purgeTenant("acme");
 */
export function exactCache(options: ExactCacheOptions): ExactCache {
  const o = parseOptions(optionsSchema, options, "exactCache");
  const admission: AdmissionOptions = { ...o.admission, shared: o.shared };
  const flights = new SingleFlight();
  const store = new GuardedStore(o.store, reporter(options.onError));

  const keyFor = (ctx: RequestContext) =>
    scopedKey(
      PREFIX,
      tenantScope(ctx, o.shared),
      `${o.policyVersion}:${requestKey(ctx.request, resolvedModel(ctx))}`,
    );
  const ttlOf = (ctx: RequestContext) => {
    const task = ctx.request.metadata?.task;
    return (task !== undefined && Object.hasOwn(o.ttlByTask, task) ? o.ttlByTask[task] : o.ttlMs) ?? 0;
  };

  /**
   * Serves a stored entry, or undefined when it is malformed, not this
   * scope's, or older than this request's TTL (then: a miss). The task is
   * not in the key, so an entry stored under a longer task TTL is checked
   * against the reader's own.
   */
  function serve(ctx: RequestContext, text: string, ttlMs: number): Reply | undefined {
    const entry = parseEntry(text);
    const p = entry?.provenance;
    if (!entry || p?.policyVersion !== o.policyVersion || p.tenant !== tenantScope(ctx, o.shared)) return;
    if (!isAnswer(entry.completion)) return;
    if (ttlMs !== Number.POSITIVE_INFINITY && !(ctx.clock.now() - Date.parse(p.storedAt) <= ttlMs)) return;
    return hitReply(ctx, entry.completion, "exact", savedOf(entry.completion));
  }

  /** The leader of a miss: waits for another process's answer or calls the provider, then stores. */
  async function lead(ctx: RequestContext, next: Next, key: string, ttlMs: number): Promise<Lead> {
    const claim = await store.claim(ctx, key, o.lockTtlMs, o.lockPollMs);
    if (claim.entry !== undefined) {
      const reply = serve(ctx, claim.entry, ttlMs);
      if (reply) return { reply, kind: "exact" };
    }
    const release = claim.entry === undefined ? claim.release : async () => {};
    ctx.state.cache = { status: "miss", kind: "exact" };
    let reply: Reply;
    try {
      reply = await next(ctx);
    } catch (error) {
      void release();
      throw error;
    }
    // Stored only once the answer is complete: for a stream, once it was read to its normal end.
    const done = reply.completion
      .then(
        async (completion) => {
          // A layer below that served the answer from its own cache made no call: not ours to store.
          if (ctx.state.cache?.status === "hit" || !isStorable(completion, ctx)) return;
          const entry: CacheEntry = toCacheEntry(
            completion,
            { tenant: tenantScope(ctx, o.shared), requestId: ctx.id, policyVersion: o.policyVersion },
            ctx.clock.now(),
          );
          await store.set(
            ctx,
            key,
            serializeEntry(entry),
            ttlMs === Number.POSITIVE_INFINITY ? undefined : ttlMs,
          );
        },
        () => {}, // A failure, a cut or an aborted stream is never stored.
      )
      .finally(release);
    return { reply, kind: "dedupe", done };
  }

  return {
    name: "exactCache",
    async handle(ctx, next) {
      const reason = bypassReason(ctx.request, admission);
      const ttlMs = ttlOf(ctx);
      if (reason !== undefined || ttlMs === 0) {
        ctx.state.cache = { status: "bypass", kind: "exact" };
        return next(ctx);
      }
      const key = keyFor(ctx);
      ctx.state.exactCacheKey = key;
      const stored = await store.get(ctx, key);
      const hit = stored === undefined ? undefined : serve(ctx, stored, ttlMs);
      if (hit) return hit;
      return flights.run(key, ctx, (leadCtx) => lead(leadCtx, next, key, ttlMs));
    },
    async purgeTenant(tenant) {
      return o.store.deletePrefix(tenantPrefix(PREFIX, scopeOf(tenant, o.shared)));
    },
    async purgeKey(tenant, key) {
      const prefix = tenantPrefix(PREFIX, scopeOf(tenant, o.shared));
      let full: string;
      if (/^[0-9a-f]{64}$/.test(key)) full = `${prefix}${o.policyVersion}:${key}`;
      else if (key.startsWith(prefix)) full = key;
      else
        throw new RangeError(`exactCache.purgeKey: the key is not in the scope of tenant ${String(tenant)}`);
      return (await o.store.delete(full)) > 0;
    },
    keyFor,
  };
}

/** The fields a hit reads, there and of the right kind: a corrupted entry is a miss, never a broken reply. */
function isAnswer(c: CacheEntry["completion"]): boolean {
  return (
    Array.isArray(c.content) &&
    Array.isArray(c.toolCalls) &&
    typeof c.text === "string" &&
    typeof c.finishReason === "string" &&
    typeof c.usage?.outputTokens === "number" &&
    typeof c.cost?.priced === "boolean"
  );
}
