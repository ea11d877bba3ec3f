import { StreamAssembler } from "./assemble.js";
import type { Completion, StreamEvent } from "./completion.js";
import { AbortedError } from "./errors.js";

/**
 * What every layer of the pipeline returns. `completion` always settles with
 * the final completion (for a stream: once the stream has been read to its
 * end); `events` is there when the request streams and can be read once.
 * A middleware that only needs the result awaits `completion` (or chains on
 * it) and never needs to know whether the call streamed.
 */
export interface Reply {
  readonly completion: Promise<Completion>;
  readonly events?: AsyncIterable<StreamEvent>;
}

/** A reply for a completion that is already known: a cache hit, a batch result. */
export function completedReply(completion: Completion, stream: boolean): Reply {
  return {
    completion: Promise.resolve(completion),
    events: stream ? once(replayEvents(completion)) : undefined,
  };
}

/** Replays a finished completion as canonical stream events. */
export async function* replayEvents(c: Completion): AsyncGenerator<StreamEvent> {
  yield { type: "start", id: c.id, provider: c.provider, model: c.model };
  let toolIndex = 0;
  for (const part of c.content) {
    if (part.type === "text") yield { type: "text-delta", text: part.text };
    else if (part.type === "reasoning")
      yield { type: "reasoning-delta", text: part.text, signature: part.signature, redacted: part.redacted };
    else
      yield {
        type: "tool-call-delta",
        index: toolIndex++,
        id: part.id,
        name: part.name,
        argumentsDelta: part.arguments,
      };
  }
  if (c.refusal !== undefined) yield { type: "refusal-delta", text: c.refusal };
  yield { type: "finish", finishReason: c.finishReason, usage: c.usage };
}

export interface StreamHooks {
  /** The stream finished: build the completion. */
  complete(assembled: StreamAssembler): Completion;
  /** The stream failed or ended early: the error to reject with (and rethrow to the reader). */
  fail(error: unknown, assembled: StreamAssembler): Error;
  /** The reader stopped before the end: release the upstream call. */
  cancel(): void;
}

/**
 * A reply over a live event stream. The events pass through unchanged while
 * an assembler builds the completion beside them; the completion settles when
 * the stream ends, fails, or its reader stops early.
 */
export function streamingReply(source: AsyncIterable<StreamEvent>, hooks: StreamHooks): Reply {
  let resolve!: (c: Completion) => void;
  let reject!: (e: Error) => void;
  const completion = new Promise<Completion>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A caller that only reads the events must not crash the process with an
  // unhandled rejection; the reader sees the same error from the iterator.
  completion.catch(() => {});

  async function* run(): AsyncGenerator<StreamEvent> {
    const assembled = new StreamAssembler();
    let settled = false;
    try {
      for await (const event of source) {
        assembled.add(event);
        yield event;
      }
      settled = true;
      resolve(hooks.complete(assembled));
    } catch (error) {
      settled = true;
      const failure = hooks.fail(error, assembled);
      reject(failure);
      throw failure;
    } finally {
      if (!settled) {
        hooks.cancel(); // releases the upstream call, also after a finish (its closing bytes are not awaited)
        // A reader that stops at the finish event has the whole answer: it is a completion, not an abort.
        if (assembled.finished) resolve(hooks.complete(assembled));
        else reject(hooks.fail(new AbortedError("the stream's reader stopped before the end"), assembled));
      }
    }
  }
  const events = closingUnread(run(), () => {
    hooks.cancel();
    reject(hooks.fail(new AbortedError("the stream was closed before it was read"), new StreamAssembler()));
  });
  return { completion, events: once(events) };
}

/**
 * `generator` as an iterator that calls `onUnread` when it is closed before
 * its first read. A generator that never ran cannot run its `finally`, nor
 * close the stream it would have read: a layer's generator over the reply
 * below it uses this (or {@link eventsOver}) so that a caller who closes a stream
 * unread still ends the call and settles its completion.
 */
export function closingUnread<T>(generator: AsyncGenerator<T>, onUnread: () => unknown): AsyncIterator<T> {
  let started = false;
  return {
    next() {
      started = true;
      return generator.next();
    },
    async return(value?: unknown) {
      if (!started) {
        started = true;
        await onUnread();
      }
      return generator.return(value as undefined);
    },
    throw(error?: unknown) {
      started = true;
      return generator.throw(error);
    },
  };
}

/** A layer's events: `generator` over `inner` (the reply below), read once, closing `inner` if closed unread. */
export function eventsOver(
  generator: AsyncGenerator<StreamEvent>,
  inner: AsyncIterable<StreamEvent>,
): AsyncIterable<StreamEvent> {
  return once(closingUnread(generator, () => closeUnread(inner)));
}

/** Closes a stream nobody read: its iterator, made only to be returned. */
export function closeUnread(events: AsyncIterable<StreamEvent>): Promise<unknown> | undefined {
  return events[Symbol.asyncIterator]().return?.();
}

/** An iterable that can be read once; a second reader gets a clear error, not silence. */
export function once<T>(iterator: AsyncIterator<T>): AsyncIterable<T> {
  let taken = false;
  return {
    [Symbol.asyncIterator]() {
      if (taken) throw new Error("this stream has already been read; a stream can be read once");
      taken = true;
      return iterator;
    },
  };
}
