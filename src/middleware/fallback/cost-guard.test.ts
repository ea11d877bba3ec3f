import { describe, expect, it } from "vitest";
import { CostGuard } from "./cost-guard.js";

/** Counts `n` requests that all want to escalate; returns how many were let through. */
function flood(guard: CostGuard, n: number, tenant?: string, now = 0, critical = false): number {
  let admitted = 0;
  for (let i = 0; i < n; i++) {
    guard.countRequest(tenant, now);
    if (guard.admit(tenant, now, critical) === undefined) admitted++;
  }
  return admitted;
}

describe("CostGuard", () => {
  it("lets at most maxShare of the requests in the window escalate", () => {
    expect(flood(new CostGuard(0.2, 60_000, false), 100)).toBe(20);
    expect(flood(new CostGuard(0.2, 60_000, false), 101)).toBe(21);
    expect(flood(new CostGuard(0.05, 60_000, false), 1_000)).toBe(50);
  });

  it("a request that did not need to escalate still counts in the denominator", () => {
    const guard = new CostGuard(0.2, 60_000, false);
    for (let i = 0; i < 50; i++) guard.countRequest(undefined, 0);
    expect(flood(guard, 50)).toBe(20);
  });

  it("maxShare 0 never lets a request escalate; 1 always does", () => {
    expect(flood(new CostGuard(0, 60_000, false), 10)).toBe(0);
    expect(flood(new CostGuard(1, 60_000, false), 10)).toBe(10);
  });

  it("says which allowance is used up, with the share", () => {
    const guard = new CostGuard(0.2, 60_000, false);
    expect(flood(guard, 4)).toBe(1);
    guard.countRequest(undefined, 0);
    const refusal = guard.admit(undefined, 0, false);
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
      for (let i = 0; i < 10; i++) guard.countRequest("b", 0); // b's traffic answers without escalating
    }
    expect(flood(shared, 10, "a")).toBe(4);
    expect(flood(perTenant, 10, "a")).toBe(2);
    expect(perTenant.admit("a", 0, false)).toMatchObject({ scope: "tenant", share: 0.2 });
    // b's own allowance is untouched.
    perTenant.countRequest("b", 0);
    expect(perTenant.admit("b", 0, false)).toBeUndefined();
  });
});
