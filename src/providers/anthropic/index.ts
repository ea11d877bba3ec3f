import type Anthropic from "@anthropic-ai/sdk";
import type { Message, RawMessageStreamEvent } from "@anthropic-ai/sdk/resources/messages";
import { ConfigError } from "../../core/errors.js";
import type { Provider, ProviderCallOptions } from "../../core/provider.js";
import type { ChatRequest } from "../../core/request.js";
import { fromSdkError, sdkRequestOptions, withSdkCancel } from "../sdk-calls.js";
import { eventsFromAnthropic, responseFromAnthropic } from "./from-wire.js";
import { toAnthropicParams } from "./to-wire.js";

/** The part of the Anthropic SDK the adapter uses. */
export type AnthropicClientLike = Pick<Anthropic, "messages">;

export interface AnthropicProviderOptions {
  /**
   * `max_tokens` sent when a request sets no `maxOutputTokens` (Anthropic
   * requires one). Default 4096. Must be a positive integer.
   */
  defaultMaxTokens?: number;
}

/**
 * A provider over the host's Anthropic SDK instance (Messages API).
 *
 * @example
 * const llm = createClient({ providers: { anthropic: anthropic(new Anthropic()) } });
 */
export function anthropic(sdk: AnthropicClientLike, options: AnthropicProviderOptions = {}): Provider {
  const name = "anthropic";
  const defaultMaxTokens = options.defaultMaxTokens ?? 4096;
  if (!Number.isInteger(defaultMaxTokens) || defaultMaxTokens <= 0) {
    throw new ConfigError(`anthropic: defaultMaxTokens must be a positive integer, got ${defaultMaxTokens}`);
  }
  return {
    name,
    async complete(request: ChatRequest, o: ProviderCallOptions) {
      try {
        // Set on the params object, not on a spread copy of it (see validateRequest).
        const params = Object.assign(toAnthropicParams(request, o.model, defaultMaxTokens), {
          stream: false as const,
        });
        const message = (await sdk.messages.create(params, sdkRequestOptions(o))) as Message;
        return responseFromAnthropic(message);
      } catch (error) {
        throw fromSdkError(error, name, o.model);
      }
    },
    async stream(request: ChatRequest, o: ProviderCallOptions) {
      let events: AsyncIterable<RawMessageStreamEvent>;
      try {
        const params = Object.assign(toAnthropicParams(request, o.model, defaultMaxTokens), {
          stream: true as const,
        });
        events = await sdk.messages.create(params, sdkRequestOptions(o));
      } catch (error) {
        throw fromSdkError(error, name, o.model);
      }
      return withSdkCancel(eventsFromAnthropic(events, o.model), events);
    },
  };
}
