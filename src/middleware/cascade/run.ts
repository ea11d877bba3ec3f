import type { Completion, StreamEvent } from "../../core/completion.js";
import type { RequestContext } from "../../core/context.js";
import {
  AbortedError,
  AllModelsFailedError,
  CostGuardError,
  InvalidRequestError,
  ProviderError,
} from "../../core/errors.js";
import type { Next } from "../../core/middleware.js";
import {
  closeUnread,
  closingUnread,
  completedReply,
  once,
  type Reply,
  replayEvents,
  streamingReply,
} from "../../core/reply.js";
import type { CascadeState } from "./index.js";
import { CascadeRejectedError } from "./rejected-error.js";
import { isThenable, type Validator, type Verdict } from "./validators.js";

export interface CascadeConfig {
  validators: readonly Validator[];
  optimistic: boolean;
  requireValid: boolean;
}

/**
 * Runs one request through the cascade's steps. Buffered (and every
 * non-streamed request): each step is read whole and validated before
 * anything reaches the caller. Optimistic (streamed requests only): steps
 * stream live, and a rejected answer is retracted by the next one's `start`.
 */
export function runCascade(
  ctx: RequestContext,
  next: Next,
  models: readonly string[],
  config: CascadeConfig,
): Promise<Reply> {
  const run = new CascadeRun(ctx, next, models, config);
  const streamed = ctx.request.stream === true;
  return streamed && config.optimistic ? run.optimistic() : run.buffered(streamed);
}

class CascadeRun {
  readonly #state: CascadeState = { steps: [] };
  /** A router's decision is its own: the cascade records a route only when none was made. */
  readonly #setsRoute: boolean;

  constructor(
    private readonly ctx: RequestContext,
    private readonly next: Next,
    private readonly models: readonly string[],
    private readonly config: CascadeConfig,
  ) {
    this.#setsRoute = ctx.state.route === undefined;
    ctx.state.cascade = this.#state;
  }

  async buffered(streamed: boolean): Promise<Reply> {
    for (let i = 0; ; i++) {
      const step = this.stepContext(i);
      if (this.servedUnchecked(i)) return this.serveLive(i, step);
      let answer: { completion: Completion; events: StreamEvent[] | undefined };
      try {
        answer = await readWhole(await this.next(step));
      } catch (error) {
        this.failed(i, error, false);
        continue;
      }
      const reasons = await this.check(answer.completion, step);
      if (reasons) {
        this.rejected(i, reasons, answer.completion, false);
        continue;
      }
      this.accepted(i, true);
      if (!streamed) return completedReply(answer.completion, false);
      return replay(answer.completion, answer.events);
    }
  }

  async optimistic(): Promise<Reply> {
    const first = await this.connect(0);
    let resolve!: (c: Completion) => void;
    let reject!: (e: unknown) => void;
    const completion = new Promise<Completion>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    completion.catch(() => {}); // a caller that reads only the events sees the error there
    const run = this;

    async function* live(): AsyncGenerator<StreamEvent> {
      let { i, reply } = first;
      let settled = false;
      try {
        for (;;) {
          const unchecked = run.servedUnchecked(i);
          let finish: StreamEvent | undefined;
          let shown = false;
          let answer: Completion;
          try {
            for await (const event of eventsOf(reply)) {
              // The finish of a checked answer waits for its verdict: a rejected one never ends the stream.
              if (event.type === "finish" && !unchecked) finish = event;
              else {
                shown = true;
                yield event;
              }
            }
            answer = await reply.completion;
          } catch (error) {
            run.failed(i, error, shown);
            ({ i, reply } = await run.connect(i + 1));
            continue;
          }
          const reasons = unchecked ? undefined : await run.check(answer, run.stepContext(i));
          if (reasons) {
            run.rejected(i, reasons, answer, shown);
            ({ i, reply } = await run.connect(i + 1));
            continue;
          }
          run.accepted(i, !unchecked);
          settled = true;
          resolve(answer);
          if (finish) yield finish;
          return;
        }
      } catch (error) {
        settled = true;
        reject(error);
        throw error;
      } finally {
        if (!settled) {
          // Only a reader that stopped gets here, while step i was streaming (its inner stream is cancelled).
          const stopped = new AbortedError("the stream's reader stopped before the end");
          stopped.attempts = run.ctx.attempts;
          run.record(i, false, false, [describe(stopped)], stopped);
          reject(stopped);
        }
      }
    }
    const events = closingUnread(live(), () => {
      // Closed before its first read: the first step is stopped as a reader that stopped would stop it.
      const stopped = new AbortedError("the stream was closed before it was read");
      stopped.attempts = run.ctx.attempts;
      run.record(first.i, false, false, [describe(stopped)], stopped);
      reject(stopped);
      return first.reply.events && closeUnread(first.reply.events);
    });
    return { completion, events: once(events) };
  }

  /** Calls steps from `from` on until one answers (a stream that has started), escalating past failed calls. */
  private async connect(from: number): Promise<{ i: number; reply: Reply }> {
    for (let i = from; ; i++) {
      try {
        return { i, reply: await this.next(this.stepContext(i)) };
      } catch (error) {
        this.failed(i, error, false);
      }
    }
  }

  /** The last model's answer is served whatever the validators would say, unless `requireValid`. */
  private servedUnchecked(i: number): boolean {
    return i === this.models.length - 1 && !this.config.requireValid;
  }

  private stepContext(i: number): RequestContext {
    const { ctx } = this;
    return {
      ...ctx,
      purpose: i === 0 ? ctx.purpose : "escalation",
      request: { ...ctx.request, model: this.models[i]! },
    };
  }

  /** Passes the reply through (live, for a stream) and records the step when it settles. */
  private async serveLive(i: number, step: RequestContext): Promise<Reply> {
    let reply: Reply;
    try {
      reply = await this.next(step);
    } catch (error) {
      this.record(i, false, false, [describe(error)], error);
      throw error;
    }
    const completion = reply.completion.then(
      (c) => {
        this.accepted(i, false);
        return c;
      },
      (error: unknown) => {
        this.record(i, false, false, [describe(error)], error);
        throw error;
      },
    );
    completion.catch(() => {});
    return reply.events ? { completion, events: reply.events } : { completion };
  }

  /** The reasons the answer fails, from the first validator that fails it; undefined when all pass. */
  private async check(answer: Completion, step: RequestContext): Promise<string[] | undefined> {
    for (const validator of this.config.validators) {
      let verdict: Verdict;
      try {
        const result = validator.validate(answer, step);
        verdict = isThenable(result) ? await result : result;
      } catch (error) {
        if (error instanceof AbortedError || step.signal.aborted) throw error;
        step.services.log.warn(`cascade: validator "${validator.name}" threw; the answer is rejected`, {
          requestId: step.id,
          error,
        });
        return [`${validator.name}: ${describe(error)}`];
      }
      if (!verdict.ok) return [`${validator.name}: ${verdict.reason}`];
    }
    return undefined;
  }

  private accepted(i: number, checked: boolean): void {
    this.record(i, true, checked, []);
    if (this.#setsRoute) {
      this.ctx.state.route = {
        model: this.models[i]!,
        reason: `cascade: step ${i + 1} of ${this.models.length} accepted`,
      };
    }
  }

  /**
   * Records a rejected answer, then escalates; the last model's rejection
   * throws. A caller that aborted while the validators ran gets an
   * `AbortedError`: nothing escalates after an abort.
   */
  private rejected(i: number, reasons: string[], answer: Completion, shown: boolean): void {
    this.record(i, false, true, reasons);
    if (this.ctx.signal.aborted) {
      const error = new AbortedError("the request was aborted by the caller while its answer was checked", {
        cause: this.ctx.signal.reason,
      });
      error.attempts = this.ctx.attempts;
      throw error;
    }
    if (i === this.models.length - 1) {
      const error = new CascadeRejectedError(
        `cascade: no model's answer passed the validators (last: ${reasons.join("; ")})`,
        this.#state.steps,
        answer,
      );
      error.attempts = this.ctx.attempts;
      throw error;
    }
    this.escalate(i, reasons, shown);
  }

  /**
   * Records a failed call, then escalates. The last model's failure, a
   * caller's abort and anything but a provider or request error (a bug, a
   * budget refusal from an inner layer) are rethrown as they are. A
   * `fallback` inside the cascade that ran out of models is a provider
   * failure; its cost guard's refusal is not, or the cascade would get
   * round the guard.
   */
  private failed(i: number, error: unknown, shown: boolean): void {
    const reasons = [describe(error)];
    this.record(i, false, false, reasons, error);
    const escalates =
      (error instanceof ProviderError ||
        error instanceof InvalidRequestError ||
        (error instanceof AllModelsFailedError && !(error instanceof CostGuardError))) &&
      !this.ctx.signal.aborted;
    if (!escalates || i === this.models.length - 1) throw error;
    if (error instanceof InvalidRequestError) {
      this.ctx.services.log.warn(`cascade: ${this.models[i]} cannot take the request; escalating`, {
        requestId: this.ctx.id,
        error,
      });
    }
    this.escalate(i, reasons, shown);
  }

  private escalate(i: number, reasons: string[], retracted: boolean): void {
    this.ctx.services.events.emit("escalation", {
      requestId: this.ctx.id,
      from: this.models[i]!,
      to: this.models[i + 1]!,
      reasons,
      retracted,
    });
  }

  private record(i: number, accepted: boolean, checked: boolean, reasons: string[], error?: unknown): void {
    this.#state.steps.push({
      model: this.models[i]!,
      accepted,
      checked,
      reasons,
      ...(error !== undefined && { error: errorFields(error) }),
    });
  }
}

/** Reads a reply to its end: its events, when it streams, and its completion. */
async function readWhole(
  reply: Reply,
): Promise<{ completion: Completion; events: StreamEvent[] | undefined }> {
  const events = reply.events ? await collect(reply.events) : undefined;
  return { completion: await reply.completion, events };
}

async function collect(source: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const event of source) events.push(event);
  return events;
}

/**
 * A streamed reply of a buffered answer: its own events (usage events
 * included), or a replay when a layer sent none. Like any stream, its
 * completion settles once the events are read, so the cost tracker times the
 * first token as the caller sees it.
 */
function replay(completion: Completion, events: readonly StreamEvent[] | undefined): Reply {
  return streamingReply(events ? fromArray(events) : replayEvents(completion), {
    complete: () => completion,
    fail: (error) => (error instanceof Error ? error : new Error(String(error))),
    cancel: () => {}, // the provider call is over: nothing to release
  });
}

async function* fromArray(events: readonly StreamEvent[]): AsyncGenerator<StreamEvent> {
  yield* events;
}

/** A reply's events; an inner layer that answered a streamed request without events is replayed. */
async function* eventsOf(reply: Reply): AsyncGenerator<StreamEvent> {
  if (reply.events) yield* reply.events;
  else yield* replayEvents(await reply.completion);
}

function errorFields(error: unknown): { name: string; message: string } {
  return error instanceof Error
    ? { name: error.name, message: error.message }
    : { name: "Error", message: String(error) };
}

function describe(error: unknown): string {
  const { name, message } = errorFields(error);
  return `${name}: ${message}`;
}
