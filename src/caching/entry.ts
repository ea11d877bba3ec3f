import type { Completion } from "../core/completion.js";

/**
 * A stored answer with its provenance (FAILURES.md S2): whose it is, which
 * model made it, when, and for which request, so a purge can find it and an
 * audit can trace it.
 */
export interface CacheEntry {
  /** The answer as served: no meta (a hit gets the current request's), no raw provider body. */
  completion: Omit<Completion, "meta" | "raw">;
  provenance: {
    /** The tenant scope the entry lives in (`"*"` for an explicitly shared cache). */
    tenant: string;
    provider: string;
    model: string;
    /** ISO-8601 time it was stored. */
    storedAt: string;
    /** The id of the request whose answer this is. */
    requestId: string;
    policyVersion: string;
  };
}

export function toCacheEntry(
  completion: Completion,
  provenance: Omit<CacheEntry["provenance"], "provider" | "model" | "storedAt">,
  now: number,
): CacheEntry {
  const { meta: _meta, raw: _raw, ...answer } = completion;
  return {
    completion: answer,
    provenance: {
      ...provenance,
      provider: completion.provider,
      model: completion.model,
      storedAt: new Date(now).toISOString(),
    },
  };
}

export function serializeEntry(entry: CacheEntry): string {
  return JSON.stringify(entry);
}

/** Parses a stored entry; anything malformed is treated as a miss, never served. */
export function parseEntry(text: string | undefined): CacheEntry | undefined {
  if (text === undefined) return undefined;
  try {
    const entry = JSON.parse(text) as CacheEntry;
    return entry?.completion && entry.provenance ? entry : undefined;
  } catch {
    return undefined;
  }
}
