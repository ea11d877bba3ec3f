import type { Logger } from "../../core/logger.js";

/**
 * The batcher's background work (uploads, polls, store writes that no caller awaits): tracked
 * so that `close()` can let it finish, and its errors reported, never thrown into the void.
 */
export class Background {
  readonly #ops = new Set<Promise<void>>();
  closed = false;
  /** The client's logger, known once a request has passed. */
  log: Logger | undefined;

  constructor(private readonly onError: ((error: unknown) => void) | undefined) {}

  /** Runs work nobody awaits. */
  run(work: Promise<void>): void {
    void this.track(work).catch((error) => this.report(error));
  }

  /** Tracks work someone awaits (a flush). */
  track(work: Promise<void>): Promise<void> {
    this.#ops.add(work);
    return work.finally(() => this.#ops.delete(work));
  }

  /** Resolves once the work under way has ended, well or not. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#ops]);
  }

  report(error: unknown): void {
    try {
      if (this.onError) this.onError(error);
      else if (this.log) this.log.error("batch: background work failed", { error });
      else console.error("frugal-llm batch: background work failed", error);
    } catch {
      // A failing error hook must not stop the queue.
    }
  }
}
