import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { Completion, CompletionMeta, StreamEvent } from "./core/completion.js";
import {
  type Clock,
  type ContextState,
  NEVER_ABORTED,
  type RequestContext,
  type ResolvedModel,
  type Services,
} from "./core/context.js";
import { dispatch } from "./core/dispatch.js";
import { ConfigError, InvalidRequestError } from "./core/errors.js";
import { EventBus, type EventName, type Listener } from "./core/events.js";
import { type Logger, redactingLogger } from "./core/logger.js";
import { compose, type Middleware, type Next } from "./core/middleware.js";
import { parseOptions } from "./core/options.js";
import type { PriceBook } from "./core/pricing.js";
import type { Provider } from "./core/provider.js";
import { type Reply, replayEvents } from "./core/reply.js";
import type { ChatRequestInput } from "./core/request.js";
import { validateRequest } from "./core/validate-request.js";
import { priceBook } from "./pricing/price-book.js";
import { type TokenEstimator, tokenEstimator } from "./tokens/estimator.js";

export interface ClientConfig {
  /** Provider adapters by model-ref prefix: `{ openai: openai(new OpenAI()) }`. At least one. */
  providers: Record<string, Provider>;
  /** Outermost first: the first sees the request first and the reply last. */
  middleware?: readonly Middleware[];
  /** Host names for models: `{ fast: "openai:gpt-4o-mini" }`. Targets must be `provider:model`. */
  aliases?: Record<string, string>;
  /** Prices for cost figures. Default: `priceBook()` (the genai-prices data). Unknown models are reported as unpriced, never $0. */
  prices?: PriceBook;
  /** Receives the library's log lines, with credentials redacted. Default: `console` for warnings and errors. */
  logger?: Logger;
  /** Time source, injectable for tests. Default `Date`. */
  clock?: Clock;
  /**
   * Token estimates for the middleware that need them (budget, router,
   * compaction), calibrated from the usage providers report. Default: a
   * `tokenEstimator()` of this client's own.
   */
  tokens?: TokenEstimator;
}

export interface CallOptions {
  /** Aborts the call, and the provider request under it. */
  signal?: AbortSignal;
}

/** A streamed call: iterate it for events, then take the final answer. */
export interface ChatStream extends AsyncIterable<StreamEvent> {
  /**
   * Settles with the final answer once the stream has been read to its end
   * (it rejects if the stream fails or its reader stops early). It does not
   * read the stream itself: use {@link ChatStream.finalCompletion} for that.
   */
  readonly completion: Promise<Completion>;
  /** Reads whatever nobody has read yet (discarding those events) and resolves with the final answer. */
  finalCompletion(): Promise<Completion>;
}

export interface FrugalClient {
  /** One call through the middleware, resolved with the final completion. */
  chat(request: ChatRequestInput, options?: CallOptions): Promise<Completion>;
  /** One streamed call through the middleware. The call starts at once. */
  stream(request: ChatRequestInput, options?: CallOptions): ChatStream;
  /** Subscribes to an event; returns the function that unsubscribes. */
  on<K extends EventName>(name: K, listener: Listener<K>): () => void;
}

const configSchema = z
  .object({
    providers: z
      .record(
        z.string().regex(/^[a-z0-9_-]+$/i, "a provider name is letters, digits, '-' or '_'"),
        z.custom<Provider>(
          (p) =>
            typeof p === "object" &&
            p !== null &&
            typeof (p as Provider).complete === "function" &&
            typeof (p as Provider).stream === "function",
          "expected a provider adapter such as openai(new OpenAI())",
        ),
      )
      .refine((p) => Object.keys(p).length > 0, "at least one provider is required"),
    middleware: z
      .array(
        z.custom<Middleware>(
          (m) => typeof m === "object" && m !== null && typeof (m as Middleware).handle === "function",
          "expected a middleware: an object with a handle(ctx, next) method",
        ),
      )
      .optional(),
    aliases: z
      .record(z.string(), z.string().regex(/^[^:]+:.+$/, "an alias target is 'provider:model'"))
      .optional(),
    prices: z
      .custom<PriceBook>((p) => typeof (p as PriceBook)?.cost === "function", "expected a PriceBook")
      .optional(),
    logger: z
      .custom<Logger>((l) => typeof (l as Logger)?.warn === "function", "expected a logger")
      .optional(),
    clock: z
      .custom<Clock>((c) => typeof (c as Clock)?.now === "function", "expected { now(): number }")
      .optional(),
    tokens: z
      .custom<TokenEstimator>(
        (t) => typeof (t as TokenEstimator)?.estimateRequest === "function",
        "expected a TokenEstimator (tokenEstimator())",
      )
      .optional(),
  })
  .strict();

/**
 * Creates a client that sends every call through the host's middleware to
 * the host's SDK instances.
 *
 * @example
 * const llm = createClient({
 *   providers: { openai: openai(new OpenAI()), anthropic: anthropic(new Anthropic()) },
 *   middleware: [myLogger],
 * });
 * const res = await llm.chat({ model: "anthropic:claude-haiku-4-5", messages: [{ role: "user", content: "Hi" }] });
 */
export function createClient(config: ClientConfig): FrugalClient {
  parseOptions(configSchema, config, "createClient", "config");
  const middleware = config.middleware ?? [];
  const providers = new Map(Object.entries(config.providers));
  const aliases = new Map(Object.entries(config.aliases ?? {}));
  for (const [alias, target] of aliases) {
    const prefix = target.slice(0, target.indexOf(":"));
    if (!providers.has(prefix)) {
      throw new ConfigError(`config.aliases.${alias}: provider "${prefix}" is not configured`);
    }
  }
  const log = redactingLogger(config.logger ?? consoleLogger);
  const events = new EventBus((error, event) => {
    try {
      log.error(`a listener of "${event}" threw`, { error });
    } catch {
      // A failing logger must not fail the LLM call either.
    }
  });
  const clock = config.clock ?? Date;

  const services: Services = {
    providers,
    resolveModel: (ref) => resolveModel(ref, providers, aliases),
    prices: warnWhenUnpriced(config.prices ?? priceBook(), events),
    events,
    log,
    dispatch,
    sdkMaxRetries: middleware.some((m) => m.ownsRetries) ? 0 : undefined,
    tokens: config.tokens ?? tokenEstimator(),
  };
  const pipeline: Next = compose(middleware, dispatch);

  /** A new request's context; throws if the request is invalid. */
  function contextFor(input: ChatRequestInput, stream: boolean, options: CallOptions): RequestContext {
    const request = validateRequest(input, stream);
    return {
      id: randomUUID(),
      request,
      purpose: "primary",
      state: {} as ContextState,
      attempts: [],
      signal: options.signal ?? NEVER_ABORTED,
      clock,
      startedAt: clock.now(),
      services,
    };
  }

  /** A streamed call's reply, its completion carrying this request's meta. */
  async function streamReply(input: ChatRequestInput, options: CallOptions): Promise<Reply> {
    const ctx = contextFor(input, true, options);
    const reply = await pipeline(ctx);
    const meta = metaOf(ctx);
    const completion = reply.completion.then((c) => ({ ...c, meta }));
    completion.catch(() => {});
    return { completion, ...(reply.events && { events: reply.events }) };
  }

  return {
    async chat(input, options = {}) {
      const ctx = contextFor(input, false, options);
      const reply = await pipeline(ctx);
      if (reply.events) {
        // A middleware may answer with a stream even here; read it so the completion settles
        // (it may reject while the events are read: it is awaited below).
        reply.completion.catch(() => {});
        for await (const _ of reply.events);
      }
      return { ...(await reply.completion), meta: metaOf(ctx) };
    },
    stream(input, options = {}) {
      const reply = streamReply(input, options);
      const completion = reply.then((r) => r.completion);
      completion.catch(() => {});
      let reading = false;
      // Hands the reader the reply's own iterator once it exists: no extra generator per event.
      const events = (): AsyncIterator<StreamEvent> => {
        reading = true;
        let inner: AsyncIterator<StreamEvent> | undefined;
        const open = async () => {
          const r = await reply;
          inner ??= (r.events ?? replayEvents(await r.completion))[Symbol.asyncIterator]();
          return inner;
        };
        const finish = (it: AsyncIterator<StreamEvent>, value?: unknown) =>
          it.return?.(value) ?? Promise.resolve({ done: true as const, value: undefined });
        // Once the reply's iterator exists, each event is its own `next()`: no await in between.
        return {
          next: () => (inner ? inner.next() : open().then((it) => it.next())),
          return: (value?: unknown) =>
            inner ? finish(inner, value) : open().then((it) => finish(it, value)),
        };
      };
      return {
        completion,
        [Symbol.asyncIterator]: events,
        async finalCompletion() {
          if (!reading) for await (const _ of { [Symbol.asyncIterator]: events });
          return completion;
        },
      };
    },
    on: (name, listener) => events.on(name, listener),
  };
}

/** Meta always describes the caller's request, even when a cache supplied the answer. */
function metaOf(ctx: RequestContext): CompletionMeta {
  return { requestId: ctx.id, attempts: ctx.attempts, state: ctx.state };
}

/** Bare names of well-known families resolve to their provider when it is configured. */
const FAMILIES: readonly [RegExp, string][] = [
  [/^(gpt-|o\d|chatgpt-|ft:gpt|text-embedding-)/, "openai"],
  [/^claude-/, "anthropic"],
];

export function resolveModel(
  ref: string,
  providers: ReadonlyMap<string, Provider>,
  aliases: ReadonlyMap<string, string>,
): ResolvedModel {
  const target = aliases.get(ref) ?? ref;
  const colon = target.indexOf(":");
  if (colon > 0 && providers.has(target.slice(0, colon))) {
    return { provider: target.slice(0, colon), model: target.slice(colon + 1) };
  }
  if (target === "auto") {
    throw new InvalidRequestError('request.model: "auto" needs a router middleware to choose a model', [
      "request.model: no middleware replaced 'auto' with a model",
    ]);
  }
  if (providers.size === 1 && colon < 0) return { provider: providers.keys().next().value!, model: target };
  // A colon that no configured provider claims may belong to the model (`ft:gpt-4o-mini:acme`).
  for (const [pattern, provider] of FAMILIES) {
    if (pattern.test(target) && providers.has(provider)) return { provider, model: target };
  }
  const known = [...providers.keys()].join(", ");
  throw new InvalidRequestError(
    `request.model: cannot resolve "${ref}"; use "provider:model" with a configured provider (${known}) or an alias`,
    [`request.model: unknown model or provider "${ref}"`],
  );
}

/** Emits one `warning` event per model that has no price, so a host learns of it without a flood. */
function warnWhenUnpriced(prices: PriceBook, events: EventBus): PriceBook {
  const warned = new Set<string>();
  return {
    cost(provider, model, usage, options) {
      const cost = prices.cost(provider, model, usage, options);
      if (!cost.priced) {
        const ref = `${provider}:${model}`;
        if (!warned.has(ref) && warned.size < 1000) {
          warned.add(ref);
          events.emit("warning", { code: "unpriced-model", message: cost.reason });
        }
      }
      return cost;
    },
  };
}

const consoleLogger: Logger = {
  debug() {},
  info() {},
  warn: (message, fields) => console.warn(`[frugal-llm] ${message}`, fields ?? ""),
  error: (message, fields) => console.error(`[frugal-llm] ${message}`, fields ?? ""),
};
