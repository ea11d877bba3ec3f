/** The numbers guard's reading of a prompt: values, operators, units and calendar words. */
import type { PromptFacts } from "./facts.js";
import { CALENDAR, CARDINALS, MULTIPLIERS, ORDINALS, UNITS } from "./lexicon.js";

export interface Numbers {
  values: string[];
  operators: string[];
  units: string[];
  dates: string[];
}

const numberCache = new WeakMap<PromptFacts, Numbers>();
const OPERATORS = new Set(["+", "-", "*", "/", "×", "÷", "^", "=", "<", ">"]);
const CURRENCY_SIGNS = new Set(["$", "€", "£", "₹", "¥"]);

export function numbersOf(facts: PromptFacts): Numbers {
  const cached = numberCache.get(facts);
  if (cached) return cached;
  const out: Numbers = { values: [], operators: [], units: [], dates: [] };
  const { text, words } = facts;
  // Digits: "1,000" is 1000, "2.50" is 2.5; an operator right before a number is part of it.
  for (const m of text.matchAll(/\d+(?:[.,]\d+)*/g)) {
    // Digits glued to letters before them are part of a name (CO2, X7, K2): the entities guard's.
    if (m.index > 0 && /\p{L}/u.test(text[m.index - 1]!)) continue;
    const value = canonicalNumber(m[0]);
    let p = m.index - 1;
    while (p >= 0 && text[p] === " ") p--;
    const op = text[p];
    if (op !== undefined && OPERATORS.has(op)) out.operators.push(op);
    // A currency sign before the number is its unit ("$5", "₹ 500"); the last letter of the word before is not ("am 25").
    const unit =
      unitAfter(text, m.index + m[0].length) ?? (op && CURRENCY_SIGNS.has(op) ? UNITS.get(op) : undefined);
    if (unit === "st") out.values.push(`${value}th`);
    else {
      out.values.push(value);
      if (unit) out.units.push(`${value} ${unit}`);
    }
  }
  // Number words: "twenty five" is 25, "two thousand" is 2000; "one" only before a unit.
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!.lower;
    const ordinal = ORDINALS.get(w);
    if (ordinal !== undefined) {
      out.values.push(`${ordinal}th`);
      continue;
    }
    if (!CARDINALS.has(w) || (w === "one" && !UNITS.has(words[i + 1]?.lower ?? ""))) continue;
    let total = 0;
    let current = 0;
    let j = i;
    for (; j < words.length; j++) {
      const x = words[j]!.lower;
      const c = CARDINALS.get(x);
      const mult = MULTIPLIERS.get(x);
      if (c !== undefined) current += c;
      else if (mult !== undefined) {
        total += Math.max(current, 1) * mult;
        current = 0;
      } else if (x !== "and" || j === i) break;
    }
    const value = String(total + current);
    out.values.push(value);
    const unit = UNITS.get(words[j]?.lower ?? "");
    if (unit) out.units.push(`${value} ${unit}`);
    i = j - 1;
  }
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const date = CALENDAR.get(w.lower);
    if (date === undefined) continue;
    if (w.lower === "may" || w.lower === "march") {
      const nearNumber = /\d/.test(words[i - 1]?.raw ?? "") || /\d/.test(words[i + 1]?.raw ?? "");
      const named = !facts.caseless && !w.initial && w.raw[0] === w.raw[0]!.toUpperCase();
      if (!nearNumber && !named) continue;
    }
    out.dates.push(date);
  }
  numberCache.set(facts, out);
  return out;
}

function canonicalNumber(digits: string): string {
  // Thousands separators are commas followed by exactly three digits; anything else is a decimal point.
  const plain = /^\d{1,3}(,\d{3})+$/.test(digits) ? digits.replace(/,/g, "") : digits.replace(/,/g, ".");
  if (!plain.includes(".")) return plain.replace(/^0+(?=\d)/, "");
  const n = Number(plain);
  return Number.isFinite(n) ? String(n) : plain;
}

/** The unit written right after a number: attached ("5km", "10%") or the next word ("5 km"). */
function unitAfter(text: string, end: number): string | undefined {
  let i = end;
  if (text[i] === " ") i++;
  let j = i;
  while (j < text.length && j - i < 16 && /[\p{L}%°$€£₹¥]/u.test(text[j]!)) j++;
  if (j === i) return undefined;
  return UNITS.get(text.slice(i, j).toLowerCase());
}

/** "2, 2 vs 2, 3" when the multisets differ, else undefined. */
export function differ(a: readonly string[], b: readonly string[]): string | undefined {
  const sa = [...a].sort();
  const sb = [...b].sort();
  if (sa.join("\u0000") === sb.join("\u0000")) return undefined;
  return `${sa.join(", ") || "none"} vs ${sb.join(", ") || "none"}`;
}

/**
 * A number written with one unit here and another there ("5 km" / "5 miles"),
 * as "5 km vs 5 mi"; undefined when every number that has a unit in both
 * prompts has the same one (a unit in one prompt only is no conflict).
 */
export function unitConflict(a: readonly string[], b: readonly string[]): string | undefined {
  const byValue = (units: readonly string[]) => {
    const m = new Map<string, Set<string>>();
    for (const u of units) {
      const [value, unit] = u.split(" ", 2) as [string, string];
      m.set(value, (m.get(value) ?? new Set()).add(unit));
    }
    return m;
  };
  const ua = byValue(a);
  const ub = byValue(b);
  for (const [value, units] of ua) {
    const other = ub.get(value);
    if (other && ![...units].some((u) => other.has(u)))
      return `${value} ${[...units].join("/")} vs ${value} ${[...other].join("/")}`;
  }
  return undefined;
}

const PRESENT = new Set(["today"]);

/** True when every calendar word is the present ("today"). */
export function presentOnly(dates: readonly string[]): boolean {
  return dates.length > 0 && dates.every((d) => PRESENT.has(d));
}
