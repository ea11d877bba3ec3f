import { LRUCache } from "lru-cache";
import { z } from "zod";
import type { RequestContext } from "../core/context.js";
import { parseOptions } from "../core/options.js";
import type { EmbedderAdvice } from "./advice.js";
import type { Embedder } from "./embedder.js";

export interface CachedEmbedderOptions {
  /** Most vectors kept. Default 10,000; at least 1. */
  max?: number;
  /** Most bytes of vectors and texts kept. Default 64 MiB; at least 1 KiB. */
  maxBytes?: number;
  /**
   * Share vectors across tenants. Default `false`: a vector is reused only
   * for the tenant (`ctx.request.metadata.tenant`) that paid for it, so that
   * how fast a text embeds never tells one tenant what another asked
   * (FAILURES.md S1). Set `true` when every tenant is the host itself.
   */
  shareAcrossTenants?: boolean;
}

const optionsSchema = z
  .object({
    max: z.number().int().min(1).optional(),
    maxBytes: z.number().int().min(1024).optional(),
    shareAcrossTenants: z.boolean().optional(),
  })
  .strict();

/**
 * Wraps an embedder so that identical text is embedded once: vectors are
 * kept in a bounded LRU cache keyed by the exact text, and a batch with the
 * same text twice sends it once. Only the texts not yet known reach the
 * inner embedder (so only they are billed). The same text gives the same
 * vector, cached or not.
 *
 * @example
 * const embedder = cachedEmbedder(openaiEmbedder(new OpenAI()));
 */
export function cachedEmbedder<E extends Embedder>(
  inner: E,
  options: CachedEmbedderOptions = {},
): Embedder & EmbedderAdvice {
  parseOptions(optionsSchema, options, "cachedEmbedder");
  const share = options.shareAcrossTenants ?? false;
  const vectors = new LRUCache<string, Float32Array>({
    max: options.max ?? 10_000,
    maxSize: options.maxBytes ?? 64 * 1024 * 1024,
    sizeCalculation: (vector, key) => vector.byteLength + key.length * 2,
  });
  const { recommendedThreshold, lexical } = inner as EmbedderAdvice;
  return {
    ...(recommendedThreshold !== undefined && { recommendedThreshold }),
    ...(lexical !== undefined && { lexical }),
    name: inner.name,
    dimensions: inner.dimensions,
    async embed(texts: readonly string[], ctx?: RequestContext): Promise<Float32Array[]> {
      const scope = share ? "" : `${ctx?.request.metadata?.tenant ?? "-"}\u0000`;
      const out: (Float32Array | undefined)[] = texts.map((t) => vectors.get(scope + t));
      const missing = [...new Set(texts.filter((_, i) => out[i] === undefined))];
      if (missing.length) {
        const fresh = await inner.embed(missing, ctx);
        const byText = new Map(missing.map((t, i) => [t, fresh[i]!]));
        for (const [t, v] of byText) vectors.set(scope + t, v);
        texts.forEach((t, i) => {
          out[i] ??= byText.get(t);
        });
      }
      return out.map((v) => v!.slice());
    },
  };
}
