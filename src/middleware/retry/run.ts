import { NEVER_ABORTED, type RequestContext } from "../../core/context.js";
import { AbortedError, FrugalError } from "../../core/errors.js";
import type { Next } from "../../core/middleware.js";
import type { Reply } from "../../core/reply.js";
import { callWithIdleTimeout } from "./idle.js";
import { decideRetry, type RetryPolicy } from "./policy.js";

/** Settings of one `retry()` instance, defaults applied. */
export interface RetrySettings extends RetryPolicy {
  idleTimeoutMs: number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  random: () => number;
}

/**
 * The retries of one request: calls `next` until a call is answered or the
 * policy gives up, sleeping between calls. Kept per request so a streamed
 * call that fails before any output can pick up where the count stands.
 */
export class RetryRun {
  /** Calls made so far. */
  #calls = 0;
  readonly #startedAt: number;
  /** Where this request's attempts start in `ctx.attempts`. */
  readonly firstAttempt: number;

  constructor(
    private readonly ctx: RequestContext,
    private readonly next: Next,
    private readonly settings: RetrySettings,
  ) {
    this.#startedAt = ctx.clock.now();
    this.firstAttempt = ctx.attempts.length;
  }

  /** Calls until a reply arrives; rejects with the last failure when the policy gives up. */
  async call(): Promise<Reply> {
    for (;;) {
      try {
        return await this.#once();
      } catch (error) {
        await this.#pause(error);
      }
    }
  }

  /** A streamed call failed before any output reached the caller: wait, then call again, or give up. */
  async resume(error: unknown): Promise<Reply> {
    await this.#pause(error);
    return this.call();
  }

  #once(): Promise<Reply> {
    const first = this.#calls === 0;
    this.#calls++;
    const ctx: RequestContext = first ? this.ctx : { ...this.ctx, purpose: "retry" };
    if (ctx.request.stream === true && Number.isFinite(this.settings.idleTimeoutMs)) {
      return callWithIdleTimeout(ctx, this.next, this.settings.idleTimeoutMs);
    }
    return this.next(ctx);
  }

  /** Resolves once it is time for the next call; rethrows `error` when there is none. */
  async #pause(error: unknown): Promise<void> {
    const { ctx, settings } = this;
    const elapsed = ctx.clock.now() - this.#startedAt;
    const decision = decideRetry(error, this.#calls, elapsed, settings, settings.random);
    if (!decision.retry) {
      if (error instanceof FrugalError && decision.reason !== "not-retryable") {
        ctx.services.log.debug("retry: giving up", {
          requestId: ctx.id,
          reason: decision.reason,
          calls: this.#calls,
        });
      }
      throw error;
    }
    ctx.services.events.emit("retry", {
      requestId: ctx.id,
      model: ctx.request.model,
      attempt: this.#calls + 1,
      delayMs: decision.delayMs,
      error: error as FrugalError,
    });
    if (ctx.signal.aborted) throw aborted(ctx);
    try {
      await settings.sleep(decision.delayMs, ctx.signal);
    } catch (cause) {
      throw ctx.signal.aborted ? aborted(ctx, cause) : cause;
    }
    if (ctx.signal.aborted) throw aborted(ctx);
  }
}

function aborted(ctx: RequestContext, cause: unknown = ctx.signal.reason): AbortedError {
  const error = new AbortedError("the request was aborted by the caller while waiting to retry", { cause });
  error.attempts = ctx.attempts;
  return error;
}

/** The longest delay one timer takes: Node fires a longer one after 1 ms (with a warning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Waits `ms`, or rejects as soon as `signal` fires. A wait past a timer's range is chained timers. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  // Shared by every request without a signal: no listener on it, or they would pile up under a flood.
  if (signal === NEVER_ABORTED) return new Promise((resolve) => chainedTimer(ms, resolve));
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer.current);
      reject(signal.reason);
    };
    const timer = chainedTimer(ms, () => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Calls `done` after `ms`; `current` is the timer to clear to cancel it. */
function chainedTimer(ms: number, done: () => void): { current: ReturnType<typeof setTimeout> } {
  const handle = { current: undefined as unknown as ReturnType<typeof setTimeout> };
  const wait = (left: number) => {
    handle.current = setTimeout(
      () => (left > MAX_TIMER_MS ? wait(left - MAX_TIMER_MS) : done()),
      Math.min(left, MAX_TIMER_MS),
    );
  };
  wait(ms);
  return handle;
}
