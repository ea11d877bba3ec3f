import type Anthropic from "@anthropic-ai/sdk";
import type { MessageStream } from "@anthropic-ai/sdk/lib/MessageStream";
import type { MessageCreateParams, RawMessageStreamEvent } from "@anthropic-ai/sdk/resources/messages";
import type { FrugalClient } from "../../client.js";
import {
  anySignal,
  interceptMethods,
  loadSdkModule,
  notThroughFrugal,
  sdkLikePromise,
} from "../intercept.js";
import type { WrapOptions } from "../openai/index.js";
import { withRequestId } from "../request-id.js";
import { requestFromAnthropicParams } from "./from-params.js";
import { toAnthropicEvents, toAnthropicMessage } from "./to-sdk.js";

type RequestOptions = { signal?: AbortSignal | null };

/**
 * Returns the host's Anthropic client with `messages.create` and
 * `messages.stream` sent through frugal-llm, returning the SDK's own types
 * (`Message`, `Stream<RawMessageStreamEvent>`, `MessageStream` with
 * `finalMessage()` and its events); every other method is the SDK's.
 *
 * @example
 * const client = wrapAnthropic(new Anthropic(), llm, { metadata: () => ({ tenant: als.getStore()?.tenant }) });
 * const msg = await client.messages.create({ model: "claude-haiku-4-5", max_tokens: 512, messages });
 */
export function wrapAnthropic<T extends Pick<Anthropic, "messages">>(
  sdk: T,
  llm: FrugalClient,
  options: WrapOptions = {},
): T {
  const start = (params: MessageCreateParams, requestOptions: RequestOptions | undefined) => {
    const request = requestFromAnthropicParams(params, options.metadata?.());
    const controller = new AbortController();
    const signal = anySignal([requestOptions?.signal, controller.signal]);
    return { events: toAnthropicEvents(llm.stream(request, { signal })), controller };
  };

  function create(params: MessageCreateParams, requestOptions?: RequestOptions) {
    const call = async () => {
      if (!params.stream) {
        const request = requestFromAnthropicParams(params, options.metadata?.());
        const signal = requestOptions?.signal ?? undefined;
        const completion = await llm.chat(request, signal ? { signal } : {});
        return withRequestId(toAnthropicMessage(completion), completion);
      }
      const { events, controller } = start(params, requestOptions);
      // Imported on first use, as the host imported the SDK (ESM or CJS), so `instanceof Stream` holds.
      const { Stream } = await import("@anthropic-ai/sdk/streaming");
      return new Stream<RawMessageStreamEvent>(() => events[Symbol.asyncIterator](), controller);
    };
    return sdkLikePromise(call(), "wrapAnthropic");
  }

  function stream(
    params: Omit<MessageCreateParams, "stream">,
    requestOptions?: RequestOptions,
  ): MessageStream {
    // `stream()` must return synchronously, so the class is loaded with require: in an ESM
    // host it comes from the SDK's CommonJS build (same behaviour; `instanceof` differs).
    const { MessageStream } = loadSdkModule<{
      MessageStream: typeof import("@anthropic-ai/sdk/lib/MessageStream").MessageStream;
    }>("@anthropic-ai/sdk/lib/MessageStream");
    let started: ReturnType<typeof start> | undefined;
    let iterator: AsyncIterator<RawMessageStreamEvent> | undefined;
    const encoder = new TextEncoder();
    // MessageStream reads newline-delimited JSON events; this feeds it ours.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          started ??= start({ ...params, stream: true } as MessageCreateParams, requestOptions);
          iterator ??= started.events[Symbol.asyncIterator]();
          const next = await iterator.next();
          if (next.done) controller.close();
          else controller.enqueue(encoder.encode(`${JSON.stringify(next.value)}\n`));
        } catch (error) {
          controller.error(error);
        }
      },
      async cancel() {
        started?.controller.abort();
        await iterator?.return?.();
      },
    });
    return MessageStream.fromReadableStream(body);
  }

  return interceptMethods(sdk, {
    "messages.create": create,
    "messages.stream": stream,
    "messages.parse": notThroughFrugal("wrapAnthropic", "messages.parse", "messages.create"),
  });
}
