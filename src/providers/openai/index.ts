import type OpenAI from "openai";
import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions";
import type { Provider, ProviderCallOptions } from "../../core/provider.js";
import type { ChatRequest } from "../../core/request.js";
import { fromSdkError, sdkRequestOptions, withSdkCancel } from "../sdk-calls.js";
import { eventsFromOpenAI, responseFromOpenAI } from "./from-wire.js";
import { toOpenAIParams } from "./to-wire.js";

/** The part of the OpenAI SDK the adapter uses; any v5/v6 `OpenAI` instance fits. */
export type OpenAIClientLike = Pick<OpenAI, "chat">;

/**
 * A provider over the host's OpenAI SDK instance (Chat Completions). The
 * instance keeps its key, base URL and timeout; the adapter only translates.
 *
 * @example
 * const llm = createClient({ providers: { openai: openai(new OpenAI()) } });
 */
export function openai(sdk: OpenAIClientLike): Provider {
  const name = "openai";
  return {
    name,
    async complete(request: ChatRequest, o: ProviderCallOptions) {
      try {
        // Set on the params object, not on a spread copy of it (see validateRequest).
        const params = Object.assign(toOpenAIParams(request, o.model), { stream: false as const });
        const completion = (await sdk.chat.completions.create(
          params,
          sdkRequestOptions(o),
        )) as ChatCompletion;
        return responseFromOpenAI(completion);
      } catch (error) {
        throw fromSdkError(error, name, o.model);
      }
    },
    async stream(request: ChatRequest, o: ProviderCallOptions) {
      let chunks: AsyncIterable<ChatCompletionChunk>;
      try {
        const params = Object.assign(toOpenAIParams(request, o.model), { stream: true as const });
        chunks = await sdk.chat.completions.create(params, sdkRequestOptions(o));
      } catch (error) {
        throw fromSdkError(error, name, o.model);
      }
      return withSdkCancel(eventsFromOpenAI(chunks, o.model), chunks);
    },
  };
}
