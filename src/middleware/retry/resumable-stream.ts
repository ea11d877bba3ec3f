import type { Completion, StreamEvent } from "../../core/completion.js";
import { closeUnread, closingUnread, once, type Reply, replayEvents } from "../../core/reply.js";

/**
 * What to do when a stream fails before any of its output reached the
 * caller: resolve with the reply of another call (a retry, a fallback), or
 * reject, with the error the caller should see, to give up.
 */
export type Resume = (error: unknown) => Promise<Reply>;

/**
 * A streamed reply that may switch to another call as long as the caller has
 * seen nothing of the answer. Shared by `retry` and `fallback`.
 *
 * Events that carry no output (`start`, `usage`) are held back until the
 * first one that does, so that a call that fails early leaves no trace in
 * what the caller reads: the caller's iterator simply continues with the
 * next call's events, with one `start` in all. Once output has been passed
 * on, a failure reaches the caller unchanged (a `StreamInterruptedError`
 * carrying the partial answer): retrying then would show a second,
 * different answer after the first one.
 *
 * `completion` settles with the completion of the call that produced the
 * answer, or rejects with the error the reader got (an `AbortedError` when
 * the reader stopped early).
 */
export function resumableStream(first: Reply, resume: Resume): Reply {
  let resolve!: (c: Completion) => void;
  let reject!: (e: unknown) => void;
  const completion = new Promise<Completion>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A caller that reads only the events must not see an unhandled rejection.
  completion.catch(() => {});

  async function* run(): AsyncGenerator<StreamEvent> {
    let current = first;
    let delivered = false;
    let settled = false;
    try {
      for (;;) {
        const held: StreamEvent[] = [];
        try {
          for await (const event of eventsOf(current)) {
            if (!delivered) {
              if (!carriesOutput(event)) {
                held.push(event);
                continue;
              }
              delivered = true;
              yield* held;
            }
            yield event;
          }
          if (!delivered) yield* held;
          settled = true;
          current.completion.then(resolve, reject);
          return;
        } catch (error) {
          if (delivered) {
            settled = true;
            reject(error);
            throw error;
          }
          try {
            current = await resume(error);
          } catch (final) {
            settled = true;
            reject(final);
            throw final;
          }
        }
      }
    } finally {
      // The reader stopped early: the call below was cancelled and settles its own completion.
      if (!settled) current.completion.then(resolve, reject);
    }
  }
  const events = closingUnread(run(), () => {
    first.completion.then(resolve, reject);
    return first.events && closeUnread(first.events);
  });
  return { completion, events: once(events) };
}

/** Output the caller would see: anything but the opening `start` and early `usage`. */
export function carriesOutput(event: StreamEvent): boolean {
  return event.type !== "start" && event.type !== "usage";
}

/** A reply that came back without events (a host's degraded answer) is replayed as a stream. */
async function* eventsOf(reply: Reply): AsyncGenerator<StreamEvent> {
  if (reply.events) yield* reply.events;
  else yield* replayEvents(await reply.completion);
}
