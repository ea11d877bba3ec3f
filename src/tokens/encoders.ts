import type { Encoding } from "./models.js";

/**
 * BPE encoders, loaded on first use. The rank tables are megabytes of
 * JavaScript (o200k_base alone is ~2 MB), so they are imported dynamically
 * the first time a count needs them and never when the library is imported.
 *
 * The encoder is gpt-tokenizer's: by `npm run bench` it counts ordinary text
 * typically 2-3x faster than tiktoken's WASM build and 2.5-50x faster than
 * js-tiktoken, with identical counts, and loads fastest (see
 * docs/decisions.md and bench/tokenizers.ts).
 */

export interface Encoder {
  readonly encoding: Encoding;
  /** Tokens in `text`, with special-token strings (`<|endoftext|>`) counted as ordinary text. */
  count(text: string): number;
}

interface GptTokenizerEncoding {
  countTokens(text: string, options: { allowedSpecial: Set<string>; disallowedSpecial: Set<string> }): number;
  setMergeCacheSize(size: number): void;
}

/**
 * gpt-tokenizer remembers the merges of pre-tokens missing from the
 * vocabulary, 100,000 by default. Adversarial text (random letters cut into
 * 256-character pieces, ~1.3 KB an entry) could make that ~125 MB; 20,000
 * entries bound it near 25 MB and count ordinary text as fast (bench).
 */
export const MERGE_CACHE_SIZE = 20_000;

/**
 * Text from a caller is data, not control: a special token written in a
 * prompt is sent as text and tokenized as text, so count it that way (and
 * never throw on it, as encoders do by default).
 */
const AS_TEXT = { allowedSpecial: new Set<string>(), disallowedSpecial: new Set<string>() };

const loaders: Record<Encoding, () => Promise<GptTokenizerEncoding>> = {
  o200k_base: () => import("gpt-tokenizer/encoding/o200k_base"),
  cl100k_base: () => import("gpt-tokenizer/encoding/cl100k_base"),
};

const loaded = new Map<Encoding, Promise<Encoder>>();

/** The encoder for `encoding`, loading it on the first call; later calls share one instance. */
/** Whether an encoding has been asked for in this process (its table is loaded or loading). */
export function encoderRequested(encoding: Encoding): boolean {
  return loaded.has(encoding);
}

export function loadEncoder(encoding: Encoding): Promise<Encoder> {
  let encoder = loaded.get(encoding);
  if (!encoder) {
    encoder = loaders[encoding]().then((mod) => {
      mod.setMergeCacheSize(MERGE_CACHE_SIZE);
      return { encoding, count: (text: string) => (text.length === 0 ? 0 : mod.countTokens(text, AS_TEXT)) };
    });
    // A failed load (the package missing) is not cached, so a later call can retry.
    encoder.catch(() => loaded.delete(encoding));
    loaded.set(encoding, encoder);
  }
  return encoder;
}
