/**
 * What the false-hit guards compare, read once per prompt: words with their
 * case and position, numbers, dates, quoted strings. Every regular
 * expression here is a character class with one quantifier, or a fixed
 * string, so it runs in linear time on any input (FAILURES.md S5); the
 * quote scanner is a loop. Inputs are capped at `MAX_CHARS`.
 */

/** Prompts longer than this are compared on their first `MAX_CHARS` characters (the semantic cache does not look them up at all). */
export const MAX_CHARS = 20_000;

export interface Word {
  /** As written (NFKC, apostrophes unified). */
  raw: string;
  /** Lower case, inner dots, hyphens and apostrophes removed, a plural or possessive `s` stripped. */
  key: string;
  /** Lower case, otherwise as written. */
  lower: string;
  /** First word of a sentence (its capital says nothing). */
  initial: boolean;
  /** Offset in `PromptFacts.text`. */
  at: number;
}

export interface PromptFacts {
  text: string;
  words: Word[];
  /** Every word key, and the parts of hyphenated words, for "does the other prompt mention it at all". */
  keys: Set<string>;
  /** Capitalization carries no signal (title case or all caps): only the form of a word marks it a name. */
  caseless: boolean;
}

const TRAILING = new Set([".", "'", "&", "-"]);

const memo = new Map<string, PromptFacts>();

/** The facts of a prompt, memoized for the last few hundred prompts (a lookup checks several candidates). */
export function factsOf(text: string): PromptFacts {
  const hit = memo.get(text);
  if (hit) return hit;
  const facts = read(text.length > MAX_CHARS ? text.slice(0, MAX_CHARS) : text);
  if (memo.size >= 512) memo.delete(memo.keys().next().value!);
  memo.set(text, facts);
  return facts;
}

function read(input: string): PromptFacts {
  const text = input.normalize("NFKC").replace(/[\u2018\u2019\u02bc`]/g, "'");
  const words: Word[] = [];
  // A word starts with a letter or digit and may hold + # & . ' - inside (C++, C#, AT&T, Node.js, don't).
  for (const m of text.matchAll(/[\p{L}\p{N}][\p{L}\p{N}+#&.'-]*/gu)) {
    let end = m[0].length;
    while (TRAILING.has(m[0][end - 1]!)) end--;
    const raw = m[0].slice(0, end);
    const lower = raw.toLowerCase();
    words.push({ raw, lower, key: keyOf(lower), initial: startsSentence(text, m.index), at: m.index });
  }
  let capitalized = 0;
  let alphabetic = 0;
  // Judged on the words inside sentences: a first word is capitalized anyway.
  for (const w of words) {
    if (w.initial || w.raw.length < 2 || !/^\p{L}+$/u.test(w.raw)) continue;
    alphabetic++;
    if (/^\p{Lu}/u.test(w.raw)) capitalized++;
  }
  const keys = new Set<string>();
  for (const w of words) {
    keys.add(w.key);
    if (w.lower.includes("-")) for (const part of w.lower.split("-")) if (part) keys.add(keyOf(part));
  }
  return {
    text,
    words,
    keys,
    caseless: alphabetic >= 3 && capitalized / alphabetic > 0.6,
  };
}

/** A comparable form: "iPhones" → "iphone", "Node.js" → "nodejs", "Quora's" → "quora". */
export function keyOf(lower: string): string {
  let k = lower.endsWith("'s") ? lower.slice(0, -2) : lower;
  k = k.replace(/['.-]/g, "");
  if (k.length > 3 && k.endsWith("ies")) return `${k.slice(0, -3)}y`;
  if (k.length > 3 && k.endsWith("s") && !k.endsWith("ss") && !k.endsWith("us") && !k.endsWith("is"))
    return k.slice(0, -1);
  return k;
}

/** True when nothing but spaces and opening punctuation stands between the start or a sentence end and `index`. */
function startsSentence(text: string, index: number): boolean {
  for (let i = index - 1; i >= 0; i--) {
    const c = text[i]!;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") continue;
    if (c === '"' || c === "(" || c === "[" || c === "'" || c === "\u201c" || c === "*") continue;
    return c === "." || c === "?" || c === "!" || c === ":" || c === ";" || c === "\u2026";
  }
  return true;
}

/**
 * The quoted strings of a text, normalized (lower case, single spaces):
 * text between double quotes (straight, curly or guillemets, a doubled `""`
 * counting as one) or between single quotes that open after a space and
 * close before one. Unbalanced quotes give nothing. At most 32 strings of at
 * most 500 characters.
 */
export function quotedStrings(text: string): string[] {
  const found: string[] = [];
  const opens: Record<string, string> = { '"': '"', "\u201c": "\u201d", "\u00ab": "\u00bb", "'": "'" };
  let i = 0;
  while (i < text.length && found.length < 32) {
    const c = text[i]!;
    const close = opens[c];
    const singleOpens = c !== "'" || ((i === 0 || /\s/.test(text[i - 1]!)) && /\S/.test(text[i + 1] ?? ""));
    if (close === undefined || !singleOpens) {
      i++;
      continue;
    }
    let start = i + 1;
    while (text[start] === c) start++; // ""quoted"" as Quora and CSV exports write it
    let end = -1;
    for (let j = start; j < text.length && j - start <= 500; j++) {
      if (text[j] !== close) continue;
      if (close === "'" && /[\p{L}\p{N}]/u.test(text[j + 1] ?? "")) continue; // an apostrophe, not a quote
      end = j;
      break;
    }
    if (end < 0) {
      i = start;
      continue;
    }
    const inner = text.slice(start, end).toLowerCase().replace(/\s+/g, " ").trim();
    if (inner) found.push(inner);
    i = end + 1;
    while (text[i] === close) i++;
  }
  return found;
}
