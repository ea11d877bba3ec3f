import { imageSizeFromUrl, imageTokens } from "../tokens/images.js";
import { modelProfile } from "../tokens/models.js";
import type { StreamAssembler } from "./assemble.js";
import type { Attempt, Completion, Usage } from "./completion.js";
import { outputChars, textOf, toolCallsOf, totalInputTokens } from "./completion.js";
import { NEVER_ABORTED, type RequestContext } from "./context.js";
import {
  AbortedError,
  FrugalError,
  InvalidRequestError,
  ProviderError,
  StreamInterruptedError,
} from "./errors.js";
import { completionOf, type ProviderResponse, type ProviderStream } from "./provider.js";
import { completedReply, type Reply, streamingReply } from "./reply.js";
import type { ChatRequest, ImagePart } from "./request.js";

/**
 * The innermost layer: one provider call, recorded as an attempt on the
 * context, priced, and turned into a reply. Also reachable as
 * `ctx.services.dispatch` for side calls.
 */
export async function dispatch(ctx: RequestContext): Promise<Reply> {
  const { services, request } = ctx;
  const { provider: providerName, model } = services.resolveModel(request.model);
  const provider = services.providers.get(providerName)!;
  const attempt: Attempt = {
    purpose: ctx.purpose,
    ...(ctx.label !== undefined && { label: ctx.label }),
    provider: providerName,
    model,
    startedAt: ctx.clock.now(),
    status: "pending",
  };
  ctx.attempts.push(attempt);

  // A controller only for a call the caller can abort: its signal aborts the
  // SDK call. A reader that stops a stream early needs none, since both SDKs
  // abort their request when their stream's iterator is returned; skipping it
  // saves the SDK's abort wiring on every call (bench/).
  const abortable = ctx.signal !== NEVER_ABORTED;
  const controller = abortable ? new AbortController() : undefined;
  const release = controller ? follow(ctx.signal, controller) : undefined;
  const options = { model, signal: controller?.signal, maxRetries: services.sdkMaxRetries };

  if (!request.stream) {
    try {
      const answer = await provider.complete(request, options);
      release?.();
      return completedReply(succeed(ctx, attempt, answer), false);
    } catch (error) {
      release?.();
      throw fail(ctx, attempt, error);
    }
  }

  let events: ProviderStream;
  try {
    events = await provider.stream(request, options);
  } catch (error) {
    release?.();
    throw fail(ctx, attempt, error);
  }
  return streamingReply(events, {
    complete: (assembled) => {
      release?.();
      // The OpenAI SDK ends an aborted stream quietly: tell that apart from a cut.
      if (!assembled.finished && controller?.signal.aborted) throw aborted(controller.signal.reason);
      if (!assembled.finished) {
        throw new StreamInterruptedError("the stream ended before the provider finished its answer", {
          provider: providerName,
          model,
          retryable: true,
        });
      }
      return succeed(ctx, attempt, responseFrom(assembled, model));
    },
    fail: (error, assembled) => {
      release?.();
      const failure = fail(
        ctx,
        attempt,
        error,
        assembled.usageSoFar(() => roughInputTokens(request, providerName, model)),
      );
      if (failure instanceof StreamInterruptedError)
        failure.partial = partialCompletion(assembled, ctx, model);
      return failure;
    },
    cancel: () => {
      controller?.abort(new AbortedError("the stream's reader stopped before the end"));
      events.cancel?.(); // ends the call also when its events were never read (and so never returned)
    },
  });
}

/**
 * Aborts `controller` when `signal` aborts (at once if it already has);
 * returns the function that stops listening, called when the call ends.
 * `NEVER_ABORTED` is shared by every call without a signal: a listener on it
 * would never fire, and a few concurrent streams would make Node warn of a leak.
 */
function follow(signal: AbortSignal, controller: AbortController): (() => void) | undefined {
  if (signal === NEVER_ABORTED) return undefined;
  const onAbort = () => controller.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  return () => signal.removeEventListener("abort", onAbort);
}

/**
 * Records the answer on the attempt, prices it, and builds the completion.
 * This and `fail` are module functions, not closures made by each dispatch:
 * nothing to allocate per call (and, run through tsx, nothing to rename).
 */
function succeed(ctx: RequestContext, attempt: Attempt, answer: ProviderResponse): Completion {
  const { services } = ctx;
  const response = withUsageEstimate(answer, ctx.request, attempt);
  const model = response.model || attempt.model;
  const cost = services.prices.cost(attempt.provider, model, response.usage);
  attempt.status = "ok";
  attempt.endedAt = ctx.clock.now();
  attempt.usage = response.usage;
  attempt.cost = cost;
  calibrate(ctx, attempt.provider, attempt.model, response.usage);
  if (response.providerRequestId) attempt.providerRequestId = response.providerRequestId;
  services.events.emit("attempt", { requestId: ctx.id, attempt });
  return completionOf(response, attempt.provider, model, cost, {
    requestId: ctx.id,
    attempts: ctx.attempts,
    state: ctx.state,
  });
}

/**
 * Teaches the client's token estimator what the provider counted, on a
 * sample of answers (`TokenEstimator.wantsSample`), after the answer: the
 * estimate runs in the background and never delays or fails the call.
 */
function calibrate(ctx: RequestContext, provider: string, model: string, usage: Usage): void {
  const { tokens } = ctx.services;
  const ref = { provider, model };
  if (usage.estimated || !tokens.wantsSample(ref)) return;
  void tokens.observeRequest(ctx.request, ref, totalInputTokens(usage));
}

/** Records the failure on the attempt and returns it as a frugal-llm error carrying the attempts. */
function fail(ctx: RequestContext, attempt: Attempt, error: unknown, usage?: Usage): FrugalError {
  const { services } = ctx;
  const failure = ctx.signal.aborted && !(error instanceof FrugalError) ? aborted(error) : asFrugal(error);
  if (failure instanceof InvalidRequestError) {
    // The adapter could not express the request: nothing was sent, so there was no attempt.
    ctx.attempts.splice(ctx.attempts.indexOf(attempt), 1);
    failure.attempts = ctx.attempts;
    return failure;
  }
  attempt.status = "error";
  attempt.endedAt = ctx.clock.now();
  attempt.error = {
    name: failure.name,
    message: failure.message,
    ...(failure instanceof ProviderError && { status: failure.status, retryable: failure.retryable }),
  };
  if (usage) {
    attempt.usage = usage;
    attempt.cost = services.prices.cost(attempt.provider, attempt.model, usage);
  }
  failure.attempts = ctx.attempts;
  services.events.emit("attempt", { requestId: ctx.id, attempt });
  return failure;
}

function responseFrom(assembled: StreamAssembler, model: string): ProviderResponse {
  return {
    id: assembled.id,
    model: assembled.model || model,
    content: assembled.content,
    ...(assembled.refusal !== undefined && { refusal: assembled.refusal }),
    finishReason: assembled.finishReason!,
    usage: assembled.usage!,
    raw: undefined,
  };
}

function partialCompletion(assembled: StreamAssembler, ctx: RequestContext, model: string): Completion {
  const attempt = ctx.attempts.at(-1)!;
  return {
    ...responseFrom(assembled, model),
    provider: attempt.provider,
    text: textOf(assembled.content),
    toolCalls: toolCallsOf(assembled.content),
    finishReason: "other",
    usage: assembled.usageSoFar(() => roughInputTokens(ctx.request, attempt.provider, attempt.model)),
    cost: attempt.cost!,
    meta: { requestId: ctx.id, attempts: ctx.attempts, state: ctx.state },
  };
}

/**
 * A provider that answered without reporting usage still billed it: estimate
 * it (flagged) rather than charge $0.
 */
function withUsageEstimate(
  response: ProviderResponse,
  request: ChatRequest,
  attempt: Attempt,
): ProviderResponse {
  const u = response.usage;
  if (!u.estimated || totalInputTokens(u) + u.outputTokens > 0) return response;
  const outputTokens = Math.ceil(outputChars(response.content, response.refusal) / 4);
  return {
    ...response,
    usage: {
      ...u,
      inputTokens: roughInputTokens(request, attempt.provider, attempt.model),
      outputTokens,
      estimated: true,
    },
  };
}

/**
 * A rough input-token figure for a call the provider reported no usage for
 * (a stream cut before it, an answer without it): flagged as an estimate
 * wherever it is used. Text at 4 characters a token; each image by its
 * formula for this model, not as the characters of its data URL (a 1 MB
 * image is about 1,000 tokens, not 250,000).
 */
function roughInputTokens(request: ChatRequest, provider: string, model: string): number {
  const profile = modelProfile({ provider, model });
  let images = 0;
  const json = JSON.stringify([request.system, request.messages, request.tools], (_key, value: unknown) => {
    if (isImagePart(value)) {
      images += imageTokens(
        profile.family,
        profile.base,
        value.detail ?? "auto",
        imageSizeFromUrl(value.url),
      ).tokens;
      return undefined;
    }
    return value;
  });
  return Math.ceil(json.length / 4) + images;
}

function isImagePart(value: unknown): value is ImagePart {
  return typeof value === "object" && value !== null && (value as { type?: unknown }).type === "image";
}

function aborted(cause: unknown): AbortedError {
  return new AbortedError("the request was aborted by the caller", { cause });
}

function asFrugal(error: unknown): FrugalError {
  if (error instanceof FrugalError) return error;
  return new FrugalError(error instanceof Error ? error.message : String(error), { cause: error });
}
