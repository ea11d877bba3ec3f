/** What the word-level guards read: question kinds, content words, negations, quoted strings. */
import { STOPWORDS } from "../../embeddings/stopwords.js";
import { type PromptFacts, quotedStrings, type Word } from "./facts.js";
import { FILLERS, NEGATIONS } from "./lexicon.js";
import { mentions } from "./names.js";

export const SECOND_PERSON = new Set("you your yours yourself yourselves youre youve youd youll".split(" "));
const CLAUSE_JOINERS = new Set(["and", "or", "but", "so"]);
const QUANTITY = new Set("much many long far old often big tall large fast".split(" "));

export function questionKinds(facts: PromptFacts): Set<string> {
  const kinds = new Set<string>();
  const { words, text } = facts;
  words.forEach((w, i) => {
    const k = w.key;
    // A question word opens a sentence or a clause ("..., and why?"); elsewhere "when" and "where" join clauses.
    const previous = words[i - 1];
    const opens =
      w.initial ||
      CLAUSE_JOINERS.has(previous?.key ?? "") ||
      text.slice(previous ? previous.at + previous.raw.length : 0, w.at).includes(",");
    if (!opens) return;
    if (k === "why") kinds.add("why");
    else if (k === "when") kinds.add("when");
    else if (k === "where") kinds.add("where");
    else if (k === "who" || k === "whom" || k === "whose") kinds.add("who");
    else if (k === "how" && QUANTITY.has(words[i + 1]?.key ?? "")) kinds.add("how much");
  });
  return kinds;
}

/** The first content word of `a` with no counterpart in `b`. */
export function unmatchedContent(a: PromptFacts, b: PromptFacts): string | undefined {
  for (const w of a.words) {
    const k = w.key;
    const plain = w.lower.replace(/'/g, "");
    if (k.length < 2 || !/\p{L}/u.test(k) || STOPWORDS.has(plain) || STOPWORDS.has(k) || FILLERS.has(k))
      continue;
    if (b.keys.has(k) || mentions(b, k)) continue;
    if (b.words.some((x) => sameWord(k, x.key))) continue;
    return w.raw;
  }
  return undefined;
}

/** Inflections and typos: a shared five-letter stem, or one edit apart in a long word. */
function sameWord(x: string, y: string): boolean {
  if (x.length >= 5 && y.length >= 5 && x.slice(0, 5) === y.slice(0, 5)) return true;
  return x.length >= 5 && Math.abs(x.length - y.length) <= 1 && oneEditApart(x, y);
}

function oneEditApart(x: string, y: string): boolean {
  if (x === y) return true;
  let i = 0;
  while (i < x.length && i < y.length && x[i] === y[i]) i++;
  if (x.length === y.length)
    return (
      x.slice(i + 1) === y.slice(i + 1) ||
      (x[i] === y[i + 1] && x[i + 1] === y[i] && x.slice(i + 2) === y.slice(i + 2))
    );
  return x.length > y.length ? x.slice(i + 1) === y.slice(i) : x.slice(i) === y.slice(i + 1);
}

export const NEGATING_PREFIXES = ["un", "in", "im", "il", "ir", "dis", "non"];

export function isNegation(w: Word): boolean {
  return NEGATIONS.has(w.key) || w.lower.endsWith("n't") || w.lower.startsWith("non-");
}

/** Pairs (x, y) of content words with x only in `a` and y only in `b`. */
export function oneSided(a: PromptFacts, b: PromptFacts): [string, string][] {
  const onlyA = [...a.keys].filter((k) => !b.keys.has(k) && /\p{L}/u.test(k));
  const onlyB = [...b.keys].filter((k) => !a.keys.has(k) && /\p{L}/u.test(k));
  const pairs: [string, string][] = [];
  for (const x of onlyA.slice(0, 64)) for (const y of onlyB.slice(0, 64)) pairs.push([x, y]);
  return pairs;
}

const normalizedText = new WeakMap<PromptFacts, string>();

export function missingQuote(a: PromptFacts, b: PromptFacts): string | undefined {
  let text = normalizedText.get(b);
  if (text === undefined) {
    text = b.text.toLowerCase().replace(/\s+/g, " ");
    normalizedText.set(b, text);
  }
  for (const quoted of quotedStrings(a.text)) if (!text.includes(quoted)) return quoted;
  return undefined;
}
