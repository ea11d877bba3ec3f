import { z } from "zod";

/** An IANA time zone name that this runtime knows (`UTC`, `Europe/Paris`, `America/New_York`). */
export const timeZoneSchema = z
  .string()
  .refine(isTimeZone, 'expected an IANA time zone such as "UTC" or "Europe/Paris"');

/**
 * Returns a function giving the calendar day (`YYYY-MM-DD`) of an instant in
 * `timeZone`, DST included. Results are memoized per minute: every offset in
 * use since 1972 is a whole number of minutes, so a minute never straddles
 * midnight, and a day's records then cost one Intl call per distinct minute.
 */
export function calendarDayIn(timeZone: string): (ms: number) => string {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  });
  const memo = new Map<number, string>();
  return (ms) => {
    if (!Number.isFinite(ms)) return INVALID_DAY;
    const minute = Math.floor(ms / 60_000);
    let day = memo.get(minute);
    if (day === undefined) {
      const parts: Record<string, string> = {};
      for (const part of format.formatToParts(ms)) parts[part.type] = part.value;
      day = `${parts.year}-${parts.month}-${parts.day}`;
      // Bounded: a long report over many distinct minutes must not grow this without end.
      if (memo.size >= 10_000) memo.clear();
      memo.set(minute, day);
    }
    return day;
  };
}

/** The day bucket of a record whose `time` does not parse. */
export const INVALID_DAY = "(invalid time)";

function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    return true;
  } catch {
    return false;
  }
}
