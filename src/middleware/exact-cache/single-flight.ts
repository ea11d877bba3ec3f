import type { Completion } from "../../core/completion.js";
import { NEVER_ABORTED, type RequestContext } from "../../core/context.js";
import { AbortedError } from "../../core/errors.js";
import type { Reply } from "../../core/reply.js";
import { hitReply, type Saved, savedOf } from "./hit.js";
import { SharedStream } from "./shared-stream.js";

/** What the first caller of a key (the leader) produced. */
export interface Lead {
  reply: Reply;
  /**
   * How the followers record the answer they are served: `dedupe` when it
   * comes from the leader's provider call, `exact` when the leader read it
   * from the store.
   */
  kind: "dedupe" | "exact";
  /**
   * Settles when the flight may end (say, once the answer is stored, so that
   * a request arriving in between joins the flight rather than missing the
   * store). Default: when the answer settles.
   */
  done?: Promise<unknown>;
}

/** Runs the leader's share of a flight: a store read, a lock, the provider call. */
export type Leader = (ctx: RequestContext) => Promise<Lead>;

type Outcome = { completion: Completion; kind: Lead["kind"]; saved: Saved } | { error: unknown };

/**
 * In-process request coalescing (FAILURES.md C6). The first request of a key
 * leads: it runs `lead` and gets its reply as usual. Requests with the same
 * key that arrive before the flight ends follow: they make no provider call,
 * and each gets its own copy of the leader's answer once it is complete,
 * replayed as a stream if it streamed. If the leader's call fails, every
 * follower gets the same error, so a failure is never retried by all of them
 * at once. If the leader's caller aborts (its signal, or it stopped reading
 * with nobody else waiting), that was its own call to cancel: the followers
 * go again, and one of them leads.
 */
export class SingleFlight {
  readonly #flights = new Map<string, Flight>();

  /** How many keys have a call in flight. */
  get size(): number {
    return this.#flights.size;
  }

  async run(key: string, ctx: RequestContext, lead: Leader): Promise<Reply> {
    for (;;) {
      const flight = this.#flights.get(key);
      if (!flight) return this.#lead(key, ctx, lead);
      const outcome = await flight.follow(ctx.signal);
      if ("completion" in outcome) {
        const { meta: _meta, raw: _raw, ...answer } = outcome.completion;
        return hitReply(ctx, structuredClone(answer), outcome.kind, structuredClone(outcome.saved));
      }
      if (!(outcome.error instanceof AbortedError)) throw outcome.error;
    }
  }

  async #lead(key: string, ctx: RequestContext, lead: Leader): Promise<Reply> {
    const flight = new Flight();
    this.#flights.set(key, flight);
    const end = () => {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
    };
    // A streamed call gets a signal of its own, so that it can be released when neither the leader's
    // caller nor any follower wants it; the leader's signal still aborts it.
    const link = ctx.request.stream === true ? linkedController(ctx.signal) : undefined;
    let led: Lead;
    try {
      led = await lead(link ? { ...ctx, signal: link.signal } : ctx);
    } catch (error) {
      link?.release();
      flight.settle({ error });
      end();
      throw error;
    }
    let reply = led.reply;
    if (reply.events) {
      const shared = new SharedStream(reply.events, (reason) => link?.abort(reason));
      flight.share(shared);
      reply = { completion: reply.completion, events: shared.events };
    }
    reply.completion.then(
      (completion) => {
        link?.release();
        // A leader that was itself served by a cache knows what the answer cost when it was made.
        const served = ctx.state.cache;
        const saved = served?.status === "hit" && served.saved ? served.saved : savedOf(completion);
        flight.settle({ completion, kind: led.kind, saved });
      },
      (error: unknown) => {
        link?.release();
        flight.settle({ error });
        // At once: a request that arrives after the failure makes a call of its own, not gets this error.
        end();
      },
    );
    void Promise.allSettled([reply.completion, led.done]).then(end);
    return reply;
  }
}

class Flight {
  readonly #outcome: Promise<Outcome>;
  #resolve!: (outcome: Outcome) => void;
  #stream: SharedStream | undefined;
  #waiting = 0;

  constructor() {
    this.#outcome = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  /** The leader's reply streams: followers drive it to its end. */
  share(stream: SharedStream): void {
    this.#stream = stream;
    for (let i = 0; i < this.#waiting; i++) stream.want();
  }

  settle(outcome: Outcome): void {
    this.#resolve(outcome);
  }

  /** Waits for the leader's outcome, or rejects when the follower's own signal fires. */
  async follow(signal: AbortSignal): Promise<Outcome> {
    this.#waiting++;
    this.#stream?.want();
    try {
      return await untilAborted(this.#outcome, signal);
    } catch (error) {
      this.#stream?.unwant();
      throw error;
    } finally {
      this.#waiting--;
    }
  }
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal === NEVER_ABORTED) return promise;
  const aborted = () => new AbortedError("the call was aborted while it waited for an identical call");
  if (signal.aborted) return Promise.reject(aborted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted());
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then((value) => {
      signal.removeEventListener("abort", onAbort);
      resolve(value);
    }, reject);
  });
}

function linkedController(signal: AbortSignal) {
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal.reason);
  if (signal.aborted) onAbort();
  else if (signal !== NEVER_ABORTED) signal.addEventListener("abort", onAbort, { once: true });
  return {
    signal: controller.signal,
    abort: (reason: Error) => controller.abort(reason),
    release: () => signal.removeEventListener("abort", onAbort),
  };
}
