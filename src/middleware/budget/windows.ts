import { calendarDayIn } from "../../reports/calendar.js";

/**
 * A spend window: a calendar `day` or `month` in the host's time zone (it
 * starts at local midnight, across DST changes), or the last N hours.
 */
export type WindowSpec = "day" | "month" | { rollingHours: number };

/** A window as the counters see it (less its limit), with a name for people. */
export interface ResolvedWindow {
  /** The counter id: `day:2025-03-09`, `month:2025-03`, `rolling:6h`. */
  id: string;
  /** `day`, `month`, `rolling-6h`: the window's name in a scope (`tenant:acme:day`). */
  label: string;
  ttlMs: number;
  rolling?: { spanMs: number; bucketMs: number };
  /** When a calendar window ends (the next local midnight), in ms since the epoch. */
  endsAt?: number;
}

/** Counters outlive their window by this much, so that a call that ends after midnight still settles into it. */
const GRACE_MS = 2 * 86_400_000;
const HOUR_MS = 3_600_000;
/** A rolling window is kept in this many buckets: spend is forgotten at most 1/60 of the span late. */
const BUCKETS = 60;

/**
 * Resolves windows at an instant, in one time zone. Calendar ids come from
 * the local date (`Intl`, DST included), so a window changes at local
 * midnight whatever the offset; ends are memoized per local day.
 */
export class WindowClock {
  readonly #day: (ms: number) => string;
  readonly #wall: Intl.DateTimeFormat;
  readonly #ends = new Map<string, number>();

  constructor(readonly timeZone: string) {
    this.#day = calendarDayIn(timeZone);
    this.#wall = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
  }

  resolve(spec: WindowSpec, nowMs: number): ResolvedWindow {
    if (typeof spec === "object") {
      const spanMs = Math.round(spec.rollingHours * HOUR_MS);
      const bucketMs = Math.max(1_000, Math.ceil(spanMs / BUCKETS));
      return {
        id: `rolling:${spec.rollingHours}h`,
        label: `rolling-${spec.rollingHours}h`,
        ttlMs: spanMs + bucketMs,
        rolling: { spanMs, bucketMs },
      };
    }
    const day = this.#day(nowMs);
    const key = spec === "day" ? day : day.slice(0, 7);
    const endsAt = this.#endOf(spec, key);
    return { id: `${spec}:${key}`, label: spec, ttlMs: Math.max(0, endsAt - nowMs) + GRACE_MS, endsAt };
  }

  /** The local midnight that ends a day (`YYYY-MM-DD`) or a month (`YYYY-MM`). */
  #endOf(spec: "day" | "month", key: string): number {
    const memo = `${spec}:${key}`;
    let end = this.#ends.get(memo);
    if (end === undefined) {
      const [y, m, d] = key.split("-").map(Number) as [number, number, number?];
      // Date.UTC normalizes day 32 and month 13, leap years included.
      const next = spec === "day" ? new Date(Date.UTC(y, m - 1, d! + 1)) : new Date(Date.UTC(y, m, 1));
      end = this.#localMidnight(next.getUTCFullYear(), next.getUTCMonth(), next.getUTCDate());
      if (this.#ends.size >= 1_000) this.#ends.clear();
      this.#ends.set(memo, end);
    }
    return end;
  }

  /**
   * The first instant of a local date (month 0-based): 00:00, or the end of a
   * DST gap where midnight does not exist (America/Santiago). Candidates come
   * from the offsets on either side of a transition; the earliest that falls
   * on the date (or later) wins.
   */
  #localMidnight(year: number, month: number, day: number): number {
    const wall = Date.UTC(year, month, day);
    const target = new Date(wall).toISOString().slice(0, 10);
    const first = wall - this.#offset(wall);
    const second = wall - this.#offset(first);
    const third = wall - this.#offset(second);
    const onTarget = [first, second, third].filter((t) => this.#day(t) >= target);
    return onTarget.length ? Math.min(...onTarget) : Math.max(first, second, third);
  }

  /** Local wall time minus UTC at an instant, in ms (to the second). */
  #offset(ms: number): number {
    const p: Record<string, number> = {};
    for (const part of this.#wall.formatToParts(ms)) if (part.type !== "literal") p[part.type] = +part.value;
    const wall = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
    return wall - Math.floor(ms / 1_000) * 1_000;
  }
}
