/**
 * How a model says no in plain text, when the provider does not mark the
 * answer as a refusal. Matched only at the start of the answer (after an
 * optional apology), on at most {@link HEAD} characters: a refusal opens with
 * it, and an answer that merely mentions "I can't" further on is an answer.
 */
export const REFUSAL_OPENINGS: readonly string[] = [
  "i can't help",
  "i can't assist",
  "i can't comply",
  "i can't provide",
  "i can't fulfill",
  "i can't fulfil",
  "i can't do that",
  "i can't answer",
  "i can't share",
  "i can't support",
  "i can't engage",
  "i can't create",
  "i can't generate",
  "i can't write",
  "i can't give",
  "i can't continue",
  "i can't discuss",
  "i can't participate",
  "i can't accommodate",
  "i'm unable to",
  "i'm not able to",
  "i won't be able to",
  "i won't help",
  "i won't provide",
  "i won't assist",
  "i'm not going to help",
  "i must decline",
  "i have to decline",
  "i'm not comfortable",
  "i don't feel comfortable",
  "as an ai language model, i can't",
  "as an ai, i can't",
];

const HEAD = 200;
/** The letters an apology can open with (see APOLOGY). */
const APOLOGY_INITIALS = "isamu";
// Anchored, no nested quantifiers: linear in the (bounded) input.
const APOLOGY =
  /^(?:i'm (?:so |very |really |truly )?sorry|sorry|(?:my )?apologies|i apologi[sz]e|unfortunately|i'm afraid)[ ,.!;:\u2013\u2014-]*(?:but )?/;

/**
 * The refusal opening `text` starts with, or undefined. Case, curly
 * apostrophes, runs of whitespace and the long forms ("cannot", "I am",
 * "will not") do not matter.
 */
export function refusalOpening(
  text: string,
  openings: readonly string[] = REFUSAL_OPENINGS,
): string | undefined {
  const head = text.slice(0, HEAD).trimStart();
  // Most answers cannot open with a refusal at all: skip the normalizing for them.
  const first = head.charAt(0).toLowerCase();
  if (!APOLOGY_INITIALS.includes(first) && !openings.some((o) => o.charAt(0) === first)) return undefined;
  return match(normalize(head), openings);
}

function match(head: string, openings: readonly string[]): string | undefined {
  const rest = head.slice(APOLOGY.exec(head)?.[0].length ?? 0);
  for (const opening of openings) if (rest.startsWith(opening)) return opening;
  return undefined;
}

function normalize(text: string): string {
  return text
    .toLowerCase()
    .replace(/[\u2018\u2019\u02bc]/g, "'")
    .replace(/\s+/g, " ")
    .trimStart()
    .replace(/\bcan ?not\b/g, "can't")
    .replace(/\bi am\b/g, "i'm")
    .replace(/\bwill not\b/g, "won't")
    .replace(/\bdo not\b/g, "don't");
}
