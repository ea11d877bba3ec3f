/** How the entities and argument-order guards read names, roles and order. */
import type { PromptFacts, Word } from "./facts.js";
import { DIRECTIONAL, SYMMETRIC } from "./lexicon.js";

const I_FORMS = new Set(["i", "i'm", "i've", "i'd", "i'll"]);

/** Whether a word is written as a name. */
export function isName(w: Word, facts: PromptFacts): boolean {
  const { raw } = w;
  if (/^[\d.,]+$/.test(raw)) return false; // plain numbers are the numbers guard's
  if (/\p{L}/u.test(raw) && /\d/.test(raw)) return true; // X7, 4G, iPhone6
  if (/[+#&]/.test(raw) && /\p{L}/u.test(raw)) return true; // C++, C#, AT&T (2+2 is the numbers guard's)
  if (/\p{Ll}\p{Lu}/u.test(raw)) return true; // iPhone, YouTube
  if (facts.caseless || I_FORMS.has(w.lower)) return false;
  if (raw.length >= 2 && raw === raw.toUpperCase() && /\p{Lu}/u.test(raw)) return true; // USA, CS
  return !w.initial && /^\p{Lu}/u.test(raw);
}

export function missingName(a: PromptFacts, b: PromptFacts): string | undefined {
  for (const w of a.words) {
    if (!isName(w, a) || mentions(b, w.key)) continue;
    return w.raw;
  }
  return undefined;
}

/** Whether `facts` mentions `key` as a word, a part of a hyphenated word, or two or three words written together ("node js", "15 year old"). */
export function mentions(facts: PromptFacts, key: string): boolean {
  if (facts.keys.has(key)) return true;
  const ws = facts.words;
  for (let i = 0; i + 1 < ws.length; i++) {
    const two = ws[i]!.key + ws[i + 1]!.key;
    if (two === key || (i + 2 < ws.length && two + ws[i + 2]!.key === key)) return true;
  }
  return false;
}

export function sharedNames(a: PromptFacts, b: PromptFacts): string[] {
  const names = new Set<string>();
  for (const w of a.words) if (isName(w, a) && b.keys.has(w.key)) names.add(w.key);
  for (const w of b.words) if (isName(w, b) && a.keys.has(w.key)) names.add(w.key);
  return [...names].slice(0, 16);
}

/** The first content word after each directional preposition. */
export function rolesOf(facts: PromptFacts): Map<string, string> {
  const roles = new Map<string, string>();
  const { words } = facts;
  for (let i = 0; i < words.length; i++) {
    const marker = words[i]!.lower;
    if (!DIRECTIONAL.has(marker) || roles.has(marker)) continue;
    for (let j = i + 1; j < Math.min(words.length, i + 5); j++) {
      const w = words[j]!;
      if (DETERMINERS.has(w.lower)) continue;
      roles.set(marker, w.key);
      break;
    }
  }
  return roles;
}

const DETERMINERS = new Set("a an the my your his her its our their this that these those some".split(" "));

/** -1 when x comes first, 1 when y does, 0 when one is missing. */
export function order(facts: PromptFacts, x: string, y: string): number {
  const ix = facts.words.findIndex((w) => w.key === x);
  const iy = facts.words.findIndex((w) => w.key === y);
  if (ix < 0 || iy < 0) return 0;
  return ix < iy ? -1 : 1;
}

export function symmetricBetween(facts: PromptFacts, x: string, y: string): boolean {
  const ix = facts.words.findIndex((w) => w.key === x);
  const iy = facts.words.findIndex((w) => w.key === y);
  const [from, to] = ix < iy ? [ix, iy] : [iy, ix];
  for (let k = from + 1; k < to; k++) if (SYMMETRIC.has(facts.words[k]!.lower)) return true;
  const between = facts.text.slice(facts.words[from]!.at, facts.words[to]!.at);
  return /[,/&]/.test(between);
}
