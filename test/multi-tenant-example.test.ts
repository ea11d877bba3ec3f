// Runs examples/multi-tenant.ts as a user does and checks what it shows: a free tenant degraded
// past its soft limit and refused past its hard limit, a paid tenant served throughout, and a
// deferred request priced at the batch rate.
import { beforeAll, describe, expect, it } from "vitest";
import { runExample } from "./run-example.js";

describe("examples/multi-tenant.ts", () => {
  let out = "";
  let status: number | null = null;
  const section = (heading: string) => out.slice(out.indexOf(heading)).split("\n\n")[0] ?? "";

  beforeAll(() => {
    ({ stdout: out, status } = runExample("multi-tenant.ts"));
  }, 70_000);

  it("exits 0", () => {
    expect(status).toBe(0);
  });

  it("degrades the free tenant past its soft limit, then refuses it before any provider call", () => {
    const free = section("initech (free plan)");
    expect(free).toMatch(/1\. anthropic:claude-haiku-4-5 /);
    expect(free).toMatch(/openai:gpt-4o-mini \(degraded: over the soft limit\)/);
    expect(free).toMatch(/6\. refused before any provider call: budget: tenant:initech:day limit/);
  });

  it("serves the paid tenant on the model it asked for every time", () => {
    const paid = section("globex (paid plan)");
    expect(paid.match(/anthropic:claude-haiku-4-5 {2}\$/g)).toHaveLength(6);
    expect(paid).not.toContain("degraded");
  });

  it("prices the deferred request at the batch rate and reports spend by tenant", () => {
    expect(section("globex, a deferrable report")).toMatch(/openai\/gpt-4o-mini, batch\)/);
    expect(out).toMatch(/^globex +7 /m);
    expect(out).toMatch(/^initech +6 /m);
  });
});
