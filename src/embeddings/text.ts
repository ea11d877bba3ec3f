/**
 * Text handling shared by the local embedder and the semantic cache's
 * guards. Every regular expression here is a single character class or a
 * fixed string, so it runs in linear time on any input (FAILURES.md S5).
 */

/** NFKC, lower case, one kind of apostrophe and quote, single spaces. */
export function normalizeText(text: string): string {
  return text
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[\u2018\u2019\u02bc`]/g, "'")
    .replace(/\s+/g, " ")
    .trim();
}

/**
 * Words of a normalized text: runs of letters and digits. A possessive `'s`
 * is dropped ("quora's" → "quora") and other apostrophes join their word
 * ("don't" → "dont").
 */
export function lexicalTokens(normalized: string): string[] {
  return (
    normalized
      .replace(/'s(?![\p{L}\p{N}])/gu, "")
      .replace(/'/g, "")
      .match(/[\p{L}\p{N}]+/gu) ?? []
  );
}

/** FNV-1a over UTF-16 code units, with a final avalanche so that low and high bits both mix. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
