import type { Completion } from "../../core/completion.js";
import { NEVER_ABORTED, type RequestContext } from "../../core/context.js";
import { AbortedError } from "../../core/errors.js";

/**
 * Someone this instance answers when a job settles. The owner is the request that queued the
 * job: its attempts are recorded on its context and priced with its client's prices. A
 * detached owner has a context but no promise; a `job(id)` reader has a promise but no context.
 */
export interface Waiter {
  ctx?: RequestContext;
  owner: boolean;
  resolve?(completion: Completion): void;
  reject?(error: Error): void;
  /** Releases the abort listener. */
  release?(): void;
}

/** The waiters of each job; each is answered exactly once, then forgotten. */
export class Waiters {
  readonly #byJob = new Map<string, Waiter[]>();

  add(jobId: string, waiter: Waiter): void {
    const list = this.#byJob.get(jobId);
    if (list) list.push(waiter);
    else this.#byJob.set(jobId, [waiter]);
  }

  /**
   * A promise that settles with the job's answer. An abort of the caller's signal rejects it at
   * once with `AbortedError` and calls `onAbort` (the job itself goes on unless nobody else waits).
   */
  wait(jobId: string, waiter: Omit<Waiter, "resolve" | "reject">, onAbort: () => void): Promise<Completion> {
    return new Promise<Completion>((resolve, reject) => {
      const entry: Waiter = { ...waiter, resolve, reject };
      const signal = waiter.ctx?.signal ?? NEVER_ABORTED;
      if (signal !== NEVER_ABORTED) {
        const abort = () => {
          if (!this.#drop(jobId, entry)) return;
          const error = new AbortedError("the request was aborted by the caller", { cause: signal.reason });
          error.attempts = waiter.ctx?.attempts ?? [];
          reject(error);
          onAbort();
        };
        signal.addEventListener("abort", abort, { once: true });
        entry.release = () => signal.removeEventListener("abort", abort);
      }
      this.add(jobId, entry);
    });
  }

  /** The owner of a job, while it is still here. */
  owner(jobId: string): Waiter | undefined {
    return this.#byJob.get(jobId)?.find((w) => w.owner && w.ctx);
  }

  has(jobId: string): boolean {
    return (this.#byJob.get(jobId)?.length ?? 0) > 0;
  }

  /** Removes and returns a job's waiters, abort listeners released. */
  take(jobId: string): Waiter[] {
    const list = this.#byJob.get(jobId) ?? [];
    this.#byJob.delete(jobId);
    for (const w of list) w.release?.();
    return list;
  }

  /** Removes every waiter of every job, for `close()`. */
  takeAll(): [string, Waiter[]][] {
    return [...this.#byJob.keys()].map((id) => [id, this.take(id)]);
  }

  #drop(jobId: string, waiter: Waiter): boolean {
    const list = this.#byJob.get(jobId);
    const at = list?.indexOf(waiter) ?? -1;
    if (!list || at < 0) return false;
    list.splice(at, 1);
    waiter.release?.();
    if (list.length === 0) this.#byJob.delete(jobId);
    return true;
  }
}
