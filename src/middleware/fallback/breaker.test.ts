import { describe, expect, it } from "vitest";
import { BREAKER_DEFAULTS, type BreakerSettings, CircuitBreaker, type Transition } from "./breaker.js";
import { SlidingWindow } from "./sliding-window.js";

const settings = (o: Partial<BreakerSettings> = {}): BreakerSettings => ({
  ...BREAKER_DEFAULTS,
  minCalls: 4,
  failureRate: 0.5,
  windowMs: 10_000,
  openMs: 5_000,
  halfOpenProbes: 2,
  ...o,
});

function harness(o: Partial<BreakerSettings> = {}) {
  const breaker = new CircuitBreaker(settings(o));
  const transitions: Transition["to"][] = [];
  const on = (t: Transition) => transitions.push(t.to);
  const call = (now: number, outcome: "success" | "failure" | "neutral", slow = false) => {
    const permit = breaker.acquire(now, on);
    if (permit) breaker.record(permit, outcome, slow, now, on);
    return permit !== undefined;
  };
  return { breaker, transitions, on, call };
}

describe("SlidingWindow", () => {
  it("sums counts within the window and forgets them a window later", () => {
    const w = new SlidingWindow(1_000, 2);
    w.add(0, 0);
    w.add(50, 1, 3);
    w.add(950, 0);
    expect(w.totals(999)).toEqual([2, 3]);
    // Buckets of 100 ms: the bucket of t=0..99 leaves at t=1000, that of t=900..999 at t=1900.
    expect(w.totals(1_000)).toEqual([1, 0]);
    expect(w.totals(1_899)).toEqual([1, 0]);
    expect(w.totals(1_900)).toEqual([0, 0]);
  });

  it("keeps fixed memory: a slot reused a window later starts from zero", () => {
    const w = new SlidingWindow(1_000, 1);
    for (let t = 0; t < 100_000; t += 7) w.add(t, 0);
    const [count] = w.totals(99_999);
    // About one window's worth (1000 / 7), never the whole history.
    expect(count).toBeGreaterThan(120);
    expect(count).toBeLessThan(150);
  });
});

describe("CircuitBreaker", () => {
  it("stays closed below minCalls, then opens when the failure rate reaches the threshold", () => {
    const { call, transitions, breaker } = harness();
    expect(call(0, "failure")).toBe(true);
    expect(call(1, "failure")).toBe(true);
    expect(call(2, "failure")).toBe(true);
    expect(breaker.state(3)).toBe("closed");
    expect(call(3, "success")).toBe(true); // 4 calls, 3 failures: 75% >= 50%
    expect(transitions).toEqual(["open"]);
    expect(breaker.state(4)).toBe("open");
  });

  it("does not open while failures stay under the rate", () => {
    const { call, transitions } = harness();
    for (let i = 0; i < 20; i++) call(i, i % 4 === 0 ? "failure" : "success");
    expect(transitions).toEqual([]);
  });

  it("opens on the slow-call rate", () => {
    const { call, transitions } = harness({ slowCallRate: 0.75 });
    for (let i = 0; i < 4; i++) call(i, "success", true);
    expect(transitions).toEqual(["open"]);
  });

  it("refuses calls while open, then lets halfOpenProbes through and closes once they succeed", () => {
    const { breaker, on, call, transitions } = harness();
    for (let i = 0; i < 4; i++) call(i, "failure");
    expect(breaker.acquire(4_999, on)).toBeUndefined();
    // openMs after opening (at t=3): half-open, two probes at most in flight.
    const p1 = breaker.acquire(5_003, on)!;
    const p2 = breaker.acquire(5_003, on)!;
    expect(p1.probe && p2.probe).toBe(true);
    expect(breaker.acquire(5_003, on)).toBeUndefined();
    breaker.record(p1, "success", false, 5_004, on);
    expect(breaker.state(5_004)).toBe("half-open");
    breaker.record(p2, "success", false, 5_005, on);
    expect(transitions).toEqual(["open", "half-open", "closed"]);
    expect(breaker.state(5_006)).toBe("closed");
    // Closed starts from a clean window.
    expect(call(5_007, "failure")).toBe(true);
    expect(breaker.state(5_008)).toBe("closed");
  });

  it("gives up a probe that reports nothing for openMs (a stream nobody reads), and ignores it after", () => {
    const { breaker, on, call, transitions } = harness({ halfOpenProbes: 1 });
    for (let i = 0; i < 4; i++) call(i, "failure");
    const silent = breaker.acquire(5_003, on)!;
    expect(silent.probe).toBe(true);
    expect(breaker.acquire(10_002, on)).toBeUndefined(); // still in flight
    const next = breaker.acquire(10_003, on)!; // openMs later: its place goes to another probe
    expect(next.probe).toBe(true);
    breaker.record(silent, "failure", false, 10_004, on); // too late: ignored
    expect(breaker.state(10_004)).toBe("half-open");
    breaker.record(next, "success", false, 10_005, on);
    expect(transitions).toEqual(["open", "half-open", "closed"]);
  });

  it("opens again when a probe fails, for another openMs", () => {
    const { breaker, on, call, transitions } = harness();
    for (let i = 0; i < 4; i++) call(i, "failure");
    const probe = breaker.acquire(6_000, on)!;
    breaker.record(probe, "failure", false, 6_001, on);
    expect(transitions).toEqual(["open", "half-open", "open"]);
    expect(breaker.acquire(11_000, on)).toBeUndefined();
    expect(breaker.acquire(11_001, on)).toBeDefined();
  });

  it("a neutral outcome (the request's own 4xx, an abort) neither counts nor holds a probe", () => {
    const { breaker, on, call, transitions } = harness();
    for (let i = 0; i < 10; i++) call(i, "neutral");
    expect(transitions).toEqual([]);
    for (let i = 0; i < 4; i++) call(10 + i, "failure");
    const probe = breaker.acquire(20_000, on)!;
    breaker.record(probe, "neutral", false, 20_001, on);
    expect(breaker.acquire(20_002, on)).toBeDefined();
    expect(breaker.acquire(20_002, on)).toBeDefined();
  });

  it("ignores the outcome of a call admitted before the circuit changed state", () => {
    const { breaker, on, call, transitions } = harness();
    const late = breaker.acquire(0, on)!;
    for (let i = 0; i < 4; i++) call(i, "failure");
    breaker.record(late, "success", false, 10, on);
    expect(breaker.state(11)).toBe("open");
    expect(transitions).toEqual(["open"]);
  });
});
