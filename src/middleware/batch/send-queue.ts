import type { Clock } from "../../core/context.js";
import type { JobRecord } from "./job-store.js";
import type { BatchTimers } from "./options.js";

export interface SendQueueLimits {
  maxItems: number;
  maxTokens: number;
  maxAgeMs: number;
  clock: Clock;
  timers: BatchTimers;
}

/**
 * The jobs of this instance that wait for a batch, by group (provider and model), oldest
 * first. A group is due when it holds `maxItems` jobs or `maxTokens` tokens, or when its oldest
 * job has waited `maxAgeMs`; `onDue` is then called (at once for size and volume, from a timer
 * for age). After a failed upload a group is retried at a set time instead, and not before.
 */
export class SendQueue {
  readonly #groups = new Map<string, { jobs: JobRecord[]; tokens: number }>();
  readonly #timers = new Map<string, { handle: unknown; at: number }>();
  readonly #retryAt = new Map<string, number>();
  readonly #announced = new Set<string>();

  constructor(
    private readonly limits: SendQueueLimits,
    private readonly onDue: (group: string) => void,
  ) {}

  /** Queues jobs at the back (new ones) or the front (ones going back after a failed upload). */
  add(group: string, jobs: readonly JobRecord[], where: "back" | "front" = "back"): void {
    let g = this.#groups.get(group);
    if (!g) {
      g = { jobs: [], tokens: 0 };
      this.#groups.set(group, g);
    }
    if (where === "back") g.jobs.push(...jobs);
    else g.jobs.unshift(...jobs);
    for (const job of jobs) g.tokens += job.tokens;
    this.#check(group);
  }

  /** Removes a job that no longer needs sending; true when it was queued here. */
  remove(group: string, id: string): boolean {
    const g = this.#groups.get(group);
    const at = g?.jobs.findIndex((j) => j.id === id) ?? -1;
    if (!g || at < 0) return false;
    g.tokens -= g.jobs.splice(at, 1)[0]!.tokens;
    return true;
  }

  /** After a failed upload: the group is due at `at`, and not before, whatever its size or age. */
  retryAt(group: string, at: number): void {
    this.#retryAt.set(group, at);
    this.#arm(group);
  }

  /**
   * Takes the next batch of a due group (or of any non-empty group when `force`): up to
   * `maxItems` jobs and `maxTokens` tokens, and at least one job, whatever its size.
   */
  take(group: string, force: boolean): JobRecord[] | undefined {
    const g = this.#groups.get(group);
    if (!g || g.jobs.length === 0 || !(force || this.#due(group))) return undefined;
    this.#retryAt.delete(group);
    let n = 0;
    let tokens = 0;
    while (n < g.jobs.length && n < this.limits.maxItems) {
      const next = g.jobs[n]!.tokens;
      if (n > 0 && tokens + next > this.limits.maxTokens) break;
      tokens += next;
      n++;
    }
    const taken = g.jobs.splice(0, n);
    g.tokens -= tokens;
    this.#arm(group);
    return taken;
  }

  groups(): string[] {
    return [...this.#groups.keys()];
  }

  /** Stops every timer and forgets every job (they stay in the store). */
  clear(): void {
    for (const { handle } of this.#timers.values()) this.limits.timers.clearTimeout(handle);
    this.#timers.clear();
    this.#groups.clear();
    this.#retryAt.clear();
  }

  #due(group: string): boolean {
    const g = this.#groups.get(group);
    if (!g || g.jobs.length === 0) return false;
    const { maxItems, maxTokens, maxAgeMs, clock } = this.limits;
    const now = clock.now();
    const retry = this.#retryAt.get(group);
    if (retry !== undefined) return now >= retry;
    return g.jobs.length >= maxItems || g.tokens >= maxTokens || now - g.jobs[0]!.enqueuedAt >= maxAgeMs;
  }

  /**
   * A due group is announced once, after the current synchronous work: jobs added in one burst
   * (a resume, the failed items of a batch) leave in one batch, not one batch each.
   */
  #check(group: string): void {
    if (!this.#due(group)) {
      this.#arm(group);
      return;
    }
    if (this.#announced.has(group)) return;
    this.#announced.add(group);
    queueMicrotask(() => {
      this.#announced.delete(group);
      if (this.#due(group)) this.onDue(group);
      else this.#arm(group);
    });
  }

  /** One timer per group, for the moment its oldest job comes of age (or its retry is due). */
  #arm(group: string): void {
    const g = this.#groups.get(group);
    if (!g || g.jobs.length === 0) return;
    const at = this.#retryAt.get(group) ?? g.jobs[0]!.enqueuedAt + this.limits.maxAgeMs;
    const armed = this.#timers.get(group);
    // A timer set for later than needed (an age deadline, before a sooner retry) is replaced.
    if (armed && armed.at <= at) return;
    if (armed) this.limits.timers.clearTimeout(armed.handle);
    const handle = this.limits.timers.setTimeout(
      () => {
        this.#timers.delete(group);
        this.#check(group);
      },
      Math.max(0, at - this.limits.clock.now()),
    );
    this.#timers.set(group, { handle, at });
  }
}
