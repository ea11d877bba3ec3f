import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { z } from "zod";
import type { Cost, Usage } from "../core/completion.js";
import { parseOptions } from "../core/options.js";
import type { PriceBook } from "../core/pricing.js";
import { costOf, type ModelRates } from "./rates.js";

export interface PriceBookOptions {
  /**
   * Host prices by model ref (`"openai:ft:gpt-4o-mini:acme"`, `"local:llama-3"`):
   * full rates for models the price library does not know (fine-tuned,
   * self-hosted), or `{ discountPct }` off the library's prices for a
   * negotiated discount. Overrides win over the library.
   */
  overrides?: Record<string, ModelRates | { discountPct: number }>;
  /** Share taken off batch-API calls, 0..1. Default 0.5 (OpenAI and Anthropic batch prices). */
  batchDiscount?: number;
  /** Use `@pydantic/genai-prices` for models without an override. Default true. */
  library?: boolean;
}

const rateSchema = z
  .object({
    input: z.number().min(0),
    output: z.number().min(0),
    cacheRead: z.number().min(0).optional(),
    cacheWrite5m: z.number().min(0).optional(),
    cacheWrite1h: z.number().min(0).optional(),
  })
  .strict();
const optionsSchema = z
  .object({
    overrides: z
      .record(
        z.string().regex(/^[^:]+:.+$/, "a model ref is 'provider:model'"),
        z.union([
          rateSchema.extend({
            tiers: z.array(rateSchema.extend({ above: z.number().int().min(0) })).optional(),
          }),
          z.object({ discountPct: z.number().min(0).max(100) }).strict(),
        ]),
      )
      .optional(),
    batchDiscount: z.number().min(0).max(1).optional(),
    library: z.boolean().optional(),
  })
  .strict();

/**
 * Prices from the maintained `@pydantic/genai-prices` data (bundled: no
 * network at run time), with host overrides. Every bucket is priced: cached
 * input, cache writes by TTL, long-context tiers, batch discount. A model with
 * no known price is `priced: false` with the reason, never $0.
 *
 * @example
 * const llm = createClient({
 *   providers,
 *   prices: priceBook({ overrides: { "openai:ft:gpt-4o-mini:acme": { input: 0.3, output: 1.2 } } }),
 * });
 */
export function priceBook(options: PriceBookOptions = {}): PriceBook {
  parseOptions(optionsSchema, options, "priceBook");
  const overrides = new Map(Object.entries(options.overrides ?? {}));
  const batchDiscount = options.batchDiscount ?? 0.5;
  const useLibrary = options.library ?? true;
  // Bounded: model names come from requests, and a cache that grows without bound is a bug.
  // Every priced call looks up here, so it is kept cheap: a plain Map that drops its oldest
  // entry when full (far less code per lookup than an LRU; a host's few models stay in it),
  // and in front of it the last model looked up, which is usually the next one too.
  const found = new Map<string, Entry>();
  let last: { provider: string; model: string; entry: Entry } | undefined;

  function lookup(provider: string, model: string): Entry {
    if (last?.provider === provider && last.model === model) return last.entry;
    const entry = find(provider, model);
    last = { provider, model, entry };
    return entry;
  }

  function find(provider: string, model: string): Entry {
    const ref = `${provider}:${model}`;
    const cached = found.get(ref);
    if (cached) return cached;
    // Providers answer with dated snapshots (gpt-4o-mini-2024-07-18): an override for the undated name applies.
    const override = overrides.get(ref) ?? overrides.get(`${provider}:${undated(model)}`);
    let result: Entry;
    if (override && !("discountPct" in override)) {
      result = { rates: override, source: `override ${ref}` };
    } else {
      const library = useLibrary ? libraryRates(provider, model) : undefined;
      if (!library) {
        result = {
          missing: `no price for ${ref}${useLibrary ? ` in ${LIBRARY}` : ""}; add a priceBook override`,
        };
      } else if (override) {
        const keep = 1 - override.discountPct / 100;
        result = {
          rates: scale(library.rates, keep),
          source: `${library.source} less ${override.discountPct}% (override)`,
        };
      } else {
        result = library;
      }
    }
    if (found.size >= FOUND_MAX) found.delete(found.keys().next().value!);
    found.set(ref, result);
    return result;
  }

  return {
    cost(provider: string, model: string, usage: Usage, opts?: { batch?: boolean }): Cost {
      const entry = lookup(provider, model);
      if ("missing" in entry)
        return { priced: false, usd: null, reason: entry.missing, estimated: usage.estimated === true };
      const discount = opts?.batch ? batchDiscount : 0;
      return costOf(usage, entry.rates, opts?.batch ? `${entry.source}, batch` : entry.source, discount);
    },
  };
}

/** A model's rates and where they come from, or why it has none. */
type Entry = { rates: ModelRates; source: string } | { missing: string };

const LIBRARY = "@pydantic/genai-prices";
/** Most models whose price lookup is kept. */
const FOUND_MAX = 1000;

type GenaiPrice = number | { base: number; tiers: { start: number; price: number }[] } | undefined;
interface GenaiPrices {
  calcPrice(
    usage: Record<string, number>,
    model: string,
    options: { providerId: string },
  ): { model: { id: string }; provider: { id: string }; model_price: Record<string, GenaiPrice> } | null;
}

// Loaded on first use: the price data is large, and importing the library must stay fast.
let genai: GenaiPrices | undefined;
const requireFromHere = createRequire(import.meta.url);

function libraryRates(provider: string, model: string): { rates: ModelRates; source: string } | undefined {
  genai ??= requireFromHere("@pydantic/genai-prices") as GenaiPrices;
  const result = genai.calcPrice({ input_tokens: 1, output_tokens: 1 }, model, { providerId: provider });
  if (!result) return undefined;
  const p = result.model_price;
  if (p.input_mtok === undefined) return undefined;
  const base = (key: string) => {
    const v = p[key];
    return v === undefined ? undefined : typeof v === "number" ? v : v.base;
  };
  const rates: ModelRates = {
    input: base("input_mtok")!,
    ...defined("output", base("output_mtok")),
    ...defined("cacheRead", base("cache_read_mtok")),
    ...defined("cacheWrite5m", base("cache_write_mtok")),
    ...defined("cacheWrite1h", base("cache_write_1h_mtok")),
  };
  const starts = new Set<number>();
  for (const v of Object.values(p))
    if (v && typeof v === "object") for (const t of v.tiers) starts.add(t.start);
  const tiers = [...starts]
    .sort((a, b) => a - b)
    .map((start) => {
      const at = (key: string) => {
        const v = p[key];
        if (v === undefined || typeof v === "number") return v;
        let price = v.base;
        for (const t of v.tiers) if (start >= t.start) price = t.price;
        return price;
      };
      return {
        above: start,
        input: at("input_mtok")!,
        ...defined("output", at("output_mtok")),
        ...defined("cacheRead", at("cache_read_mtok")),
        ...defined("cacheWrite5m", at("cache_write_mtok")),
        ...defined("cacheWrite1h", at("cache_write_1h_mtok")),
      };
    });
  return {
    rates: tiers.length ? { ...rates, tiers } : rates,
    source: `${LIBRARY}@${libraryVersion()} ${result.provider.id}/${result.model.id}`,
  };
}

let version: string | undefined;

/** The price data's version, so every cost names the data it came from. */
function libraryVersion(): string {
  // The package does not export its package.json; it sits beside its dist/ folder.
  version ??= (
    JSON.parse(
      readFileSync(join(dirname(requireFromHere.resolve(LIBRARY)), "..", "package.json"), "utf8"),
    ) as {
      version: string;
    }
  ).version;
  return version;
}

const DATE_SUFFIX = /-(?:\d{4}-\d{2}-\d{2}|\d{8})$/;

/** The model name without a trailing snapshot date (`-2024-07-18`, `-20251001`). */
function undated(model: string): string {
  return model.replace(DATE_SUFFIX, "");
}

function defined<K extends string>(key: K, value: number | undefined): { [P in K]?: number } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: number };
}

function scale(rates: ModelRates, factor: number): ModelRates {
  const one = (r: Omit<ModelRates, "tiers">) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, k === "above" ? v : (v as number) * factor]));
  return {
    ...(one(rates) as unknown as ModelRates),
    ...(rates.tiers && { tiers: rates.tiers.map((t) => one(t) as never) }),
  };
}
