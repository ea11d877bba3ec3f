/** What the word-level guards read: question kinds and openings, content words, negations, quoted strings, symbols, pointing words. */
import { STOPWORDS } from "../../embeddings/stopwords.js";
import { type PromptFacts, quotedStrings, type Word } from "./facts.js";
import { FILLERS, NEGATIONS } from "./lexicon.js";
import { mentions } from "./names.js";

export const SECOND_PERSON = new Set("you your yours yourself yourselves youre youve youd youll".split(" "));
const CLAUSE_JOINERS = new Set(["and", "or", "but", "so"]);
const QUANTITY = new Set("much many long far old often big tall large fast".split(" "));
const OPEN_QUESTION = new Set("what which how why when where who whom whose".split(" "));
/**
 * Auxiliaries that open a yes/no question, by what they ask: "Is it safe?",
 * "Can it be safe?", "Should it be safe?" and "Will it be safe?" are four questions.
 */
const AUXILIARY_CLASS: ReadonlyMap<string, string> = new Map(
  [
    "is are was were am isnt arent wasnt werent",
    "do does did dont doesnt didnt",
    "can could cant couldnt",
    "will would wont wouldnt",
    "should shouldnt",
    "has have had hasnt havent hadnt",
    "may might",
    "must",
  ].flatMap((group) => {
    const words = group.split(" ");
    return words.map((w) => [w, words[0]!] as const);
  }),
);
/** Words after "this" or "these" that mean the present, not something shown. */
const PRESENT_TIME = new Set(
  "year month week day time moment point age stage world life summer winter spring autumn fall season election century decade weekend morning evening night country era generation".split(
    " ",
  ),
);

/** Verbs of a polite request ("Can you tell me ...?" asks for an answer, not for a yes or no). */
const REQUEST_VERBS = new Set(
  "tell explain share give help suggest recommend list name describe show please provide".split(" "),
);

/**
 * How a prompt opens its question: `"open"` (what, how, why, ...), the class
 * of the auxiliary that opens a yes/no question (`"is"`, `"can"`, `"will"`,
 * ...), or undefined (it opens otherwise). A polite request ("Can you tell
 * me ...", "Could you explain ...") and "Is there a way to ..." count as open.
 */
export function openingKind(facts: PromptFacts): string | undefined {
  const [first, second, third, fourth] = facts.words;
  if (!first) return undefined;
  if (OPEN_QUESTION.has(first.key)) return "open";
  const auxiliary = AUXILIARY_CLASS.get(first.lower.replace(/'/g, ""));
  if (!auxiliary) return undefined;
  if (second?.key === "you" && REQUEST_VERBS.has(third?.key ?? "")) return "open";
  if (auxiliary === "is" && second?.key === "there" && fourth?.key === "way") return "open";
  return auxiliary;
}

const DO_SUPPORT = new Set(["do", "does", "did"]);

/**
 * The question word that opens a prompt, if one does: "which" read as
 * "what", "whom" and "whose" as "who", and "what is the best way to" as "how".
 */
export function openingWord(facts: PromptFacts): string | undefined {
  const k = facts.words[0]?.key;
  if (k === undefined || !OPEN_QUESTION.has(k)) return undefined;
  // "What is the best way to ...?", "What are some ways to ...?" ask how.
  if ((k === "what" || k === "which") && facts.words.slice(1, 7).some((w) => w.key === "way")) return "how";
  // "What is X?" asks what X is; "What does X do?" what it does.
  if (k === "what" && DO_SUPPORT.has(facts.words[1]?.lower ?? "")) return "what ... do";
  return k === "which" ? "what" : k === "whom" || k === "whose" ? "who" : k;
}

/**
 * Words that point at something the prompt does not hold: "this picture",
 * "these lyrics", "what is that?", "the following", "the code below",
 * "the attached file". Not "this year" or "this world", which point
 * nowhere, nor "this battle" after the battle was named.
 */
export function pointer(facts: PromptFacts): string | undefined {
  const { words, text } = facts;
  const ending = (from: number) => {
    let i = from;
    while (text[i] === " ") i++;
    const c = text[i];
    return c === undefined || c === "?" || c === "." || c === "!" || c === ":";
  };
  const named = new Set<string>();
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const k = w.lower;
    const end = w.at + w.raw.length;
    named.add(w.key);
    if ((k === "below" || k === "above") && ending(end)) return w.raw;
    if ((k === "following" || k === "attached") && words[i - 1]?.lower === "the")
      return `${words[i - 1]!.raw} ${w.raw}`;
    if (k !== "this" && k !== "these" && k !== "that") continue;
    if (ending(end)) return w.raw; // "What type of insect is this?", "Who is that?"
    const next = words[i + 1];
    if (k === "that" || !next || text.slice(end, next.at).trim() !== "" || PRESENT_TIME.has(next.key))
      continue;
    if (named.has(next.key)) continue; // named before: "the battle of the Somme ... this battle"
    return `${w.raw} ${next.raw}`;
  }
  return undefined;
}

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
    // "Which is your favourite book, and why?": asking for reasons on top of the question, not another question.
    const tail = i > 0 && i === words.length - 1;
    if (k === "why" && !tail) kinds.add("why");
    else if (k === "when") kinds.add("when");
    else if (k === "where") kinds.add("where");
    else if (k === "who" || k === "whom" || k === "whose") kinds.add("who");
    else if (k === "how" && QUANTITY.has(words[i + 1]?.key ?? "")) kinds.add("how much");
  });
  return kinds;
}

/** A word that carries the subject: not a function word, a filler, a number or a single letter. */
function isContent(w: Word): boolean {
  const k = w.key;
  const plain = w.lower.replace(/'/g, "");
  return k.length >= 2 && /\p{L}/u.test(k) && !STOPWORDS.has(plain) && !STOPWORDS.has(k) && !FILLERS.has(k);
}

/** The first content word of `a` with no counterpart in `b`. */
export function unmatchedContent(a: PromptFacts, b: PromptFacts): string | undefined {
  const ws = a.words;
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i]!;
    const k = w.key;
    if (!isContent(w)) continue;
    if (b.keys.has(k) || mentions(b, k)) continue;
    if (b.words.some((x) => sameWord(k, x.key))) continue;
    // One word in the other, two here: "mind blowing" / "mindblowing".
    if (b.keys.has(k + (ws[i + 1]?.key ?? "")) || b.keys.has((ws[i - 1]?.key ?? "") + k)) continue;
    return w.raw;
  }
  return undefined;
}

/** A content word of `a` said more often in `a` than in `b`, where `b` says it too ("famous for being famous" / "famous"). */
export function moreOften(a: PromptFacts, b: PromptFacts): string | undefined {
  const counts = (f: PromptFacts) => {
    const n = new Map<string, number>();
    for (const w of f.words) if (isContent(w)) n.set(w.key, (n.get(w.key) ?? 0) + 1);
    return n;
  };
  const inA = counts(a);
  const inB = counts(b);
  for (const [key, n] of inA) {
    const m = inB.get(key);
    if (m !== undefined && n > m) return a.words.find((w) => w.key === key)!.raw;
  }
  return undefined;
}

/** Sentence punctuation, and "&" (a way to write "and"): not compared by the symbols guard. */
const PUNCTUATION = new Set([..."., ?!'\"-:;()[]\u2018\u2019\u201c\u201d\u2026\u00ab\u00bb*/&"]);

const symbolsMemo = new WeakMap<PromptFacts, Set<string>>();

/**
 * The symbols of a prompt that stand on their own ("~", "%", "##", "=", not
 * the "+" of "C++", the "%" of "100%" or the "+" of "2 + 2", which the
 * entities and numbers guards read): characters of space-separated tokens
 * that hold no letter or digit and stand next to no number, less sentence
 * punctuation and invisible format characters.
 */
export function symbolsOf(facts: PromptFacts): Set<string> {
  let found = symbolsMemo.get(facts);
  if (found) return found;
  found = new Set<string>();
  const tokens = facts.text.split(/\s+/);
  const digit = (t: string | undefined) => t !== undefined && /\p{N}/u.test(t);
  tokens.forEach((token, i) => {
    if (found!.size >= 64 || token.length > 16 || /[\p{L}\p{N}]/u.test(token)) return;
    if (digit(tokens[i - 1]) || digit(tokens[i + 1])) return; // "2 + 2": arithmetic, the numbers guard's
    for (const c of token) if (!PUNCTUATION.has(c) && !/\p{Cf}/u.test(c)) found!.add(c);
  });
  symbolsMemo.set(facts, found);
  return found;
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
