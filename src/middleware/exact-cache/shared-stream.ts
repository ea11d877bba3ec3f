import type { StreamEvent } from "../../core/completion.js";
import { AbortedError } from "../../core/errors.js";
import { once } from "../../core/reply.js";

/**
 * The leader's event stream in a single flight, readable by the leader's
 * caller as usual and driven to its end by the followers that wait for the
 * answer, whichever comes first. Without it, a follower would wait on a
 * stream that only the leader's caller reads: a host that reads the second of
 * two identical streams before the first would wait forever.
 *
 * Reading is pulled, never pushed: nothing is read from the provider faster
 * than the fastest reader (the leader's caller, or a waiting follower) asks.
 * Events read by a follower's pull are kept for the leader's caller in order.
 *
 * Cancelling: the upstream call is released when nobody wants it any more,
 * that is when the leader's caller stopped reading before the end and no
 * follower is waiting; with no follower this is exactly what a reader's
 * `break` does without a flight.
 */
export class SharedStream {
  readonly #source: AsyncIterator<StreamEvent>;
  readonly #abort: (reason: Error) => void;
  readonly #buffer: StreamEvent[] = [];
  #end: { error?: unknown } | undefined;
  #pulling: Promise<void> | undefined;
  #readerActive = true;
  #wanted = 0;
  #driving = false;
  /** The leader caller's copy of the events; it can be read once. */
  readonly events: AsyncIterable<StreamEvent>;

  /** `abort` stops the upstream call while a read is pending (the provider call's signal). */
  constructor(source: AsyncIterable<StreamEvent>, abort: (reason: Error) => void) {
    this.#source = source[Symbol.asyncIterator]();
    this.#abort = abort;
    this.events = once(this.#read());
  }

  /** A follower waits for the end: read the upstream to its end even if the leader's caller does not. */
  want(): void {
    this.#wanted++;
    if (!this.#driving) void this.#drive();
  }

  /** A follower stopped waiting (its own signal fired). */
  unwant(): void {
    this.#wanted--;
    this.#cancelIfUnwanted();
  }

  async *#read(): AsyncGenerator<StreamEvent> {
    let next = 0;
    try {
      for (;;) {
        if (next < this.#buffer.length) {
          yield this.#buffer[next++]!;
          continue;
        }
        if (this.#end) {
          if ("error" in this.#end) throw this.#end.error;
          return;
        }
        await this.#pull();
      }
    } finally {
      this.#readerActive = false;
      this.#cancelIfUnwanted();
    }
  }

  async #drive(): Promise<void> {
    this.#driving = true;
    try {
      while (!this.#end && this.#wanted > 0) await this.#pull();
    } finally {
      this.#driving = false;
    }
  }

  /** One read of the upstream, shared by whoever asks while it is pending. */
  #pull(): Promise<void> {
    this.#pulling ??= this.#source.next().then(
      (result) => {
        this.#pulling = undefined;
        if (result.done) this.#end = {};
        else this.#buffer.push(result.value);
      },
      (error: unknown) => {
        this.#pulling = undefined;
        this.#end = { error };
      },
    );
    return this.#pulling;
  }

  #cancelIfUnwanted(): void {
    if (this.#end || this.#readerActive || this.#wanted > 0) return;
    const reason = new AbortedError("the stream's reader stopped before the end");
    if (this.#pulling) {
      // A read is pending: only the call's signal can interrupt it.
      this.#abort(reason);
    } else {
      // Between reads: closing the upstream releases the call the way a reader's `break` does.
      this.#end = { error: reason };
      Promise.resolve(this.#source.return?.()).catch(() => {});
    }
  }
}
