// Running sums behind report(): money in integer nano-dollars (see nano-usd.ts)
// until figures() converts it once.
import { addUsage, emptyUsage, type Usage } from "../core/completion.js";
import type { CostRecord } from "../core/cost-record.js";
import { fromNanoUsd, toNanoUsd } from "./nano-usd.js";
import type { Breakdown, CacheFigures } from "./report.js";

/** Sums of one slice, with money in nano-dollars until `figures()`. */
export class Slice {
  requests = 0;
  private costNano = 0;
  private unpriced = 0;
  private savingsNano = 0;
  private readonly usage = emptyUsage();

  add(r: CostRecord): void {
    this.requests++;
    if (r.cost.priced) this.costNano += toNanoUsd(r.cost.usd);
    else this.unpriced++;
    if (r.savingsUsd !== null) this.savingsNano += toNanoUsd(r.savingsUsd);
    addUsage(this.usage, r.usage);
  }

  figures(): Breakdown {
    return {
      requests: this.requests,
      costUsd: fromNanoUsd(this.costNano),
      unpricedRequests: this.unpriced,
      usage: { ...this.usage },
      savingsUsd: fromNanoUsd(this.savingsNano),
    };
  }
}

/**
 * `CostRecord.cache` does not (yet) carry the served answer's usage; when the
 * cost tracker copies `CacheOutcome.saved` into it, `savedTokens` counts it.
 */
type RecordCache = NonNullable<CostRecord["cache"]> & { saved?: { usage?: Usage } };

export class CacheTally {
  private hits = 0;
  private misses = 0;
  private bypasses = 0;
  private savedNano = 0;
  private withoutUsd = 0;
  private withoutTokens = 0;
  private readonly savedTokens = emptyUsage();

  add(r: CostRecord): void {
    const cache = r.cache as RecordCache;
    if (cache.status === "miss") this.misses++;
    else if (cache.status === "bypass") this.bypasses++;
    else {
      this.hits++;
      if (r.savingsUsd === null) this.withoutUsd++;
      else this.savedNano += toNanoUsd(r.savingsUsd);
      if (cache.saved?.usage) addUsage(this.savedTokens, cache.saved.usage);
      else this.withoutTokens++;
    }
  }

  figures(): CacheFigures {
    return {
      hits: this.hits,
      misses: this.misses,
      bypasses: this.bypasses,
      hitRate: share(this.hits, this.hits + this.misses),
      savedUsd: fromNanoUsd(this.savedNano),
      hitsWithoutSavedUsd: this.withoutUsd,
      savedTokens: { ...this.savedTokens },
      hitsWithoutSavedTokens: this.withoutTokens,
    };
  }
}

export function slice(map: Map<string, Slice>, key: string): Slice {
  return entry(map, key, () => new Slice());
}

/** The value at `key`, made and stored first if missing. */
export function entry<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

export function share(part: number, whole: number): number | null {
  return whole === 0 ? null : part / whole;
}
