import { randomUUID } from "node:crypto";
import type { Completion } from "../../core/completion.js";
import type { RequestContext } from "../../core/context.js";
import { InvalidRequestError } from "../../core/errors.js";
import type { PriceBook } from "../../core/pricing.js";
import { priceBook } from "../../pricing/price-book.js";
import { Background } from "./background.js";
import type { BatchClient } from "./batch-client.js";
import { BatchDeferredError, BatchJobNotFoundError } from "./errors.js";
import { type BatchApi, type JobRecord, JobStore } from "./job-store.js";
import type { ResolvedBatchOptions } from "./options.js";
import { itemError } from "./result.js";
import { BatchSender } from "./sender.js";
import { Settler } from "./settle.js";
import { Waiters } from "./waiters.js";

/** What a deferred caller gets: its answer, once its job settles. */
export interface Answer {
  completion: Promise<Completion>;
}

/** Custom ids both APIs accept (Anthropic's rule is the stricter). */
const JOB_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The batcher behind the middleware: takes in deferred requests (stored before their callers
 * wait), answers `job(id)`, takes up what a dead instance left (`resume`), and closes. Sending,
 * polling and settling are the sender's.
 */
export class BatchRunner {
  readonly #store: JobStore;
  readonly #waiters = new Waiters();
  readonly #jobs = new Map<string, JobRecord>();
  readonly #background: Background;
  readonly #sender: BatchSender;
  /** Host-chosen job ids being queued now: the next request naming one waits its turn. */
  readonly #enqueuing = new Map<string, Promise<void>>();
  #resuming: Promise<void> = Promise.resolve();
  #prices: PriceBook | undefined;

  constructor(
    private readonly o: ResolvedBatchOptions,
    private readonly clients: ReadonlyMap<BatchApi, BatchClient>,
  ) {
    this.#store = new JobStore(o.store, o.keyPrefix, o.resultTtlMs);
    this.#background = new Background(o.onError);
    const settler = new Settler({
      waiters: this.#waiters,
      maxItemRetries: o.maxItemRetries,
      fallbackPrices: () => (this.#prices ??= o.prices ?? priceBook()),
      onSettled: o.onSettled,
      report: (error) => this.#background.report(error),
    });
    this.#sender = new BatchSender(o, {
      clients,
      store: this.#store,
      settler,
      waiters: this.#waiters,
      jobs: this.#jobs,
      background: this.#background,
    });
  }

  get closed(): boolean {
    return this.#background.closed;
  }

  /**
   * Queues a request: its job is in the store before the caller's promise exists. Resolves with
   * the caller's answer, or rejects at once with `BatchDeferredError` when detached.
   */
  async defer(ctx: RequestContext, api: BatchApi, model: string, detached: boolean): Promise<Answer> {
    this.#background.log ??= ctx.services.log;
    const params = this.clients.get(api)!.params(ctx.request, model);
    const chosen = this.o.jobId?.(ctx);
    if (chosen === undefined) return this.#enqueue(ctx, randomUUID(), api, model, params, detached);
    if (!JOB_ID.test(chosen)) {
      throw new InvalidRequestError(`batch: job id "${chosen}" is not 1-64 letters, digits, '_' or '-'`, [
        "options.jobId: must return 1-64 characters of [A-Za-z0-9_-]",
      ]);
    }
    // Requests naming the same job are taken one at a time, so the second sees the first's job.
    const turn = (this.#enqueuing.get(chosen) ?? Promise.resolve()).then(
      async () =>
        (await this.#join(ctx, chosen, detached)) ?? this.#enqueue(ctx, chosen, api, model, params, detached),
    );
    const done = turn.then(
      () => {},
      () => {},
    );
    this.#enqueuing.set(chosen, done);
    void done.then(() => this.#enqueuing.get(chosen) === done && this.#enqueuing.delete(chosen));
    return turn;
  }

  flush(): Promise<void> {
    return this.#sender.flush();
  }

  poll(): Promise<void> {
    return this.#sender.poll();
  }

  /** Takes up what the store holds and this instance does not. Safe to call more than once. */
  resume(): Promise<void> {
    this.#resuming = this.#resuming.catch(() => {}).then(() => this.#load());
    return this.#resuming;
  }

  /** The answer of a job: at once when settled, else when it settles (taking it up from the store if needed). */
  async job(id: string): Promise<Completion> {
    if (this.#jobs.has(id)) return this.#waiters.wait(id, { owner: false }, () => {});
    let stored = await this.#store.getJob(id);
    if (stored?.status === "queued" || stored?.status === "sent") {
      if (this.closed) throw new BatchDeferredError(id, "closed");
      await this.resume();
      if (this.#jobs.has(id)) return this.#waiters.wait(id, { owner: false }, () => {});
      stored = await this.#store.getJob(id); // settled meanwhile
    }
    if (stored?.status === "done") return stored.completion!;
    if (stored?.status === "failed") throw itemError(stored, stored.attempts);
    throw new BatchJobNotFoundError(id);
  }

  /** Stops the timers, lets running uploads and polls finish, and answers waiting callers with `BatchDeferredError`. */
  async close(): Promise<void> {
    this.#background.closed = true;
    this.#sender.stop();
    await this.#background.idle();
    for (const [id, waiters] of this.#waiters.takeAll()) {
      for (const w of waiters) w.reject?.(new BatchDeferredError(id, "closed"));
    }
    this.#jobs.clear();
  }

  // ---- intake ------------------------------------------------------------------------------

  async #enqueue(
    ctx: RequestContext,
    id: string,
    api: BatchApi,
    model: string,
    params: Record<string, unknown>,
    detached: boolean,
  ): Promise<Answer> {
    const job: JobRecord = {
      v: 1,
      id,
      requestId: ctx.id,
      provider: api,
      model,
      params,
      tokens: Math.ceil(JSON.stringify(params).length / 4),
      enqueuedAt: this.o.clock.now(),
      tries: 0,
      status: "queued",
      attempts: [],
    };
    await this.#store.putJob(job);
    try {
      await this.#store.update((index) => index.queued.add(id));
    } catch (error) {
      // Not acknowledged, so never sent: the next index write leaves it out.
      await this.#store.revert((index) => index.queued.delete(id));
      this.#store.deleteJob(id).catch(() => {});
      throw error;
    }
    ctx.state.batch = { jobId: id, joined: false };
    const answer = this.#answer(ctx, id, true, detached);
    this.#sender.hold(job);
    if (!answer) throw new BatchDeferredError(id, "detached");
    return answer;
  }

  /** A host-chosen id that is already a live or finished job: the caller joins it. */
  async #join(ctx: RequestContext, id: string, detached: boolean): Promise<Answer | undefined> {
    const existing = this.#jobs.get(id) ?? (await this.#store.getJob(id));
    if (!existing || existing.status === "failed") return undefined;
    ctx.state.batch = { jobId: id, joined: true };
    if (detached) throw new BatchDeferredError(id, "detached");
    if (existing.status === "done")
      return { completion: Promise.resolve(structuredClone(existing.completion!)) };
    if (!this.#jobs.has(id)) return { completion: this.job(id) };
    return this.#answer(ctx, id, false, false);
  }

  /**
   * Registers a caller. A detached owner gets no promise (`undefined`) but its context stays,
   * so the answer is still priced by its client and announced on its events.
   */
  #answer(ctx: RequestContext, id: string, owner: boolean, detached: boolean): Answer | undefined {
    if (detached) {
      this.#waiters.add(id, { ctx, owner });
      return undefined;
    }
    return { completion: this.#waiters.wait(id, { ctx, owner }, () => this.#abandon(ctx, id, owner)) };
  }

  /** The caller aborted: a job still queued that nobody else waits for is not sent at all. */
  #abandon(ctx: RequestContext, id: string, owner: boolean): void {
    const job = this.#jobs.get(id);
    if (!job || !owner) return;
    const unsent = job.status === "queued" && !this.#waiters.has(id) && this.#sender.unqueue(job);
    if (!unsent) {
      // It goes on (sent, or others wait for it): the provider bills it, so the owner's context keeps pricing it.
      this.#waiters.add(id, { ctx, owner: true });
      return;
    }
    this.#jobs.delete(id);
    this.#background.run(
      (async () => {
        await this.#store.update((index) => index.queued.delete(id));
        await this.#store.deleteJob(id);
      })(),
    );
  }

  // ---- resume ------------------------------------------------------------------------------

  async #load(): Promise<void> {
    if (this.closed) return;
    const index = await this.#store.index();
    const queued = [...index.queued].filter((id) => !this.#jobs.has(id));
    const records = await Promise.all(queued.map((id) => this.#store.getJob(id)));
    const stale: string[] = [];
    for (const [i, job] of records.entries()) {
      if (!job)
        this.#background.report(new Error(`batch: queued job ${queued[i]} is not in the store (evicted?)`));
      if (!job || job.status === "done" || job.status === "failed") {
        stale.push(queued[i]!);
        continue;
      }
      // Marked sent, but its batch never reached the index: it is sent again.
      job.status = "queued";
      delete job.batchId;
      this.#sender.hold(job);
    }
    for (const [batchId, batch] of index.batches) {
      if (this.#sender.has(batchId)) continue;
      const jobs = await Promise.all(batch.ids.map((id) => this.#store.getJob(id)));
      for (const [i, job] of jobs.entries()) {
        if (!job)
          this.#background.report(
            new Error(`batch: job ${batch.ids[i]} of batch ${batchId} is not in the store`),
          );
        else if (job.status === "sent" && job.batchId === batchId) this.#jobs.set(job.id, job);
      }
      this.#sender.adopt(batchId, batch);
    }
    if (stale.length) {
      await this.#store.update((i) => {
        for (const id of stale) i.queued.delete(id);
      });
    }
  }
}
