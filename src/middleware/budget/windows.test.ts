import { describe, expect, it } from "vitest";
import { WindowClock } from "./windows.js";

const at = (iso: string) => Date.parse(iso);
const day = (clock: WindowClock, iso: string) => clock.resolve("day", at(iso));
const month = (clock: WindowClock, iso: string) => clock.resolve("month", at(iso));
const iso = (ms: number | undefined) => new Date(ms!).toISOString();

describe("calendar windows in the host's time zone (FAILURES.md B3)", () => {
  it("changes day at local midnight, not UTC midnight", () => {
    const tokyo = new WindowClock("Asia/Tokyo");
    expect(day(tokyo, "2025-06-10T14:59:59.999Z").id).toBe("day:2025-06-10");
    expect(day(tokyo, "2025-06-10T15:00:00.000Z").id).toBe("day:2025-06-11");
    expect(iso(day(tokyo, "2025-06-10T15:00:00.000Z").endsAt)).toBe("2025-06-11T15:00:00.000Z");
    const utc = new WindowClock("UTC");
    expect(day(utc, "2025-06-10T23:59:59.999Z").id).toBe("day:2025-06-10");
    expect(iso(day(utc, "2025-06-10T12:00:00Z").endsAt)).toBe("2025-06-11T00:00:00.000Z");
  });

  it("spring forward (America/New_York, 2025-03-09): a 23-hour day, ending at the next local midnight", () => {
    const ny = new WindowClock("America/New_York");
    expect(day(ny, "2025-03-09T04:59:59Z").id).toBe("day:2025-03-08");
    const start = day(ny, "2025-03-09T05:00:00Z");
    expect(start.id).toBe("day:2025-03-09");
    expect(iso(start.endsAt)).toBe("2025-03-10T04:00:00.000Z");
    expect(start.endsAt! - at("2025-03-09T05:00:00Z")).toBe(23 * 3_600_000);
    expect(day(ny, "2025-03-09T07:30:00Z").id).toBe("day:2025-03-09"); // 03:30 EDT, just after the gap
    expect(day(ny, "2025-03-10T03:59:59Z").id).toBe("day:2025-03-09");
    expect(day(ny, "2025-03-10T04:00:00Z").id).toBe("day:2025-03-10");
  });

  it("fall back (America/New_York, 2025-11-02): a 25-hour day", () => {
    const ny = new WindowClock("America/New_York");
    const start = day(ny, "2025-11-02T04:00:00Z");
    expect(start.id).toBe("day:2025-11-02");
    expect(iso(start.endsAt)).toBe("2025-11-03T05:00:00.000Z");
    expect(day(ny, "2025-11-02T05:30:00Z").id).toBe("day:2025-11-02"); // 01:30 EDT
    expect(day(ny, "2025-11-02T06:30:00Z").id).toBe("day:2025-11-02"); // 01:30 EST, the repeated hour
    expect(day(ny, "2025-11-03T04:59:59Z").id).toBe("day:2025-11-02");
  });

  it("Europe/Paris across its March change", () => {
    const paris = new WindowClock("Europe/Paris");
    expect(day(paris, "2025-03-29T23:00:00Z").id).toBe("day:2025-03-30");
    expect(iso(day(paris, "2025-03-29T23:00:00Z").endsAt)).toBe("2025-03-30T22:00:00.000Z");
    expect(day(paris, "2025-03-30T21:59:59Z").id).toBe("day:2025-03-30");
  });

  it("a zone whose DST gap swallows midnight (America/Santiago, 2024-09-08) starts the day at 01:00", () => {
    const santiago = new WindowClock("America/Santiago");
    expect(iso(day(santiago, "2024-09-07T12:00:00Z").endsAt)).toBe("2024-09-08T04:00:00.000Z");
    expect(day(santiago, "2024-09-08T03:59:59Z").id).toBe("day:2024-09-07");
    expect(day(santiago, "2024-09-08T04:00:00Z").id).toBe("day:2024-09-08");
  });

  it("month end: the month changes at local midnight of the 1st, while UTC is still on the 31st", () => {
    const tokyo = new WindowClock("Asia/Tokyo");
    expect(month(tokyo, "2025-03-31T14:59:59Z").id).toBe("month:2025-03");
    const april = month(tokyo, "2025-03-31T15:00:00Z");
    expect(april.id).toBe("month:2025-04");
    expect(iso(april.endsAt)).toBe("2025-04-30T15:00:00.000Z");
    const ny = new WindowClock("America/New_York");
    expect(month(ny, "2025-01-01T04:59:59Z").id).toBe("month:2024-12"); // new year in UTC, not yet in New York
    expect(iso(month(ny, "2024-12-15T12:00:00Z").endsAt)).toBe("2025-01-01T05:00:00.000Z");
  });

  it("leap day: 2024-02-29 is a day of its own in February, and March follows it", () => {
    const la = new WindowClock("America/Los_Angeles");
    const leap = day(la, "2024-02-29T08:00:00Z");
    expect(leap.id).toBe("day:2024-02-29");
    expect(iso(leap.endsAt)).toBe("2024-03-01T08:00:00.000Z");
    expect(month(la, "2024-02-29T23:00:00Z").id).toBe("month:2024-02");
    expect(iso(month(la, "2024-02-29T23:00:00Z").endsAt)).toBe("2024-03-01T08:00:00.000Z");
    expect(day(la, "2024-03-01T08:00:00Z").id).toBe("day:2024-03-01");
    expect(iso(day(la, "2023-02-28T12:00:00Z").endsAt)).toBe("2023-03-01T08:00:00.000Z"); // no leap day
  });

  it("keeps counters past their window's end, for calls that settle after midnight", () => {
    const utc = new WindowClock("UTC");
    const w = day(utc, "2025-06-10T23:00:00Z");
    expect(w.ttlMs).toBe(3_600_000 + 2 * 86_400_000);
  });
});

describe("rolling windows", () => {
  it("span the last N hours in 60 buckets, whatever the time zone", () => {
    const w = new WindowClock("Asia/Kolkata").resolve({ rollingHours: 6 }, at("2025-06-10T12:00:00Z"));
    expect(w).toEqual({
      id: "rolling:6h",
      label: "rolling-6h",
      ttlMs: 6 * 3_600_000 + 360_000,
      rolling: { spanMs: 6 * 3_600_000, bucketMs: 360_000 },
    });
    expect(new WindowClock("UTC").resolve({ rollingHours: 0.001 }, 0).rolling?.bucketMs).toBe(1_000);
  });
});
