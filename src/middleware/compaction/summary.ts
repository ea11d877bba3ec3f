import { createHash } from "node:crypto";
import { z } from "zod";
import { scopedKey, tenantScope } from "../../caching/scope.js";
import type { RequestContext } from "../../core/context.js";
import type { ChatRequest, Message } from "../../core/request.js";
import type { KeyValueStore } from "../../storage/kv.js";
import { memoryKv } from "../../storage/memory/kv.js";
import { transcript } from "./turns.js";

/** The cheap model that writes summaries, and where they are kept. */
export interface SummarizerOptions {
  /** The model ref (`openai:gpt-4o-mini`) or alias of the summarizing model: pick a cheap one. */
  model: string;
  /** Most tokens a summary may take. Default 512; a positive integer. */
  maxOutputTokens?: number;
  /**
   * Where summaries are cached, by tenant and conversation prefix. Default: a
   * `memoryKv` of 10,000 entries and 32 MiB per middleware. Share a
   * `redisKv` to reuse summaries across processes.
   */
  cache?: KeyValueStore;
  /** How long a summary is kept, in ms. Default 86,400,000 (a day); a positive integer. */
  ttlMs?: number;
}

export const summarizerSchema = z
  .object({
    model: z.string().min(1),
    maxOutputTokens: z.number().int().positive().default(512),
    cache: z
      .custom<KeyValueStore>(
        (s) =>
          typeof (s as KeyValueStore)?.get === "function" && typeof (s as KeyValueStore)?.set === "function",
        "expected a KeyValueStore such as memoryKv() or redisKv({ client })",
      )
      .optional(),
    ttlMs: z.number().int().positive().default(86_400_000),
  })
  .strict();

/** Where a summary came from: the cache, the previous turn's summary extended, or written from scratch. */
export type SummarySource = "cache" | "extended" | "fresh";

const SYSTEM =
  "You compress conversations. Write a concise summary of the conversation you are given: the user's " +
  "goals and constraints, facts and numbers established, decisions made, tool results that matter, and " +
  "open questions. Write it in the conversation's language, as plain prose or short bullet points, " +
  "without a preamble.";

/** Earlier prefixes looked up when the exact one is not cached, so turn N+1 extends turn N's summary. */
const LOOKBACK = 4;

/**
 * Summaries of a conversation's first turns, cached per tenant and prefix
 * (system prompt and turns, hashed), and rolled forward: when the prefix
 * grows by a turn or a few, the longest cached shorter prefix's summary is
 * extended with the new turns rather than everything summarized again. The
 * summary is a side call through `ctx.services.dispatch`, recorded on the
 * request's attempts with its label, so its cost is never invisible.
 */
export class RollingSummarizer {
  readonly #cache: KeyValueStore;
  readonly #inFlight = new Map<string, Promise<string>>();

  constructor(
    readonly options: z.output<typeof summarizerSchema>,
    /** The attempt label and the cache namespace: `compaction-summary`, `budget-summary`. */
    readonly label: string,
  ) {
    this.#cache = options.cache ?? memoryKv({ maxEntries: 10_000, maxBytes: 32 * 1024 * 1024 });
  }

  /** The summary of `turns[0..count)`, from the cache or written now. */
  async summarize(
    ctx: RequestContext,
    system: ChatRequest["system"],
    turns: readonly (readonly Message[])[],
    count: number,
  ): Promise<{ text: string; source: SummarySource }> {
    const keys = this.#prefixKeys(ctx, system, turns, count);
    const key = keys[count]!;
    const floor = Math.max(1, count - LOOKBACK);
    const candidates = keys.slice(floor, count + 1);
    const found = await Promise.all(candidates.map((k) => this.#cache.get(k!).catch(() => undefined)));
    const exact = found.at(-1);
    if (exact !== undefined) return { text: exact, source: "cache" };

    let from = 0;
    let previous: string | undefined;
    for (let i = found.length - 2; i >= 0; i--) {
      if (found[i] !== undefined) {
        from = floor + i;
        previous = found[i];
        break;
      }
    }
    let flight = this.#inFlight.get(key);
    if (!flight) {
      flight = this.#write(ctx, previous, turns.slice(from, count));
      this.#inFlight.set(key, flight);
      flight
        .then((text) => this.#cache.set(key, text, this.options.ttlMs))
        .catch(() => {}) // a failed write only costs a later summary
        .finally(() => this.#inFlight.delete(key));
    }
    return { text: await flight, source: previous === undefined ? "fresh" : "extended" };
  }

  async #write(ctx: RequestContext, previous: string | undefined, turns: readonly (readonly Message[])[]) {
    const body =
      previous === undefined
        ? `Summarize this conversation:\n\n${transcript(turns)}`
        : `Here is the summary of the conversation so far:\n\n${previous}\n\n` +
          `These turns followed it:\n\n${transcript(turns)}\n\nWrite the updated summary of the whole conversation.`;
    const { tenant, user } = ctx.request.metadata ?? {};
    const request: ChatRequest = {
      model: this.options.model,
      system: SYSTEM,
      messages: [{ role: "user", content: body }],
      maxOutputTokens: this.options.maxOutputTokens,
      temperature: 0,
      stream: false,
      ...((tenant !== undefined || user !== undefined) && {
        metadata: { ...(tenant !== undefined && { tenant }), ...(user !== undefined && { user }) },
      }),
    };
    const reply = await ctx.services.dispatch({ ...ctx, request, purpose: "side-call", label: this.label });
    const text = (await reply.completion).text.trim();
    if (text === "") throw new Error(`${this.label}: the summarizer answered with no text`);
    return text;
  }

  /** Cache keys of every prefix `turns[0..i)`, i = 0..count, chained so each costs one hash of its turn. */
  #prefixKeys(
    ctx: RequestContext,
    system: ChatRequest["system"],
    turns: readonly (readonly Message[])[],
    count: number,
  ): string[] {
    const scope = tenantScope(ctx, false);
    let hash = sha256(JSON.stringify([this.label, this.options.model, this.options.maxOutputTokens, system]));
    const keys = [scopedKey("frugal:sum", scope, hash)];
    for (let i = 0; i < count; i++) {
      hash = sha256(hash + JSON.stringify(turns[i]));
      keys.push(scopedKey("frugal:sum", scope, hash));
    }
    return keys;
  }
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
