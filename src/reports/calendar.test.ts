import { describe, expect, it } from "vitest";
import { calendarDayIn, INVALID_DAY, timeZoneSchema } from "./calendar.js";

describe("calendarDayIn", () => {
  const day = (timeZone: string, iso: string) => calendarDayIn(timeZone)(Date.parse(iso));

  it("follows Paris across the fall-back day (25 hours)", () => {
    const paris = calendarDayIn("Europe/Paris");
    const times = [
      "2024-10-26T21:59:00Z",
      "2024-10-26T22:00:00Z",
      "2024-10-27T22:59:00Z",
      "2024-10-27T23:00:00Z",
    ];
    expect(times.map((t) => paris(Date.parse(t)))).toEqual([
      "2024-10-26",
      "2024-10-27",
      "2024-10-27",
      "2024-10-28",
    ]);
  });

  it("handles an offset that is not a whole hour (Kathmandu, +05:45)", () => {
    expect(day("Asia/Kathmandu", "2024-06-01T18:14:59.999Z")).toBe("2024-06-01");
    expect(day("Asia/Kathmandu", "2024-06-01T18:15:00Z")).toBe("2024-06-02");
  });

  it("answers the same from its memo as from a fresh call, minute after minute", () => {
    const memo = calendarDayIn("America/New_York");
    const start = Date.parse("2024-11-03T03:00:00Z"); // the fall-back night
    for (let m = 0; m < 600; m++) {
      const ms = start + m * 60_000 + 59_999;
      memo(ms);
      expect(memo(ms)).toBe(calendarDayIn("America/New_York")(ms));
    }
  });

  it("puts an unparsable time in its own bucket", () => {
    expect(calendarDayIn("UTC")(Number.NaN)).toBe(INVALID_DAY);
  });
});

describe("timeZoneSchema", () => {
  it("accepts IANA names and rejects the rest", () => {
    expect(timeZoneSchema.safeParse("Europe/Paris").success).toBe(true);
    expect(timeZoneSchema.safeParse("UTC").success).toBe(true);
    expect(timeZoneSchema.safeParse("Mars/Olympus").success).toBe(false);
  });
});
