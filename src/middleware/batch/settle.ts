import type { Attempt } from "../../core/completion.js";
import type { PriceBook } from "../../core/pricing.js";
import type { EndedBatch, ItemOutcome } from "./batch-client.js";
import type { InFlightBatch, JobRecord } from "./job-store.js";
import type { SettledJob } from "./options.js";
import { failed, itemError, succeeded } from "./result.js";
import type { Waiter, Waiters } from "./waiters.js";

type Failure = Extract<ItemOutcome, { ok: false }>;

/**
 * Each item's outcome, matched by custom id and never by position: the first line of a
 * duplicated id wins, lines for ids outside the batch are ignored, and an item with no line is
 * a `missing` failure (worth another try).
 */
export function outcomesById(batch: InFlightBatch, ended: EndedBatch): Map<string, ItemOutcome> {
  const members = new Set(batch.ids);
  const byId = new Map<string, ItemOutcome>();
  for (const o of ended.outcomes)
    if (members.has(o.customId) && !byId.has(o.customId)) byId.set(o.customId, o);
  for (const id of batch.ids) {
    if (byId.has(id)) continue;
    byId.set(id, {
      customId: id,
      ok: false,
      reason: "missing",
      message: `${batch.provider}: the ended batch has no result for this item (${ended.note})`,
      retryable: true,
    });
  }
  return byId;
}

export interface SettlerOptions {
  waiters: Waiters;
  maxItemRetries: number;
  /** Prices a result nobody in this instance waits for. */
  fallbackPrices: () => PriceBook;
  onSettled: ((job: SettledJob) => void) | undefined;
  report: (error: unknown) => void;
}

/**
 * Moves one item to its next state (done, queued again, failed), records its attempt, and
 * answers its waiters once it is settled. Holds no state of its own.
 */
export class Settler {
  constructor(private readonly o: SettlerOptions) {}

  /** Applies an outcome to a job that was sent; the job ends `done`, `queued` (to send again) or `failed`. */
  apply(job: JobRecord, outcome: ItemOutcome, now: number): void {
    if (outcome.ok) {
      const owner = this.o.waiters.owner(job.id);
      const prices = owner?.ctx?.services.prices ?? this.o.fallbackPrices();
      const { attempt, completion } = succeeded(job, outcome.response, prices, now);
      this.#record(job, attempt, owner);
      job.status = "done";
      job.completion = completion;
      return;
    }
    this.fail(job, outcome, now, outcome.retryable && job.tries <= this.o.maxItemRetries);
  }

  /** Records a failed send; `retry` puts the job back to `queued`, else it fails for good. */
  fail(job: JobRecord, outcome: Failure, now: number, retry: boolean): void {
    this.#record(job, failed(job, outcome, now), this.o.waiters.owner(job.id));
    if (retry) {
      job.status = "queued";
      delete job.batchId;
      delete job.submittedAt;
      return;
    }
    job.status = "failed";
    job.error = {
      message: outcome.message,
      reason: outcome.reason,
      ...(outcome.status !== undefined && { status: outcome.status }),
      ...(outcome.providerRequestId !== undefined && { providerRequestId: outcome.providerRequestId }),
    };
  }

  /** Answers every waiter of a settled job once (the owner with its own meta, others with a copy), and tells the host. */
  finish(job: JobRecord): void {
    const waiters = this.o.waiters.take(job.id);
    for (const w of waiters) {
      const own = w.owner ? w.ctx : undefined;
      if (job.status === "done") {
        const c = job.completion!;
        w.resolve?.(
          own
            ? { ...c, meta: { requestId: own.id, attempts: own.attempts, state: own.state } }
            : structuredClone(c),
        );
      } else {
        w.reject?.(itemError(job, own ? own.attempts : job.attempts));
      }
    }
    try {
      this.o.onSettled?.({
        jobId: job.id,
        requestId: job.requestId,
        status: job.status === "done" ? "done" : "failed",
        ...(job.status === "done"
          ? { completion: job.completion! }
          : { error: itemError(job, job.attempts) }),
        hadCaller: waiters.some((w) => w.resolve !== undefined),
      });
    } catch (error) {
      this.o.report(error);
    }
  }

  /** The attempt joins the job's history and, while its owner is here, the owner's context and events. */
  #record(job: JobRecord, attempt: Attempt, owner: Waiter | undefined): void {
    job.attempts.push(attempt);
    if (!owner?.ctx) return;
    owner.ctx.attempts.push(attempt);
    owner.ctx.services.events.emit("attempt", { requestId: owner.ctx.id, attempt });
  }
}
