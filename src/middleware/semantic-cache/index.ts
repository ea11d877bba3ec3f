import { createHash } from "node:crypto";
import { type AdmissionOptions, bypassReason, isStorable } from "../../caching/admission.js";
import { type CacheEntry, parseEntry, serializeEntry, toCacheEntry } from "../../caching/entry.js";
import { scopeOf, tenantPrefix, tenantScope } from "../../caching/scope.js";
import type { RequestContext } from "../../core/context.js";
import { ConfigError } from "../../core/errors.js";
import type { Middleware } from "../../core/middleware.js";
import { parseOptions } from "../../core/options.js";
import type { Reply } from "../../core/reply.js";
import type { VectorIndex } from "../../storage/vector-index.js";
import { hitReply, savedOf } from "../exact-cache/hit.js";
import { contentWordsGuard, type GuardRejection, guardRejection, resolveGuards } from "./guards.js";
import { type LookupParts, lookupParts, singleTurn } from "./lookup-key.js";
import { optionsSchema, type SemanticCacheOptions } from "./options.js";
import { errorReporter } from "./report.js";
import { verifyHit } from "./verify.js";

export * from "./guards.js";
export { modelFamily, singleTurn } from "./lookup-key.js";
export type { SemanticCacheOptions } from "./options.js";
export type { SemanticCacheErrorInfo } from "./report.js";
export type { VerifyOptions } from "./verify.js";

declare module "../../core/context.js" {
  interface ContextState {
    /** What `semanticCache` looked at for this request: the candidates above the threshold and why each was refused. */
    semanticCache?: SemanticLookup;
  }
}

/** The candidates a lookup found above the threshold, best first, with the reason each was not served. */
export interface SemanticLookup {
  threshold: number;
  candidates: {
    similarity: number;
    served: boolean;
    rejection?: GuardRejection | { guard: "verify"; reason: string };
  }[];
  /** The store key of the entry served, or of the one this request's answer is stored under (once stored), for `purgeKey`. */
  key?: string;
}

/** The semantic cache middleware, with its purge API. */
export interface SemanticCache extends Middleware {
  /**
   * Removes every vector and entry of one tenant's scope (`undefined`: the
   * requests without a tenant; in a shared cache, everything). A store or
   * index failure rejects.
   */
  purgeTenant(tenant: string | undefined): Promise<{ vectors: number; entries: number }>;
  /** Removes one entry and its vector: `key` from `completion.meta.state.semanticCache.key`. */
  purgeKey(tenant: string | undefined, key: string): Promise<boolean>;
}

const PREFIX = "frugal:s";
/** Scores are float32 dot products: allow their rounding, never more. */
const EPSILON = 1e-6;

/**
 * Serves the answer of an earlier prompt that means the same: the same
 * tenant, model family, system prompt, parameters and policy version, a
 * similar question (cosine at or above the threshold), and no false-hit
 * guard objecting (numbers, negation, names, quotes, swapped arguments,
 * antonyms, the kind of question). A hit reports its similarity in
 * `ctx.state.cache` and the cost record, costs $0, and is replayed as a
 * stream when the caller streamed. Only complete answers are stored.
 *
 * @example
 * const cache = semanticCache({
 *   embedder: localEmbedder(), index: memoryVectorIndex(), store: memoryKv(),
 *   policyVersion: "2025-06", ttlMs: 86_400_000,
 * });
 * const llm = createClient({ providers, middleware: [costTracker(), exactCache({ store }), cache] });
 */
export function semanticCache(options: SemanticCacheOptions): SemanticCache {
  const o = parseOptions(optionsSchema, options, "semanticCache");
  const embedder = options.embedder;
  const baseThreshold = o.threshold ?? embedder.recommendedThreshold;
  if (baseThreshold === undefined || !(baseThreshold > 0 && baseThreshold <= 1)) {
    throw new ConfigError(
      `invalid semanticCache options:\n  options.threshold: required, a similarity in (0, 1]: the embedder "${embedder.name}" recommends none`,
    );
  }
  const guards = resolveGuards(options.guards, embedder);
  if (o.threshold === undefined && embedder.lexical && !guards.includes(contentWordsGuard)) {
    // The recommended threshold of a lexical embedder is low because its guards compare the words.
    throw new ConfigError(
      `invalid semanticCache options:\n  options.threshold: required when the lexical embedder "${embedder.name}" runs without the content-words guard: its recommended ${baseThreshold} assumes the lexical guards (docs/embeddings.md)`,
    );
  }
  const eligible = options.eligible ?? singleTurn;
  const admission: AdmissionOptions = { ...o.admission, shared: o.shared };
  const report = errorReporter(options.onError);
  const { index, store } = options;

  const thresholdOf = (ctx: RequestContext) => {
    const task = ctx.request.metadata?.task;
    return task !== undefined && Object.hasOwn(o.thresholdByTask, task)
      ? o.thresholdByTask[task]!
      : baseThreshold;
  };
  const namespaceOf = (ctx: RequestContext, parts: LookupParts) =>
    `${tenantPrefix(PREFIX, tenantScope(ctx, o.shared))}${parts.family}|${embedder.name}|${encodeURIComponent(o.policyVersion)}|${parts.context}`;
  const verifies = (ctx: RequestContext) =>
    o.verify !== undefined &&
    (o.verify.tasks === undefined || o.verify.tasks.includes(ctx.request.metadata?.task ?? ""));

  async function lookup(
    ctx: RequestContext,
    parts: LookupParts,
    namespace: string,
    vector: Float32Array,
    fingerprint: string,
  ): Promise<Reply | undefined> {
    const min = thresholdOf(ctx);
    const trace: SemanticLookup = { threshold: min, candidates: [] };
    ctx.state.semanticCache = trace;
    let matches: Awaited<ReturnType<VectorIndex["query"]>>;
    try {
      matches = await index.query(namespace, vector, o.topK, Math.max(-1, min - EPSILON));
    } catch (error) {
      report(error, { operation: "query", namespace }, ctx);
      return undefined;
    }
    for (const match of matches) {
      if (match.score < min - EPSILON) continue;
      const key = `${namespace}#${match.id}`;
      let text: string | undefined;
      try {
        text = await store.get(key);
      } catch (error) {
        report(error, { operation: "get", namespace }, ctx);
        continue;
      }
      const entry = parseEntry(text) as SemanticEntry | undefined;
      const p = entry?.provenance;
      if (
        !entry ||
        !isAnswer(entry) ||
        p?.policyVersion !== o.policyVersion ||
        p.tenant !== tenantScope(ctx, o.shared)
      ) {
        if (text === undefined) void index.delete(namespace, match.id).catch(() => {}); // its answer expired
        continue;
      }
      // A threshold of 1 means the same vector, not "rounds to 1".
      if (min >= 1 && entry.vector !== fingerprint) continue;
      const similarity = Math.min(1, match.score);
      const candidate: SemanticLookup["candidates"][number] = { similarity, served: false };
      trace.candidates.push(candidate);
      const rejection = guardRejection(guards, parts.prompt, entry.prompt);
      if (rejection) {
        candidate.rejection = rejection;
        continue;
      }
      if (verifies(ctx)) {
        let confirmed = false;
        try {
          confirmed = await verifyHit(ctx, o.verify!, parts.prompt, entry.prompt);
        } catch (error) {
          report(error, { operation: "verify", namespace }, ctx);
        }
        if (!confirmed) {
          candidate.rejection = { guard: "verify", reason: "the verifying model did not confirm the match" };
          continue;
        }
      }
      candidate.served = true;
      trace.key = key;
      const reply = hitReply(ctx, entry.completion, "semantic", savedOf(entry.completion));
      ctx.state.cache = { ...ctx.state.cache!, similarity };
      return reply;
    }
    return undefined;
  }

  function storeLater(
    ctx: RequestContext,
    reply: Reply,
    parts: LookupParts,
    namespace: string,
    vector: Float32Array,
    fingerprint: string,
  ): void {
    const id = createHash("sha256").update(parts.embedded).digest("hex").slice(0, 32);
    const key = `${namespace}#${id}`;
    if (ctx.state.semanticCache) ctx.state.semanticCache.key = key;
    reply.completion.then(
      async (completion) => {
        // A layer below that served the answer from its own cache made no call: not ours to store.
        if (ctx.state.cache?.status === "hit" || !isStorable(completion, ctx)) return;
        const entry: SemanticEntry = {
          ...toCacheEntry(
            completion,
            { tenant: tenantScope(ctx, o.shared), requestId: ctx.id, policyVersion: o.policyVersion },
            ctx.clock.now(),
          ),
          prompt: parts.prompt,
          vector: fingerprint,
        };
        try {
          await store.set(
            key,
            serializeEntry(entry),
            o.ttlMs === Number.POSITIVE_INFINITY ? undefined : o.ttlMs,
          );
        } catch (error) {
          report(error, { operation: "set", namespace }, ctx);
          return;
        }
        try {
          await index.upsert(namespace, id, vector);
        } catch (error) {
          report(error, { operation: "upsert", namespace }, ctx);
        }
      },
      () => {}, // A failure, a cut or an aborted stream is never stored.
    );
  }

  return {
    name: "semanticCache",
    async handle(ctx, next) {
      const parts = eligible(ctx.request) ? lookupParts(ctx) : undefined;
      const reason = bypassReason(ctx.request, admission);
      if (!parts || reason !== undefined) {
        // An exact cache before this one may have recorded its miss: that stays the outcome.
        ctx.state.cache ??= { status: "bypass", kind: "semantic" };
        return next(ctx);
      }
      const namespace = namespaceOf(ctx, parts);
      let vector: Float32Array | undefined;
      try {
        [vector] = await embedder.embed([parts.embedded], ctx);
      } catch (error) {
        if (ctx.signal.aborted) throw error; // the caller gave up: no point calling the provider
        report(error, { operation: "embed", namespace }, ctx);
      }
      if (!vector || vector.length === 0) {
        ctx.state.cache = { status: "miss", kind: "semantic" };
        return next(ctx);
      }
      const fingerprint = createHash("sha256")
        .update(new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength))
        .digest("hex")
        .slice(0, 32);
      const hit = await lookup(ctx, parts, namespace, vector, fingerprint);
      if (hit) return hit;
      ctx.state.cache = { status: "miss", kind: "semantic" };
      const reply = await next(ctx);
      storeLater(ctx, reply, parts, namespace, vector, fingerprint);
      return reply;
    },
    async purgeTenant(tenant) {
      const prefix = tenantPrefix(PREFIX, scopeOf(tenant, o.shared));
      const [vectors, entries] = await Promise.all([
        index.deleteNamespaces(prefix),
        store.deletePrefix(prefix),
      ]);
      return { vectors, entries };
    },
    async purgeKey(tenant, key) {
      const prefix = tenantPrefix(PREFIX, scopeOf(tenant, o.shared));
      const hash = key.lastIndexOf("#");
      if (!key.startsWith(prefix) || hash < 0)
        throw new RangeError(
          `semanticCache.purgeKey: the key is not in the scope of tenant ${String(tenant)}`,
        );
      const [removed] = await Promise.all([
        store.delete(key),
        index.delete(key.slice(0, hash), key.slice(hash + 1)),
      ]);
      return removed > 0;
    },
  };
}

/** A stored answer, with the prompt it answers (for the guards) and its vector's fingerprint (for threshold 1). */
interface SemanticEntry extends CacheEntry {
  prompt: string;
  vector: string;
}

/** The fields a hit reads, there and of the right kind: a corrupted entry is skipped, never a broken reply. */
function isAnswer(entry: SemanticEntry): boolean {
  const c = entry.completion;
  return (
    typeof entry.prompt === "string" &&
    typeof entry.vector === "string" &&
    Array.isArray(c?.content) &&
    Array.isArray(c.toolCalls) &&
    typeof c.text === "string" &&
    typeof c.finishReason === "string" &&
    typeof c.usage?.outputTokens === "number" &&
    typeof c.cost?.priced === "boolean"
  );
}
