/**
 * Cheap detectors of what a prompt holds, for routing rules. Every regular
 * expression here is made of fixed strings, character classes and bounded
 * repetitions, with no nested quantifier, so it runs in linear time on any
 * input (FAILURES.md S5, fuzzed in detectors.test.ts); and only the first
 * DETECT_CHARS characters are read, so a huge prompt costs no more than a
 * large one. They are heuristics: a rule that must never miss should match
 * on `task` or metadata the host sets.
 */

/** Characters of a prompt the detectors read. */
export const DETECT_CHARS = 20_000;

/**
 * Signs of code, each with whether it needs one of the characters of
 * CODE_CHARS (a prompt without any, three in four prose prompts, is only
 * searched for the signs that can match it) and a prefilter: short strings
 * that every match of the expression holds, looked up with `includes`
 * before it runs. Most prose lacks them (no `(`, no `def`, no `Error`), so
 * the expressions, a few hundred nanoseconds each on a typical prompt, run
 * on few prompts; the answer is theirs whatever the prefilter. V8 finds a
 * string by scanning for its first character, so a string that opens with
 * a rare one (`(`, `=`, `#`, a capital) costs little; longer than 6
 * characters, it would take a Boyer-Moore table, built at each search.
 * Signs with no cheap prefilter (`class`, imports) have none.
 */
interface CodeSign {
  readonly re: RegExp;
  readonly needsCodeChars: boolean;
  /** Every match holds one of these strings, or all the strings of one of these groups. */
  readonly needs?: readonly (string | readonly string[])[];
}
const CODE_CHARS = /[(){};=<>#`~|&+]/;

/** Any one of these is code: a fence, a Python or C definition line, a stack trace, an SQL statement. */
const CODE_STRONG: readonly CodeSign[] = [
  { re: /```|~~~/, needsCodeChars: true },
  {
    re: /^[ \t]{0,16}(?:async[ \t]{1,4})?def[ \t]{1,4}[A-Za-z_]\w{0,64}[ \t]{0,4}\([^)\n]{0,200}\)[^:\n]{0,80}:[ \t]{0,16}$/m,
    needsCodeChars: true,
    needs: [["(", "def"]],
  },
  { re: /^[ \t]{0,16}#include[ \t]{0,4}[<"]/m, needsCodeChars: true, needs: ["#inclu"] },
  {
    re: /Traceback \(most recent call last\)|\bat [\w$.<>]{1,200}\([\w./-]{1,200}:\d{1,6}/,
    needsCodeChars: true,
    needs: ["Traceb", ["(", ":", "at "]],
  },
  {
    re: /\b(?:SELECT[ \t\n]{1,4}[\w*,. \t]{1,200}[ \t\n]FROM[ \t\n]{1,4}\w|INSERT[ \t]{1,4}INTO[ \t]{1,4}\w|CREATE[ \t]{1,4}TABLE[ \t]{1,4}\w|UPDATE[ \t]{1,4}\w{1,64}[ \t]{1,4}SET[ \t])/,
    needsCodeChars: false,
    // SELECT, INSERT, CREATE and UPDATE all hold a capital E.
    needs: ["E"],
  },
];
/** Two different ones of these are code. */
const CODE_SIGNS: readonly CodeSign[] = [
  // A definition: def f(, function g(, fn h(, func k(
  {
    re: /\b(?:def|fn|func|function)[ \t]{1,4}[A-Za-z_$][\w$]{0,64}[ \t]{0,4}\(/,
    needsCodeChars: true,
    needs: [
      ["(", "def"],
      ["(", "fn"],
      ["(", "func"],
    ],
  },
  // A type: class Foo {, struct Bar {, interface Baz<, class Foo:
  {
    re: /\b(?:class|struct|interface|enum)[ \t]{1,4}[A-Z][\w$]{0,64}[ \t]{0,4}[:{(<]/,
    needsCodeChars: false,
  },
  // Imports at the start of a line
  {
    re: /^[ \t]{0,16}(?:import[ \t]{1,4}[\w{*]|from[ \t]{1,4}[\w.]{1,64}[ \t]{1,4}import\b|package[ \t]{1,4}[\w.]{1,64};|using[ \t]{1,4}[\w.]{1,64};)/m,
    needsCodeChars: false,
  },
  // A declaration with an assignment
  {
    re: /\b(?:const|let|var)[ \t]{1,4}[A-Za-z_$][\w$]{0,64}[ \t]{0,4}=/,
    needsCodeChars: true,
    needs: [
      ["=", "const"],
      ["=", "let"],
      ["=", "var"],
    ],
  },
  // Operators prose rarely uses
  { re: /=>|::|\+\+|&&|\|\||!==|===|<\/[a-z]{1,16}>/, needsCodeChars: false },
  // A line that ends with ; { or }
  { re: /[;{}][ \t]{0,16}$/m, needsCodeChars: true, needs: [";", "{", "}"] },
  // A printing call, or an indented return
  {
    re: /\b(?:print|console\.log|System\.out\.println|printf|println|fmt\.Println)[ \t]{0,4}\(|^[ \t]{1,16}return\b/m,
    needsCodeChars: false,
    // print, printf, println and Println all hold "rint".
    needs: [["(", "rint"], ["(", "consol"], "return"],
  },
  // An error name
  {
    re: /\b(?:SyntaxError|TypeError|ReferenceError|NullPointerException|segmentation fault)\b/,
    needsCodeChars: false,
    needs: ["Error", "NullPo", "fault"],
  },
];

/** Whether `t` holds what every match of the sign holds (see CodeSign.needs). */
function mayMatch(sign: CodeSign, t: string): boolean {
  const needs = sign.needs;
  if (needs === undefined) return true;
  for (const need of needs) {
    if (typeof need === "string") {
      if (t.includes(need)) return true;
      continue;
    }
    let all = true;
    for (const part of need) {
      if (!t.includes(part)) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

/** Whether the sign matches `t`; `codeChars` is whether `t` holds one of CODE_CHARS. */
function signMatches(sign: CodeSign, t: string, codeChars: boolean): boolean {
  return (codeChars || !sign.needsCodeChars) && mayMatch(sign, t) && sign.re.test(t);
}

/** True for a fence, a definition line, a stack trace or SQL, or two different signs of code (`const x =`, `;` line ends, an import...). */
export function looksLikeCode(text: string): boolean {
  const t = head(text);
  const codeChars = CODE_CHARS.test(t);
  for (const sign of CODE_STRONG) if (signMatches(sign, t, codeChars)) return true;
  let signs = 0;
  for (const sign of CODE_SIGNS) {
    if (signMatches(sign, t, codeChars) && ++signs >= 2) return true;
  }
  return false;
}

const LATEX =
  /\\(?:frac|dfrac|sqrt|int|iint|oint|sum|prod|lim|cdot|times|div|pm|leq|geq|neq|approx|infty|partial|nabla|alpha|beta|gamma|delta|theta|lambda|sigma|mathbb|mathrm|binom|begin\{(?:equation|align|matrix|pmatrix|bmatrix|cases)\})/;
// 3 + 4, 2^10, x^2, x = 5, 2 = y, √ ∫ ∑ ... (no - or /: dates and ranges use them)
const EQUATION =
  /\d[ \t]{0,3}[+*^×÷·][ \t]{0,3}\(?[ \t]{0,3}\d|\b[a-z][ \t]{0,3}(?:\^|\*\*)[ \t]{0,3}\d|\b[a-zA-Z][ \t]{0,3}=[ \t]{0,3}-?[\d(]|\d[ \t]{0,3}=[ \t]{0,3}[-\d(a-z]|[√∫∑∏∞≤≥≠≈π]/;
const MATH_WORDS =
  /\b(?:solve|equations?|integral|derivative|differentiate|integrate|polynomials?|probability|theorem|prove|proof|matrix|matrices|eigenvalues?|logarithms?|factorial|quadratic|arithmetic|algebra|geometry|calculus|trigonometry|percent(?:age)?|how (?:many|much)|average|total|remainder)\b/i;
const NUMBER = /\d{1,32}(?:[.,]\d{1,32})?/g;

/** True for LaTeX, an equation, or a mathematical word ("solve", "how many", "probability") with two or more numbers. */
export function looksLikeMath(text: string): boolean {
  const t = head(text);
  if (LATEX.test(t) || EQUATION.test(t)) return true;
  return MATH_WORDS.test(t) && atLeast(NUMBER, t, 2);
}

const NUMBERED = /^[ \t]{0,8}(?:\d{1,2}[.)]|step[ \t]{1,3}\d{1,2}[:.)]?)[ \t]{1,8}\S/gim;
const BULLET = /^[ \t]{0,8}[-*•][ \t]{1,8}\S/gm;
const STEP_BY_STEP = /\bstep[ -]by[ -]step\b/i;
const SEQUENCE =
  /\b(?:first(?:ly)?|second(?:ly)?|third(?:ly)?|then|next|after that|afterwards|finally|lastly|and also|subsequently)\b/gi;
const QUESTION = /\?/g;

/**
 * True when the prompt asks for several steps: two numbered items, three
 * bullets, "step by step", three sequencing words ("first", "then",
 * "finally"), or three questions.
 */
export function looksMultiStep(text: string): boolean {
  const t = head(text);
  return (
    atLeast(NUMBERED, t, 2) ||
    atLeast(BULLET, t, 3) ||
    STEP_BY_STEP.test(t) ||
    atLeast(SEQUENCE, t, 3) ||
    atLeast(QUESTION, t, 3)
  );
}

function head(text: string): string {
  return text.length > DETECT_CHARS ? text.slice(0, DETECT_CHARS) : text;
}

/** Whether a global expression (which never matches the empty string) matches `n` times or more. */
function atLeast(re: RegExp, text: string, n: number): boolean {
  re.lastIndex = 0;
  let found = 0;
  while (re.exec(text) !== null) {
    if (++found >= n) {
      re.lastIndex = 0;
      return true;
    }
  }
  return false;
}
