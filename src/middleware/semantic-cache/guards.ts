import type { EmbedderAdvice } from "../../embeddings/advice.js";
import { factsOf } from "./facts.js";
import { ANTONYMS } from "./lexicon.js";
import { missingName, order, rolesOf, sharedNames, symmetricBetween } from "./names.js";
import { differ, numbersOf, presentOnly, unitConflict } from "./numbers.js";
import {
  isNegation,
  missingQuote,
  moreOften,
  NEGATING_PREFIXES,
  oneSided,
  openingKind,
  openingWord,
  pointer,
  questionKinds,
  SECOND_PERSON,
  symbolsOf,
  unmatchedContent,
} from "./wording.js";

/**
 * A false-hit guard: compares a new prompt with the prompt of a cached
 * answer that the embedder found similar, and says why the answer must not
 * be served, or `undefined` when the guard sees no reason. Guards are pure
 * and symmetric. Embedders score "What is 2+2?" and "What is 2+3?" (or a
 * negation, or a swapped name) close to 1, so no threshold alone can tell
 * them apart: guards can (FAILURES.md C2).
 *
 * @example
 * const noYears: SemanticGuard = {
 *   name: "fiscal-year",
 *   check: (prompt, candidate) => (/FY\d\d/.exec(prompt)?.[0] !== /FY\d\d/.exec(candidate)?.[0] ? "fiscal years differ" : undefined),
 * };
 * semanticCache({ ..., guards: [...defaultGuards, noYears] });
 */
export interface SemanticGuard {
  readonly name: string;
  check(prompt: string, candidate: string): string | undefined;
}

export interface GuardRejection {
  guard: string;
  reason: string;
}

/** How a cache chooses its guards: `"default"`, `false` (none: similarity alone decides), or a list. */
export type GuardsOption = "default" | false | readonly SemanticGuard[];

/**
 * The guards a cache runs: for `"default"`, {@link lexicalGuards} with a
 * lexical embedder (it says so: `embedder.lexical`), else {@link defaultGuards}.
 */
export function resolveGuards(
  option: GuardsOption | undefined,
  embedder: EmbedderAdvice,
): readonly SemanticGuard[] {
  if (option === false) return [];
  if (option === undefined || option === "default") return embedder.lexical ? lexicalGuards : defaultGuards;
  return option;
}

/** The first guard that rejects `candidate` for `prompt`, or undefined when all pass. */
export function guardRejection(
  guards: readonly SemanticGuard[],
  prompt: string,
  candidate: string,
): GuardRejection | undefined {
  for (const guard of guards) {
    const reason = guard.check(prompt, candidate);
    if (reason !== undefined) return { guard: guard.name, reason };
  }
  return undefined;
}

/** Numbers, arithmetic, units and dates must match: "2+2" is not "2+3", "5 km" is not "5 miles", "2016" is not "2017". */
export const numbersGuard: SemanticGuard = {
  name: "numbers",
  check(prompt, candidate) {
    const a = numbersOf(factsOf(prompt));
    const b = numbersOf(factsOf(candidate));
    const values = differ(a.values, b.values);
    if (values) return `numbers differ (${values})`;
    if (a.operators.join(" ") !== b.operators.join(" ")) return "the arithmetic differs";
    const units = unitConflict(a.units, b.units);
    if (units) return `units differ (${units})`;
    // "today" in one prompt only: the other, undated, asks about the present too.
    const dates = differ(a.dates, b.dates);
    if (
      dates &&
      !(presentOnly(a.dates) && b.dates.length === 0) &&
      !(presentOnly(b.dates) && a.dates.length === 0)
    )
      return `dates differ (${dates})`;
    return undefined;
  },
};

/** A negation in one prompt and not the other ("Is X safe?" / "Is X not safe?", "possible" / "impossible"). */
export const negationGuard: SemanticGuard = {
  name: "negation",
  check(prompt, candidate) {
    const a = factsOf(prompt);
    const b = factsOf(candidate);
    const na = a.words.filter(isNegation).length;
    const nb = b.words.filter(isNegation).length;
    if (na !== nb) return `one prompt is negated (${na} negations against ${nb})`;
    for (const [x, y] of oneSided(a, b)) {
      for (const prefix of NEGATING_PREFIXES) {
        if ((x === prefix + y || y === prefix + x) && Math.min(x.length, y.length) >= 4)
          return `"${x}" against "${y}"`;
      }
      if (x.endsWith("less") && y.endsWith("ful") && x.slice(0, -4) === y.slice(0, -3))
        return `"${x}" against "${y}"`;
      if (y.endsWith("less") && x.endsWith("ful") && y.slice(0, -4) === x.slice(0, -3))
        return `"${x}" against "${y}"`;
    }
    return undefined;
  },
};

/** Opposite words, one in each prompt ("safe" / "dangerous", "buy" / "sell", "summer" / "winter"). */
export const antonymsGuard: SemanticGuard = {
  name: "antonyms",
  check(prompt, candidate) {
    for (const [x, y] of oneSided(factsOf(prompt), factsOf(candidate))) {
      if (ANTONYMS.get(x)?.has(y)) return `"${x}" against "${y}"`;
    }
    return undefined;
  },
};

/**
 * A name in one prompt that the other does not mention: capitalized words
 * inside a sentence, acronyms, and words whose form marks them as names
 * (iPhone, C++, AT&T, X7). When a prompt is in title case or capitals, only
 * the form counts.
 */
export const entitiesGuard: SemanticGuard = {
  name: "entities",
  check(prompt, candidate) {
    const a = factsOf(prompt);
    const b = factsOf(candidate);
    const missing = missingName(a, b) ?? missingName(b, a);
    return missing && `"${missing}" is named in one prompt only`;
  },
};

/**
 * The same words in swapped roles: "from A to B" / "from B to A", "A better
 * than B" / "B better than A", "Poles dislike Russians" / "Russians dislike
 * Poles". Orders joined by "and", "or", "vs" are free ("A or B?").
 */
export const argumentOrderGuard: SemanticGuard = {
  name: "argument-order",
  check(prompt, candidate) {
    const a = factsOf(prompt);
    const b = factsOf(candidate);
    const ra = rolesOf(a);
    const rb = rolesOf(b);
    for (const [marker, x] of ra) {
      const y = rb.get(marker);
      if (y !== undefined && x !== y && b.keys.has(x) && a.keys.has(y))
        return `"${x}" and "${y}" swap roles around "${marker}"`;
    }
    const names = sharedNames(a, b);
    for (let i = 0; i < names.length; i++) {
      for (let j = i + 1; j < names.length; j++) {
        const [x, y] = [names[i]!, names[j]!];
        const orderA = order(a, x, y);
        const orderB = order(b, x, y);
        if (orderA === 0 || orderB === 0 || orderA === orderB) continue;
        if (symmetricBetween(a, x, y) || symmetricBetween(b, x, y)) continue;
        return `"${x}" and "${y}" are in swapped order`;
      }
    }
    return undefined;
  },
};

/**
 * The same kind of question: asking why, when, where, who or how much is
 * not asking the same thing ("When was the wheel invented?" / "Where was the
 * wheel invented?"). A plain "how" (manner) may be asked as "what is the way",
 * so it counts as no kind. A yes/no question is not an open one ("Is AFSPA
 * good?" / "What is AFSPA?"), and yes/no questions opened by auxiliaries of
 * different kinds ask different things ("Is it bad?" / "Can it be bad?",
 * "Will I get in?" / "Should I get in?").
 */
export const questionGuard: SemanticGuard = {
  name: "question",
  check(prompt, candidate) {
    const fa = factsOf(prompt);
    const fb = factsOf(candidate);
    const a = questionKinds(fa);
    const b = questionKinds(fb);
    for (const kind of a) if (!b.has(kind)) return `one prompt asks ${kind}, the other does not`;
    for (const kind of b) if (!a.has(kind)) return `one prompt asks ${kind}, the other does not`;
    const oa = openingKind(fa);
    const ob = openingKind(fb);
    if (oa === undefined || ob === undefined || oa === ob) return undefined;
    if (oa === "open" || ob === "open") return "one prompt asks yes or no, the other an open question";
    return `one yes/no question opens with "${oa}", the other with "${ob}"`;
  },
};

/**
 * A prompt that points at something it does not hold ("What type of insect
 * is this?", "Fix the code below", "these lyrics") is about whatever was
 * shown with it, which the cache never sees: two such prompts can read alike
 * and mean two pictures. "This year" or "this world" point nowhere.
 */
export const pointingGuard: SemanticGuard = {
  name: "pointing",
  check(prompt, candidate) {
    const at = pointer(factsOf(prompt)) ?? pointer(factsOf(candidate));
    return at && `"${at}" points at something the cache cannot see`;
  },
};

/**
 * The same symbols: "What does ~ mean in C++?" is not "What does % mean in
 * C++?", though no word differs. Sentence punctuation (. , ? ! : ; quotes,
 * hyphens, brackets) is not compared.
 */
export const symbolsGuard: SemanticGuard = {
  name: "symbols",
  check(prompt, candidate) {
    const a = symbolsOf(factsOf(prompt));
    const b = symbolsOf(factsOf(candidate));
    for (const c of a) if (!b.has(c)) return `"${c}" is in one prompt only`;
    for (const c of b) if (!a.has(c)) return `"${c}" is in one prompt only`;
    return undefined;
  },
};

/**
 * Every content word of each prompt has a counterpart in the other (the same
 * word, another inflection, a typo away, or split in two): only the function
 * words, the order and the inflections may differ. A lexical embedder cannot
 * tell a synonym from a different subject, so with it this is the guard that
 * keeps "How do I learn Python?" from answering "How do I learn Python
 * online?". `semanticCache` adds it by default when the embedder says it is
 * lexical (`localEmbedder`); it would refuse true paraphrases from a model
 * embedder.
 */
export const contentWordsGuard: SemanticGuard = {
  name: "content-words",
  check(prompt, candidate) {
    const a = factsOf(prompt);
    const b = factsOf(candidate);
    const missing = unmatchedContent(a, b) ?? unmatchedContent(b, a);
    if (missing) return `"${missing}" has no counterpart in the other prompt`;
    const repeated = moreOften(a, b) ?? moreOften(b, a);
    return repeated && `"${repeated}" is said more often in one prompt ("famous for being famous")`;
  },
};

/**
 * The same person addressed: a question about "you" (your name, your
 * opinion) is not the same as one about the asker or about no one. Part of
 * the lexical set, with {@link contentWordsGuard}.
 */
export const perspectiveGuard: SemanticGuard = {
  name: "perspective",
  check(prompt, candidate) {
    const a = factsOf(prompt).words.some((w) => SECOND_PERSON.has(w.key));
    const b = factsOf(candidate).words.some((w) => SECOND_PERSON.has(w.key));
    return a === b ? undefined : 'one prompt addresses "you", the other does not';
  },
};

/**
 * The same question word opens both prompts: "How is X made?" is not "What
 * is X?". A lexical embedder cannot tell a definition from a manner or a
 * reason by meaning, so this is in the lexical set, with
 * {@link contentWordsGuard}; it would refuse paraphrases a model embedder
 * matches ("Why is X popular?" / "What makes X popular?").
 */
export const openingGuard: SemanticGuard = {
  name: "opening",
  check(prompt, candidate) {
    const a = openingWord(factsOf(prompt));
    const b = openingWord(factsOf(candidate));
    return a === undefined || b === undefined || a === b
      ? undefined
      : `one prompt opens with "${a}", the other with "${b}"`;
  },
};

/** A quoted string in one prompt that the other does not contain. */
export const quotesGuard: SemanticGuard = {
  name: "quotes",
  check(prompt, candidate) {
    const a = factsOf(prompt);
    const b = factsOf(candidate);
    const missing = missingQuote(a, b) ?? missingQuote(b, a);
    return missing && `the quoted "${missing.slice(0, 60)}" is in one prompt only`;
  },
};

/** The guards for any embedder, in the order they run. */
export const defaultGuards: readonly SemanticGuard[] = [
  numbersGuard,
  negationGuard,
  quotesGuard,
  symbolsGuard,
  pointingGuard,
  entitiesGuard,
  argumentOrderGuard,
  antonymsGuard,
  questionGuard,
];

/** The guards for a lexical embedder: the default ones, plus same content words, same person addressed and same opening question word. */
export const lexicalGuards: readonly SemanticGuard[] = [
  ...defaultGuards,
  contentWordsGuard,
  perspectiveGuard,
  openingGuard,
];
