import type { Attempt, Completion } from "../../core/completion.js";
import type { KeyValueStore } from "../../storage/kv.js";
import type { BatchFailureReason } from "./errors.js";

/** The batch APIs frugal-llm speaks, named as the client's providers are. */
export type BatchApi = "openai" | "anthropic";

/**
 * One deferred request, as the store holds it: what to send (the provider's wire params, so a
 * restarted process needs nothing else), where it stands, and, once settled, its answer.
 */
export interface JobRecord {
  v: 1;
  id: string;
  /** The request that queued it: its cost record id. */
  requestId: string;
  provider: BatchApi;
  model: string;
  /** The provider's request body (non-streamed). */
  params: Record<string, unknown>;
  /** Estimated input tokens, for flushing by volume. */
  tokens: number;
  enqueuedAt: number;
  /** How many batches carried it so far. */
  tries: number;
  status: "queued" | "sent" | "done" | "failed";
  /** The provider batch carrying it now (status `sent`). */
  batchId?: string;
  submittedAt?: number;
  /** Every send that ended, in order: the item's cost history. */
  attempts: Attempt[];
  completion?: Completion;
  error?: {
    message: string;
    reason: BatchFailureReason;
    status?: number;
    providerRequestId?: string;
  };
}

export interface InFlightBatch {
  provider: BatchApi;
  /** The model the items were grouped under (one model per OpenAI batch). */
  group: string;
  ids: string[];
  submittedAt: number;
}

/** What the queue holds: the ids waiting for a batch and the batches in flight. */
export interface QueueIndex {
  queued: Set<string>;
  batches: Map<string, InFlightBatch>;
}

/**
 * The durable half of the queue over a plain key-value store (no lists, no scans): one record
 * per job, and one index value naming the queued jobs and the batches in flight. Index changes
 * are group-committed: the changes made while a write is in flight go out together in the next
 * write, so 250 concurrent enqueues cost a handful of writes, and writes never overlap or
 * reorder. The first change loads the stored index, so a new instance never overwrites what
 * an earlier one left.
 */
export class JobStore {
  #index: QueueIndex | undefined;
  #loading: Promise<QueueIndex> | undefined;
  #pending: Promise<void> | undefined;
  #running: Promise<void> | undefined;

  constructor(
    private readonly store: KeyValueStore,
    private readonly prefix: string,
    private readonly resultTtlMs: number,
  ) {}

  async getJob(id: string): Promise<JobRecord | undefined> {
    const text = await this.store.get(this.#jobKey(id));
    return text === undefined ? undefined : (JSON.parse(text) as JobRecord);
  }

  /** Writes a job; a settled one expires after `resultTtlMs`, a live one never does. */
  async putJob(job: JobRecord): Promise<void> {
    const settled = job.status === "done" || job.status === "failed";
    await this.store.set(this.#jobKey(job.id), JSON.stringify(job), settled ? this.resultTtlMs : undefined);
  }

  async deleteJob(id: string): Promise<void> {
    await this.store.delete(this.#jobKey(id));
  }

  /** The index as stored (loaded once, then kept current by `update`). */
  index(): Promise<QueueIndex> {
    if (this.#index) return Promise.resolve(this.#index);
    this.#loading ??= this.store.get(this.#indexKey()).then(
      (text) => {
        this.#index ??= parseIndex(text);
        return this.#index;
      },
      (error) => {
        this.#loading = undefined;
        throw error;
      },
    );
    return this.#loading;
  }

  /** Applies a change and resolves once a write that includes it has reached the store. */
  async update(change: (index: QueueIndex) => void): Promise<void> {
    change(await this.index());
    return this.#commit();
  }

  /**
   * Applies a change in memory only; the next write carries it. For undoing a change whose
   * write failed (the store may hold it or not: the next write settles it either way).
   */
  async revert(change: (index: QueueIndex) => void): Promise<void> {
    change(await this.index());
  }

  #commit(): Promise<void> {
    if (this.#pending) return this.#pending;
    const prior = this.#running ?? Promise.resolve();
    const write = prior
      .catch(() => {})
      .then(() => {
        // Changes made from here on wait for the next write.
        this.#pending = undefined;
        return this.store.set(this.#indexKey(), serializeIndex(this.#index!));
      });
    this.#pending = write;
    this.#running = write;
    write.then(
      () => this.#settle(write),
      () => this.#settle(write),
    );
    return write;
  }

  #settle(write: Promise<void>): void {
    if (this.#running === write) this.#running = undefined;
  }

  #jobKey(id: string): string {
    return `${this.prefix}job:${id}`;
  }

  #indexKey(): string {
    return `${this.prefix}index`;
  }
}

function parseIndex(text: string | undefined): QueueIndex {
  if (text === undefined) return { queued: new Set(), batches: new Map() };
  const raw = JSON.parse(text) as { queued: string[]; batches: Record<string, InFlightBatch> };
  return { queued: new Set(raw.queued), batches: new Map(Object.entries(raw.batches)) };
}

function serializeIndex(index: QueueIndex): string {
  return JSON.stringify({ v: 1, queued: [...index.queued], batches: Object.fromEntries(index.batches) });
}
