import { describe, expect, it } from "vitest";
import { CostGuard } from "./cost-guard.js";

let requests = 0;
/** A new request (its identity: the guard keys requests by object, as the middleware by `ctx.attempts`). */
const id = (): object => ({ request: ++requests });

/** Counts `n` requests that all want to escalate; returns how many were let through. */
function flood(guard: CostGuard, n: number, tenant?: string, now = 0, critical = false): number {
  let admitted = 0;
  for (let i = 0; i < n; i++) {
    const request = id();
    guard.countRequest(tenant, now, request);
    if (guard.admit(tenant, now, critical, request) === undefined) admitted++;
  }
  return admitted;
}

describe("CostGuard", () => {
  it("lets at most maxShare of the requests in the window escalate", () => {
    expect(flood(new CostGuard(0.2, 60_000, false), 100)).toBe(20);
    expect(flood(new CostGuard(0.2, 60_000, false), 101)).toBe(21);
    expect(flood(new CostGuard(0.05, 60_000, false), 1_000)).toBe(50);
  });

  it("holds the cap where maxShare x requests is not exact in floating point (0.28 x 25, 0.07 x 100)", () => {
    for (const [share, n, cap] of [
      [0.28, 25, 7],
      [0.07, 100, 7],
    ] as const) {
      const guard = new CostGuard(share, 60_000, false);
      const ids = Array.from({ length: n }, id);
      for (const r of ids) guard.countRequest(undefined, 0, r); // all arrive, then all want to escalate
      expect(ids.filter((r) => guard.admit(undefined, 0, false, r) === undefined)).toHaveLength(cap);
    }
  });

  it("counts the request it decides on even when its own count has left a short window", () => {
    const guard = new CostGuard(1, 1_000, false);
    const slow = id();
    guard.countRequest(undefined, 0, slow);
    expect(guard.admit(undefined, 1_500, false, slow)).toBeUndefined(); // maxShare 1: never engages
  });

  it("a request that did not need to escalate still counts in the denominator", () => {
    const guard = new CostGuard(0.2, 60_000, false);
    for (let i = 0; i < 50; i++) guard.countRequest(undefined, 0, id());
    expect(flood(guard, 50)).toBe(20);
  });

  it("maxShare 0 never lets a request escalate; 1 always does", () => {
    expect(flood(new CostGuard(0, 60_000, false), 10)).toBe(0);
    expect(flood(new CostGuard(1, 60_000, false), 10)).toBe(10);
  });

  it("says which allowance is used up, with the share", () => {
    const guard = new CostGuard(0.2, 60_000, false);
    expect(flood(guard, 4)).toBe(1);
    const request = id();
    guard.countRequest(undefined, 0, request);
    const refusal = guard.admit(undefined, 0, false, request);
    expect(refusal).toEqual({ scope: "overall", share: 0.2, maxShare: 0.2 });
  });

  it("critical requests always escalate, and use up the allowance of the others", () => {
    const guard = new CostGuard(0.2, 60_000, false);
    expect(flood(guard, 10, undefined, 0, true)).toBe(10);
    expect(flood(guard, 30)).toBe(0); // 10 of 40 already escalated: 25% > 20%
  });

  it("the allowance comes back once the window has slid past the escalations", () => {
    const guard = new CostGuard(0.2, 60_000, false);
    expect(flood(guard, 100, undefined, 0)).toBe(20);
    expect(flood(guard, 100, undefined, 30_000)).toBe(20); // 40 of 200 over the window
    expect(flood(guard, 10, undefined, 30_000)).toBe(2);
    expect(flood(guard, 100, undefined, 120_000)).toBe(20);
  });

  it("per tenant: one tenant's failures cannot use up everyone's allowance", () => {
    const shared = new CostGuard(0.2, 60_000, false);
    const perTenant = new CostGuard(0.2, 60_000, true);
    for (const guard of [shared, perTenant]) {
      for (let i = 0; i < 10; i++) guard.countRequest("b", 0, id()); // b's traffic answers without escalating
    }
    expect(flood(shared, 10, "a")).toBe(4);
    expect(flood(perTenant, 10, "a")).toBe(2);
    expect(perTenant.admit("a", 0, false, id())).toMatchObject({ scope: "tenant", share: 0.2 });
    // b's own allowance is untouched.
    const b = id();
    perTenant.countRequest("b", 0, b);
    expect(perTenant.admit("b", 0, false, b)).toBeUndefined();
  });

  it("remembers a request however many others pass between its steps (no eviction while it runs)", () => {
    const guard = new CostGuard(0.5, 60_000, false);
    const long = id();
    guard.countRequest(undefined, 0, long);
    for (let i = 0; i < 11_999; i++) guard.countRequest(undefined, 0, id());
    guard.countRequest(undefined, 0, long); // its next step: not a new request
    // 12,000 requests in the window, so 6,000 escalations (12,001 would let 6,001 through).
    let admitted = 0;
    while (guard.admit(undefined, 0, false, id()) === undefined) admitted++;
    expect(admitted).toBe(6_000);
  });

  it("a request that passes more than once (each step of a cascade) counts once, and escalates once", () => {
    const guard = new CostGuard(0.5, 60_000, false);
    const request = id();
    for (let step = 0; step < 3; step++) guard.countRequest(undefined, 0, request);
    expect(guard.admit(undefined, 0, false, request)).toBeUndefined(); // 0 of 1 escalated
    expect(guard.admit(undefined, 0, false, request)).toBeUndefined(); // already let through: not counted again
    const other = id();
    guard.countRequest(undefined, 0, other);
    // 1 escalation of 2 requests: the next one would exceed 50%. Counted per step, it would read 2 of 4.
    expect(guard.admit(undefined, 0, false, other)).toEqual({ scope: "overall", share: 0.5, maxShare: 0.5 });
  });
});
