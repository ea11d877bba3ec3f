import { StreamAssembler } from "../../core/assemble.js";
import type { Attempt, Completion, StreamEvent } from "../../core/completion.js";
import { textOf, toolCallsOf } from "../../core/completion.js";
import { NEVER_ABORTED, type RequestContext } from "../../core/context.js";
import { StreamInterruptedError } from "../../core/errors.js";
import type { Next } from "../../core/middleware.js";
import { closeUnread, closingUnread, once, type Reply } from "../../core/reply.js";

/**
 * Makes one streamed call whose stream is cut when the provider sends
 * nothing for `idleMs` while the reader waits for the next event (a stall:
 * headers and a few deltas, then silence). The call is aborted, so the
 * provider stops generating, and the stream fails with a
 * `StreamInterruptedError` whose `partial` holds what arrived, charged like
 * any cut stream. Time the reader spends elsewhere does not count: a slow
 * reader never trips it.
 */
export async function callWithIdleTimeout(ctx: RequestContext, next: Next, idleMs: number): Promise<Reply> {
  const idle = new AbortController();
  const release = link(ctx.signal, idle);
  const attemptsBefore = ctx.attempts.length;
  let reply: Reply;
  try {
    reply = await next({ ...ctx, signal: idle.signal });
  } catch (error) {
    release();
    throw error;
  }
  if (!reply.events) {
    release();
    return reply;
  }

  const assembled = new StreamAssembler();
  let stalled: StreamInterruptedError | undefined;
  // The caller's own abort stays an AbortedError; only the watchdog's becomes a cut stream.
  const explain = (error: unknown): unknown => {
    if (!idle.signal.aborted || ctx.signal.aborted) return error;
    stalled ??= stallError(ctx, idleMs, assembled, error, attemptsBefore);
    return stalled;
  };
  const source = reply.events;
  async function* watched(): AsyncGenerator<StreamEvent> {
    try {
      for await (const event of watchIdle(source, idleMs, () => idle.abort())) {
        assembled.add(event);
        yield event;
      }
    } catch (error) {
      throw explain(error);
    } finally {
      release();
    }
  }
  const completion = reply.completion.catch((error: unknown) => {
    release();
    throw explain(error);
  });
  completion.catch(() => {});
  const events = closingUnread(watched(), () => {
    release();
    return closeUnread(source);
  });
  return { completion, events: once(events) };
}

/** Passes events through and calls `onIdle` when one is awaited for `idleMs`. */
export async function* watchIdle(
  events: AsyncIterable<StreamEvent>,
  idleMs: number,
  onIdle: () => void,
): AsyncGenerator<StreamEvent> {
  const iterator = events[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      const timer = setTimeout(onIdle, idleMs);
      timer.unref();
      let result: IteratorResult<StreamEvent>;
      try {
        result = await iterator.next();
      } catch (error) {
        finished = true;
        throw error;
      } finally {
        clearTimeout(timer);
      }
      if (result.done) {
        finished = true;
        return;
      }
      yield result.value;
    }
  } finally {
    if (!finished) await iterator.return?.();
  }
}

/** Aborts `child` when `parent` aborts; returns the function that unlinks them (idempotent). */
function link(parent: AbortSignal, child: AbortController): () => void {
  // Every request without a signal shares this one: listeners on it would pile up.
  if (parent === NEVER_ABORTED) return () => {};
  if (parent.aborted) {
    child.abort(parent.reason);
    return () => {};
  }
  const onAbort = () => child.abort(parent.reason);
  parent.addEventListener("abort", onAbort, { once: true });
  return () => parent.removeEventListener("abort", onAbort);
}

/**
 * The error a stalled stream fails with. The dispatcher recorded the attempt
 * as aborted (it saw its signal fire); the record is corrected to say what
 * happened, and the partial answer is charged at the attempt's cost.
 */
function stallError(
  ctx: RequestContext,
  idleMs: number,
  assembled: StreamAssembler,
  cause: unknown,
  attemptsBefore: number,
): StreamInterruptedError {
  const attempt: Attempt | undefined = ctx.attempts
    .slice(attemptsBefore)
    .findLast((a) => a.status === "error");
  const provider = attempt?.provider ?? assembled.provider;
  const model = attempt?.model ?? assembled.model;
  const error = new StreamInterruptedError(
    `the ${provider} stream sent nothing for ${idleMs} ms and was cut (retry idleTimeoutMs)`,
    { provider, model, retryable: true, cause },
  );
  error.attempts = ctx.attempts;
  if (attempt) {
    attempt.error = { name: error.name, message: error.message, retryable: true };
    const usage = attempt.usage ?? assembled.usageSoFar(() => 0);
    const partial: Completion = {
      id: assembled.id,
      provider,
      model: assembled.model || model,
      content: assembled.content,
      text: textOf(assembled.content),
      toolCalls: toolCallsOf(assembled.content),
      ...(assembled.refusal !== undefined && { refusal: assembled.refusal }),
      finishReason: "other",
      usage,
      cost: attempt.cost ?? ctx.services.prices.cost(provider, model, usage),
      meta: { requestId: ctx.id, attempts: ctx.attempts, state: ctx.state },
    };
    error.partial = partial;
  }
  return error;
}
