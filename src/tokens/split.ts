/**
 * Splits text into pieces that a BPE encoder handles in linear time.
 *
 * BPE encoders pre-tokenize with a regular expression, then merge byte pairs
 * inside each pre-token; the merge is quadratic in the pre-token's length in
 * every JavaScript and WASM encoder measured (FAILURES.md S4). A pre-token
 * never holds more than one run of whitespace and one run of non-whitespace
 * (plus one character), so bounding every such run bounds every pre-token.
 *
 * Two kinds of cut:
 * - exact: before a space that follows a non-space character. No
 *   pre-token of cl100k_base or o200k_base ends with a space or crosses from a
 *   non-space into a space, so the pieces' token counts add up to the
 *   whole's. Used to keep pieces near `chunkChars`, so that a long text can be
 *   counted piecewise with pauses for the event loop. (Text with no such
 *   space for `4 x chunkChars` is cut at the next change between whitespace
 *   and non-whitespace instead, which may move a token across the cut.)
 * - bounded: inside a run of whitespace or of non-whitespace longer than
 *   `maxRunChars`. The count may then differ from the unsplit count by a
 *   token or two per cut; only degenerate text (a megabyte without a space,
 *   a base64 blob) is cut this way.
 *
 * The scan is one pass over UTF-16 code units, without regular expressions,
 * and never separates a surrogate pair.
 */

export interface SplitOptions {
  /** The longest run of whitespace or non-whitespace left whole. */
  readonly maxRunChars: number;
  /** The length after which a piece ends at the next exact cut. */
  readonly chunkChars: number;
}

/** Matches what `\s` matches in a JavaScript regular expression. */
export function isWhitespace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/** Yields `[start, end)` offsets of consecutive pieces covering the whole text. */
export function* pieces(text: string, options: SplitOptions): Generator<[number, number]> {
  const n = text.length;
  const { maxRunChars, chunkChars } = options;
  if (n <= maxRunChars && n <= chunkChars) {
    if (n > 0) yield [0, n];
    return;
  }
  let start = 0;
  let runStart = 0;
  let runIsSpace = isWhitespace(text.charCodeAt(0));
  for (let i = 1; i < n; i++) {
    const c = text.charCodeAt(i);
    const space = isWhitespace(c);
    if (space !== runIsSpace) {
      // An exact cut: a space right after a non-space character. Text with no
      // such space for 4 chunks (lines without spaces) is cut at any change of run.
      const length = i - start;
      if (length >= chunkChars && ((c === 0x20 && !runIsSpace) || length >= 4 * chunkChars)) {
        yield [start, i];
        start = i;
      }
      runStart = i;
      runIsSpace = space;
    } else if (i - runStart >= maxRunChars) {
      // A bounded cut inside an over-long run, never between the halves of a surrogate pair.
      const cut = isLowSurrogate(c) ? i - 1 : i;
      if (cut > start) {
        yield [start, cut];
        start = cut;
      }
      runStart = cut;
    }
  }
  yield [start, n];
}
