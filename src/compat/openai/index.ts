import type OpenAI from "openai";
import type { ChatCompletionChunk, ChatCompletionCreateParams } from "openai/resources/chat/completions";
import type { Stream } from "openai/streaming";
import type { FrugalClient } from "../../client.js";
import type { RequestMetadata } from "../../core/request.js";
import { anySignal, interceptMethods, notThroughFrugal, sdkLikePromise } from "../intercept.js";
import { requestFromOpenAIParams } from "./from-params.js";
import { toChatCompletion, toChatCompletionChunks } from "./to-sdk.js";

export interface WrapOptions {
  /**
   * The metadata of each call (tenant, user, task), read from the host's own
   * request context, for example an AsyncLocalStorage. Caches and budgets are
   * scoped by the tenant it returns; callers cannot set it through params.
   */
  metadata?: () => RequestMetadata | undefined;
}

/**
 * Returns the host's OpenAI client with `chat.completions.create` sent
 * through frugal-llm. Existing code keeps its call shape and gets the SDK's
 * own types back (`ChatCompletion`, or a `Stream<ChatCompletionChunk>`);
 * every other method is the SDK's, untouched.
 *
 * @example
 * const client = wrapOpenAI(new OpenAI(), llm, { metadata: () => ({ tenant: als.getStore()?.tenant }) });
 * const res = await client.chat.completions.create({ model: "gpt-4o-mini", messages });
 */
export function wrapOpenAI<T extends Pick<OpenAI, "chat">>(
  sdk: T,
  llm: FrugalClient,
  options: WrapOptions = {},
): T {
  function create(params: ChatCompletionCreateParams, requestOptions?: { signal?: AbortSignal | null }) {
    const call = async () => {
      const request = requestFromOpenAIParams(params, options.metadata?.());
      const callOptions = requestOptions?.signal ? { signal: requestOptions.signal } : {};
      if (!params.stream) return toChatCompletion(await llm.chat(request, callOptions));
      const controller = new AbortController();
      const signal = anySignal([requestOptions?.signal, controller.signal]);
      const stream = llm.stream(request, { signal });
      const includeUsage = params.stream_options?.include_usage === true;
      // Imported on first use, as the host imported the SDK (ESM or CJS), so `instanceof Stream` holds.
      const { Stream } = await import("openai/streaming");
      return new Stream<ChatCompletionChunk>(
        () => toChatCompletionChunks(stream, includeUsage)[Symbol.asyncIterator](),
        controller,
      );
    };
    return sdkLikePromise(call(), "wrapOpenAI");
  }
  const bypass = (method: string) => notThroughFrugal("wrapOpenAI", method, "chat.completions.create");
  return interceptMethods(sdk, {
    "chat.completions.create": create,
    "chat.completions.parse": bypass("chat.completions.parse"),
    "chat.completions.stream": bypass("chat.completions.stream"),
    "chat.completions.runTools": bypass("chat.completions.runTools"),
  });
}

/** The drop-in streamed result type, for hosts that annotate it. */
export type WrappedChatCompletionStream = Stream<ChatCompletionChunk>;
