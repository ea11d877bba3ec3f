import { fromBase64, toBase64 } from "./base64.js";

/**
 * The kNN router's built-in featurizer: a sparse TF-IDF vector of the words
 * of a prompt, with a vocabulary and inverse document frequencies fitted on
 * the training prompts. Words are runs of letters (any script) or of digits,
 * ASCII letters lower-cased; they are kept as 32-bit hashes, so a saved
 * model holds no prompt text. Words found in more than `maxDocumentShare`
 * of the training prompts are dropped, the way stop words are: they say
 * little about which model a prompt needs, and their long posting lists are
 * what would make a search slow.
 *
 * It is lexical (two prompts are near when they share rare words), which is
 * what routing needs: prompts on the same subject tend to need the same
 * model. It is used instead of `localEmbedder` because its vectors are
 * sparse (~50 non-zero weights against ~500 of 2048 for a typical prompt),
 * which keeps a decision within the router's time budget at equal routing
 * quality (docs/router.md, "Why a lexical featurizer").
 */

/** A sparse, L2-normalized vector: `values[i]` is the weight of feature `indices[i]`. */
export interface SparseVector {
  readonly indices: Uint32Array;
  readonly values: Float32Array;
}

/**
 * A query vector in buffers its owner reuses from one query to the next:
 * the first `length` entries of `indices` / `values` (grown when short).
 */
export interface SparseQuery {
  length: number;
  indices: Uint32Array;
  values: Float32Array;
}

/** What a fitted featurizer is made of: enough to rebuild it exactly (`toJSON` / `fromJSON`). */
export interface LexicalFeaturizerJson {
  kind: "lexical";
  version: 1;
  /** Training prompts the document frequencies were counted on. */
  documents: number;
  maxDocumentShare: number;
  /** The vocabulary: word hashes (Uint32, base64), feature `i` being `hashes[i]`. */
  hashes: string;
  /** Inverse document frequency of each feature (Float32, base64). */
  idf: string;
}

/** Words in at most this many training prompts are always kept, whatever `maxDocumentShare` says. */
const MIN_DOCUMENT_CAP = 20;

/** Prompt characters featurized at most: a longer prompt is judged by its beginning (bounded work, FAILURES.md S4). */
export const MAX_FEATURIZED_CHARS = 16_384;

export class LexicalFeaturizer {
  readonly name = "frugal-lexical-v1";
  readonly #table: Vocabulary;
  readonly #idf: Float32Array;
  readonly #hashes: Uint32Array;
  readonly documents: number;
  readonly maxDocumentShare: number;
  // Scratch space, reused: featurize() is synchronous, so no two calls interleave.
  readonly #touched: Uint32Array;
  #words = new Uint32Array(1024);
  #weights = new Float32Array(256);
  #select = new Float32Array(256);

  #scratch(size: number): Float32Array {
    if (this.#select.length < size) this.#select = new Float32Array(size * 2);
    return this.#select;
  }

  private constructor(hashes: Uint32Array, idf: Float32Array, documents: number, maxDocumentShare: number) {
    this.#hashes = hashes;
    this.#idf = idf;
    this.documents = documents;
    this.maxDocumentShare = maxDocumentShare;
    this.#table = new Vocabulary(hashes, idf);
    this.#touched = new Uint32Array(hashes.length);
  }

  /** Features (the vocabulary size). */
  get dimensions(): number {
    return this.#hashes.length;
  }

  /** Fits the vocabulary and document frequencies on training prompts. */
  static fit(texts: readonly string[], maxDocumentShare: number): LexicalFeaturizer {
    const df = new Map<number, number>();
    const seen = new Set<number>();
    let words = new Uint32Array(1024);
    for (const text of texts) {
      const limit = Math.min(text.length, MAX_FEATURIZED_CHARS);
      if (words.length < limit) words = new Uint32Array(limit);
      const n = wordHashes(text, words);
      seen.clear();
      for (let i = 0; i < n; i++) seen.add(words[i]!);
      for (const h of seen) df.set(h, (df.get(h) ?? 0) + 1);
    }
    const documents = texts.length;
    // The share bounds posting lists on large sets; on a small one it would drop every shared word.
    const cap = Math.max(MIN_DOCUMENT_CAP, maxDocumentShare * documents);
    const kept = [...df].filter(([, d]) => d <= cap).sort((a, b) => a[0] - b[0]);
    const hashes = Uint32Array.from(kept, ([h]) => h);
    const idf = Float32Array.from(kept, ([, d]) => Math.log((documents + 1) / (d + 1)));
    return new LexicalFeaturizer(hashes, idf, documents, maxDocumentShare);
  }

  static fromJSON(json: LexicalFeaturizerJson): LexicalFeaturizer {
    const hashes = new Uint32Array(fromBase64(json.hashes));
    const idf = new Float32Array(fromBase64(json.idf));
    if (hashes.length !== idf.length) throw new Error("featurizer: hashes and idf differ in length");
    return new LexicalFeaturizer(hashes, idf, json.documents, json.maxDocumentShare);
  }

  toJSON(): LexicalFeaturizerJson {
    return {
      kind: "lexical",
      version: 1,
      documents: this.documents,
      maxDocumentShare: this.maxDocumentShare,
      hashes: toBase64(this.#hashes),
      idf: toBase64(this.#idf),
    };
  }

  /**
   * The prompt's vector: `(1 + ln tf) x idf` per known word, L2-normalized;
   * empty when no word is known. With `maxFeatures`, only that many of the
   * heaviest words are kept (a query: its rarest, most telling words), which
   * bounds the cost of a search whatever the prompt's length.
   */
  featurize(text: string, maxFeatures = Number.POSITIVE_INFINITY): SparseVector {
    const distinct = this.#weigh(text);
    const kept = Math.min(distinct, maxFeatures);
    const indices = new Uint32Array(kept);
    const values = new Float32Array(kept);
    this.#keep(distinct, maxFeatures, kept, indices, values);
    return { indices, values };
  }

  /**
   * {@link featurize} into `query`'s buffers (grown when short), the same
   * vector bit for bit, with nothing allocated once they are large enough:
   * for a search that reads it at once (the router's decision path).
   */
  featurizeInto(text: string, maxFeatures: number, query: SparseQuery): SparseQuery {
    const distinct = this.#weigh(text);
    const kept = Math.min(distinct, maxFeatures);
    if (query.indices.length < kept) {
      query.indices = new Uint32Array(kept);
      query.values = new Float32Array(kept);
    }
    this.#keep(distinct, maxFeatures, kept, query.indices, query.values);
    query.length = kept;
    return query;
  }

  /**
   * Counts the known words of `text` and weighs each, `(1 + ln tf) x idf`:
   * the word's slot in `#touched[j]` and its weight in `#weights[j]`, in
   * order of first appearance. Returns how many.
   */
  #weigh(text: string): number {
    const limit = Math.min(text.length, MAX_FEATURIZED_CHARS);
    if (this.#words.length < limit) this.#words = new Uint32Array(limit);
    const words = this.#words;
    const n = wordHashes(text, words);
    const table = this.#table;
    const touched = this.#touched;
    let distinct = 0;
    for (let i = 0; i < n; i++) {
      const slot = table.find(words[i]!);
      if (slot < 0) continue;
      if (table.count(slot) === 0) touched[distinct++] = slot;
      table.increment(slot);
    }
    if (this.#weights.length < distinct) this.#weights = new Float32Array(distinct * 2);
    const weights = this.#weights;
    for (let j = 0; j < distinct; j++) {
      const slot = touched[j]!;
      const tf = table.count(slot);
      // Most words occur once, and 1 + ln 1 is exactly 1: no logarithm for them.
      weights[j] = (tf === 1 ? 1 : 1 + Math.log(tf)) * table.idf(slot);
      table.reset(slot);
    }
    return distinct;
  }

  /** The `kept` heaviest of the `distinct` words just weighed, L2-normalized, into `indices` / `values`. */
  #keep(
    distinct: number,
    maxFeatures: number,
    kept: number,
    indices: Uint32Array,
    values: Float32Array,
  ): void {
    const table = this.#table;
    const touched = this.#touched;
    const weights = this.#weights;
    // The weight of the maxFeatures-th heaviest word: lighter ones are left out.
    const floor =
      distinct > maxFeatures ? kthLargest(weights, distinct, maxFeatures, this.#scratch(distinct)) : 0;
    let norm = 0;
    let at = 0;
    for (let j = 0; j < distinct && at < kept; j++) {
      const w = weights[j]!;
      if (w < floor) continue;
      indices[at] = table.id(touched[j]!);
      values[at++] = w;
      norm += w * w;
    }
    if (norm > 0) {
      const scale = 1 / Math.sqrt(norm);
      for (let j = 0; j < kept; j++) values[j]! *= scale;
    }
  }
}

/** The k-th largest of `values[0..n)` (1-based), by quickselect on a copy in `scratch`: linear on average. */
function kthLargest(values: Float32Array, n: number, k: number, scratch: Float32Array): number {
  for (let i = 0; i < n; i++) scratch[i] = values[i]!;
  const target = n - k; // its index in ascending order
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = scratch[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (scratch[i]! < pivot) i++;
      while (scratch[j]! > pivot) j--;
      if (i <= j) {
        const t = scratch[i]!;
        scratch[i++] = scratch[j]!;
        scratch[j--] = t;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return scratch[target]!;
}

/**
 * Hashes the words of `text` (at most its first MAX_FEATURIZED_CHARS
 * characters) into `out`, returning how many. One pass, no regular
 * expression: linear in the text whatever it holds.
 */
function wordHashes(text: string, out: Uint32Array): number {
  const end = Math.min(text.length, MAX_FEATURIZED_CHARS);
  let n = 0;
  let kind = 0; // 0: outside a word, 1: letters, 2: digits
  let h = 0;
  for (let i = 0; i < end; i++) {
    let c = text.charCodeAt(i);
    let k: number;
    if (c < 0x80) {
      const e = ASCII[c]!;
      k = e >> 8;
      c = e & 0xff;
    } else k = charKind(c);
    if (k !== kind) {
      if (kind !== 0) out[n++] = finish(h);
      kind = k;
      h = 0x811c9dc5;
    }
    if (k !== 0) h = Math.imul(h ^ c, 0x01000193);
  }
  if (kind !== 0) out[n++] = finish(h);
  return n;
}

/** For an ASCII code: its kind (charKind) in the high byte, the code lower-cased in the low one; 0 outside words. */
const ASCII = Uint16Array.from({ length: 0x80 }, (_, c) => {
  const k = charKind(c);
  return k === 0 ? 0 : (k << 8) | (c >= 65 && c <= 90 ? c + 32 : c);
});

/** 1 for a letter, 2 for a digit, 0 otherwise. Code units from U+00C0 up count as letters, but for punctuation blocks. */
function charKind(c: number): number {
  if (c < 0x80) {
    if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90)) return 1;
    return c >= 48 && c <= 57 ? 2 : 0;
  }
  if (c < 0xc0 || c === 0xd7 || c === 0xf7) return 0;
  if ((c >= 0x2000 && c <= 0x2bff) || (c >= 0x3000 && c <= 0x303f) || (c >= 0xfe30 && c <= 0xfe4f)) return 0;
  if (c >= 0xff00 && c <= 0xff0f) return 0;
  return 1;
}

/** A final avalanche, so that low bits (the table's slots) depend on every character. */
function finish(h: number): number {
  let x = h;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0 || 1; // 0 marks an empty slot
}

/**
 * Open addressing from word hash to feature: each slot holds the hash, the
 * feature id, its idf and a scratch count side by side (16 bytes), so a
 * word costs one cache line, not one per array (a Map would also allocate).
 */
class Vocabulary {
  readonly #u32: Uint32Array;
  readonly #f32: Float32Array;
  readonly #mask: number;

  constructor(hashes: Uint32Array, idf: Float32Array) {
    let size = 16;
    while (size < hashes.length * 2) size *= 2;
    const buffer = new ArrayBuffer(size * 16);
    this.#u32 = new Uint32Array(buffer);
    this.#f32 = new Float32Array(buffer);
    this.#mask = size - 1;
    hashes.forEach((h, id) => {
      let slot = h & this.#mask;
      while (this.#u32[slot * 4] !== 0) slot = (slot + 1) & this.#mask;
      this.#u32[slot * 4] = h;
      this.#u32[slot * 4 + 1] = id;
      this.#f32[slot * 4 + 2] = idf[id]!;
    });
  }

  /** The slot of a word hash, or -1 when the word is not in the vocabulary. */
  find(hash: number): number {
    let slot = hash & this.#mask;
    for (;;) {
      const key = this.#u32[slot * 4]!;
      if (key === hash) return slot;
      if (key === 0) return -1;
      slot = (slot + 1) & this.#mask;
    }
  }

  id(slot: number): number {
    return this.#u32[slot * 4 + 1]!;
  }

  idf(slot: number): number {
    return this.#f32[slot * 4 + 2]!;
  }

  count(slot: number): number {
    return this.#u32[slot * 4 + 3]!;
  }

  increment(slot: number): void {
    this.#u32[slot * 4 + 3]!++;
  }

  reset(slot: number): void {
    this.#u32[slot * 4 + 3] = 0;
  }
}
