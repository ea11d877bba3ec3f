import { cacheErrorReporter } from "../../caching/error-reporter.js";
import type { RequestContext } from "../../core/context.js";
import { AbortedError } from "../../core/errors.js";
import type { KeyValueStore } from "../../storage/kv.js";

/** A store call that failed, as `onError` receives it. */
export interface StoreErrorInfo {
  /** What the cache was doing: reading an entry, writing one, taking or releasing a stampede lock. */
  operation: "get" | "set" | "lock" | "unlock";
  /** The store key (tenant scope, policy version and request key; no prompt text). */
  key: string;
}

export type StoreErrorHandler = (error: unknown, info: StoreErrorInfo, ctx: RequestContext) => void;

/** What a leader found before calling the provider: an answer another process stored, or the right to call. */
export type Claim = { entry: string } | { entry?: undefined; release: () => Promise<void> };

/**
 * The store as the exact cache uses it: every call is guarded, so an outage
 * is reported and read as "nothing there" (a miss, a write skipped, no lock),
 * never as a failed LLM call.
 */
export class GuardedStore {
  constructor(
    readonly store: KeyValueStore,
    private readonly onError: StoreErrorHandler,
  ) {}

  async get(ctx: RequestContext, key: string): Promise<string | undefined> {
    try {
      return await this.store.get(key);
    } catch (error) {
      this.onError(error, { operation: "get", key }, ctx);
      return undefined;
    }
  }

  async set(ctx: RequestContext, key: string, value: string, ttlMs: number | undefined): Promise<void> {
    try {
      await this.store.set(key, value, ttlMs);
    } catch (error) {
      this.onError(error, { operation: "set", key }, ctx);
    }
  }

  /**
   * Cross-process stampede protection for one key. Takes a lock
   * (`setIfAbsent(key + ":lock", requestId, lockTtlMs)`); whoever holds it
   * calls the provider, stores the answer, then releases it. Whoever does not
   * polls the store every `pollMs`: it is served the entry as soon as it
   * appears, or takes the lock when it is free again (the holder failed and
   * released it, or died and it expired), so that after a failure the
   * waiters call the provider one at a time, never all at once. After
   * `lockTtlMs` of waiting it calls the provider without the lock.
   *
   * With `lockTtlMs` 0 there is no lock: the entry is read once more.
   */
  async claim(ctx: RequestContext, key: string, lockTtlMs: number, pollMs: number): Promise<Claim> {
    const noLock = { release: async () => {} };
    if (lockTtlMs === 0) {
      const entry = await this.get(ctx, key);
      return entry === undefined ? noLock : { entry };
    }
    const lockKey = `${key}:lock`;
    const deadline = performance.now() + lockTtlMs;
    for (;;) {
      let won: boolean;
      try {
        won = await this.store.setIfAbsent(lockKey, ctx.id, lockTtlMs);
      } catch (error) {
        this.onError(error, { operation: "lock", key: lockKey }, ctx);
        return noLock; // No lock to be had: call the provider rather than fail the call.
      }
      if (won) {
        const takenAt = performance.now();
        const release = async () => {
          // Past its TTL the lock may be someone else's by now: leave it to expire.
          if (performance.now() - takenAt >= lockTtlMs) return;
          try {
            await this.store.delete(lockKey);
          } catch (error) {
            this.onError(error, { operation: "unlock", key: lockKey }, ctx);
          }
        };
        // The answer may have been stored between the caller's read and this lock.
        const entry = await this.get(ctx, key);
        if (entry === undefined) return { release };
        await release();
        return { entry };
      }
      const left = deadline - performance.now();
      if (left <= 0) return noLock;
      await sleep(Math.min(pollMs, left), ctx.signal);
      const entry = await this.get(ctx, key);
      if (entry !== undefined) return { entry };
    }
  }
}

/** The host's onError, or a throttled warning through the client's logger. */
export function reporter(
  onError: ((error: unknown, info: StoreErrorInfo) => void) | undefined,
): StoreErrorHandler {
  return cacheErrorReporter(
    onError,
    (info) => `exactCache: the store failed to ${info.operation}; the call goes on without the cache`,
  );
}

/** Waits `ms`, or rejects with an `AbortedError` as soon as the caller's signal fires. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new AbortedError("the call was aborted while it waited for another process's answer"));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError("the call was aborted while it waited for another process's answer"));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
