import { ProviderError } from "../../core/errors.js";
import { fromSdkError } from "../../providers/sdk-calls.js";
import type { Background } from "./background.js";
import type { BatchClient, EndedBatch } from "./batch-client.js";
import type { BatchApi, InFlightBatch, JobRecord, JobStore, QueueIndex } from "./job-store.js";
import type { ResolvedBatchOptions } from "./options.js";
import { SendQueue } from "./send-queue.js";
import { outcomesById, type Settler } from "./settle.js";
import type { Waiters } from "./waiters.js";

/** Statuses that refuse a whole batch for what some items hold: halve it until they stand alone. */
const SPLIT_ON = new Set([400, 413, 422]);

export interface SenderParts {
  clients: ReadonlyMap<BatchApi, BatchClient>;
  store: JobStore;
  settler: Settler;
  waiters: Waiters;
  /** The jobs this instance holds (shared with the runner): queued here or in one of its batches in flight. */
  jobs: Map<string, JobRecord>;
  background: Background;
}

/**
 * Sends queued jobs in batches, polls the batches in flight, and settles each ended batch item
 * by item. Every state change reaches the store, job records before the index, so that a crash
 * between two writes replays a step (at worst sending an item twice) and never skips one.
 */
export class BatchSender {
  readonly #queue: SendQueue;
  readonly #inflight = new Map<string, InFlightBatch>();
  #pollTimer: unknown;
  #polling: Promise<void> | undefined;

  constructor(
    private readonly o: ResolvedBatchOptions,
    private readonly p: SenderParts,
  ) {
    this.#queue = new SendQueue(o, (group) => p.background.run(this.#drain(group, false)));
  }

  /** Holds a queued job and queues it for sending (unless the batcher is closed). */
  hold(job: JobRecord): void {
    this.p.jobs.set(job.id, job);
    if (!this.p.background.closed) this.#queue.add(this.groupOf(job), [job]);
  }

  /** Takes a queued job out before it is sent; false when it is no longer waiting in the queue. */
  unqueue(job: JobRecord): boolean {
    return this.#queue.remove(this.groupOf(job), job.id);
  }

  /** Polls a batch that another instance created (after a restart). */
  adopt(batchId: string, batch: InFlightBatch): void {
    if (!this.#inflight.has(batchId)) this.#inflight.set(batchId, batch);
    this.#armPoll();
  }

  has(batchId: string): boolean {
    return this.#inflight.has(batchId);
  }

  groupOf(job: JobRecord): string {
    return this.p.clients.get(job.provider)!.group(job.model);
  }

  /** Sends every queued job now, whatever the limits. */
  async flush(): Promise<void> {
    await Promise.all(this.#queue.groups().map((group) => this.p.background.track(this.#drain(group, true))));
  }

  poll(): Promise<void> {
    this.#polling ??= this.#pollAll().finally(() => {
      this.#polling = undefined;
    });
    return this.#polling;
  }

  /** Stops the timers and forgets the queue and the batches in flight (they stay in the store). */
  stop(): void {
    this.#queue.clear();
    if (this.#pollTimer !== undefined) this.o.timers.clearTimeout(this.#pollTimer);
    this.#pollTimer = undefined;
    this.#inflight.clear();
  }

  // ---- sending -----------------------------------------------------------------------------

  async #drain(group: string, force: boolean): Promise<void> {
    if (this.p.background.closed) return;
    for (let jobs = this.#queue.take(group, force); jobs; jobs = this.#queue.take(group, force)) {
      // After a failed upload the group waits for its retry time, even in a flush.
      if (!(await this.#submit(group, jobs))) return;
    }
  }

  /** Sends one batch; false when the upload failed and the jobs went back in the queue. */
  async #submit(group: string, jobs: JobRecord[]): Promise<boolean> {
    const { provider, model } = jobs[0]!;
    let batchId: string;
    try {
      batchId = await this.p.clients.get(provider)!.submit(jobs);
    } catch (thrown) {
      const error = fromSdkError(thrown, provider, model);
      const status = error instanceof ProviderError ? error.status : undefined;
      if (jobs.length > 1 && status !== undefined && SPLIT_ON.has(status)) {
        const half = Math.ceil(jobs.length / 2);
        const sent = await Promise.all([
          this.#submit(group, jobs.slice(0, half)),
          this.#submit(group, jobs.slice(half)),
        ]);
        return sent.every(Boolean);
      }
      if (!(error instanceof ProviderError) || error.retryable) {
        // Nothing was sent: the jobs wait a poll interval, then go again.
        this.p.background.report(error);
        this.#queue.retryAt(group, this.o.clock.now() + this.o.pollIntervalMs);
        this.#queue.add(group, jobs, "front");
        return false;
      }
      await this.#refuse(jobs, error.message, status);
      return true;
    }
    const submittedAt = this.o.clock.now();
    for (const job of jobs) {
      Object.assign(job, { status: "sent", batchId, submittedAt, tries: job.tries + 1 });
      const state = this.p.waiters.owner(job.id)?.ctx?.state.batch;
      if (state) state.batchId = batchId;
    }
    const batch: InFlightBatch = { provider, group, ids: jobs.map((j) => j.id), submittedAt };
    // In memory first: whatever the store does, this instance polls the batch it created.
    this.#inflight.set(batchId, batch);
    await this.#persist(jobs, (index) => {
      for (const job of jobs) index.queued.delete(job.id);
      index.batches.set(batchId, batch);
    });
    this.#armPoll();
    return true;
  }

  /** The provider refused a batch of one for good (a 4xx): its job fails without a retry. */
  async #refuse(jobs: readonly JobRecord[], message: string, status: number | undefined): Promise<void> {
    const now = this.o.clock.now();
    for (const job of jobs) {
      job.tries++;
      const outcome = { customId: job.id, ok: false as const, reason: "rejected" as const, message, status };
      this.p.settler.fail(job, { ...outcome, retryable: false }, now, false);
    }
    await this.#persist(jobs, (index) => {
      for (const job of jobs) index.queued.delete(job.id);
    });
    this.#finish(jobs);
  }

  // ---- polling and settling -------------------------------------------------------------------

  #armPoll(): void {
    if (this.p.background.closed || this.#pollTimer !== undefined || this.#inflight.size === 0) return;
    this.#pollTimer = this.o.timers.setTimeout(() => {
      this.#pollTimer = undefined;
      this.p.background.run(this.poll().finally(() => this.#armPoll()));
    }, this.o.pollIntervalMs);
  }

  async #pollAll(): Promise<void> {
    for (const [batchId, batch] of [...this.#inflight]) {
      if (this.p.background.closed) return;
      let ended: EndedBatch | undefined;
      try {
        ended = await this.p.clients.get(batch.provider)!.check(batchId);
      } catch (thrown) {
        const error = fromSdkError(thrown, batch.provider, batch.group);
        this.p.background.report(error);
        // A batch the provider no longer knows will never end: its items count as missing (sent again).
        if (!(error instanceof ProviderError) || error.status !== 404) continue;
        ended = { outcomes: [], note: `${batch.provider} does not know batch ${batchId} (404)` };
      }
      if (ended) await this.#settle(batchId, batch, ended);
    }
  }

  async #settle(batchId: string, batch: InFlightBatch, ended: EndedBatch): Promise<void> {
    const outcomes = outcomesById(batch, ended);
    const now = this.o.clock.now();
    const changed: JobRecord[] = [];
    for (const id of batch.ids) {
      const job = this.p.jobs.get(id);
      // Already settled from this batch (a second look after a restart): nothing to do.
      if (job?.status !== "sent" || job.batchId !== batchId) continue;
      this.p.settler.apply(job, outcomes.get(id)!, now);
      changed.push(job);
    }
    const again = changed.filter((j) => j.status === "queued");
    await this.#persist(changed, (index) => {
      index.batches.delete(batchId);
      for (const job of again) index.queued.add(job.id);
    });
    this.#inflight.delete(batchId);
    this.#finish(changed.filter((j) => j.status !== "queued"));
    // Failed items go out again at once, alone (with whatever else waits in their group).
    for (const job of again) this.hold(job);
    for (const group of new Set(again.map((j) => this.groupOf(j))))
      this.p.background.run(this.#drain(group, true));
  }

  #finish(jobs: readonly JobRecord[]): void {
    for (const job of jobs) {
      this.p.jobs.delete(job.id);
      this.p.settler.finish(job);
    }
  }

  /** Job records first, then the index: a crash between the two replays the step, never skips it. */
  async #persist(jobs: readonly JobRecord[], change: (index: QueueIndex) => void): Promise<void> {
    try {
      await Promise.all(jobs.map((job) => this.p.store.putJob(job)));
      await this.p.store.update(change);
    } catch (error) {
      this.p.background.report(error);
    }
  }
}
