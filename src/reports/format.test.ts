import { describe, expect, it } from "vitest";
import { formatReport, usd } from "./format.js";
import { costRecord, priced, unpriced, usage } from "./records.fixture.js";
import { report } from "./report.js";

const records = [
  costRecord({ id: "a", cost: priced(1.5), usage: usage(1200, 300) }),
  costRecord({ id: "b", model: "openai:my-finetune", cost: unpriced(), tenant: "globex", task: "summarize" }),
  costRecord({
    id: "c",
    cache: { status: "hit", kind: "exact" },
    savingsUsd: 0.002,
    cost: priced(0),
    usage: usage(0, 0),
  }),
  costRecord({ id: "d", tenant: "initech", cost: priced(0.25) }),
];

describe("formatReport", () => {
  it("renders totals, aligned breakdowns and the cache line", () => {
    expect(formatReport(report(records))).toMatchInlineSnapshot(`
      "Cost report  2024-06-01T12:00:00.000Z → 2024-06-01T12:00:00.000Z  (days in UTC)
      Requests 4 (ok 4, errors 0)  cost $1.75 + 1 unpriced request  saved $0.002  retries $0.00
      Per resolved request $0.583333  tokens/request in 350 out 100  escalation 0.0%  fallback 0.0%  retry 0.0%

      By model            requests      cost  unpriced  in tokens  out tokens   saved    mix
      openai:gpt-4o-mini         3     $1.75         0      1,300         350  $0.002  75.0%
      openai:my-finetune         1  unpriced         1        100          50   $0.00  25.0%

      By task    requests      cost  unpriced  in tokens  out tokens   saved
      chat              3     $1.75         0      1,300         350  $0.002
      summarize         1  unpriced         1        100          50   $0.00

      By tenant  requests      cost  unpriced  in tokens  out tokens   saved
      acme              2     $1.50         0      1,200         300  $0.002
      initech           1     $0.25         0        100          50   $0.00
      globex            1  unpriced         1        100          50   $0.00

      Cache  hits 1  misses 0  bypasses 0  hit rate 100.0%  saved $0.002  saved tokens 0 (+ 1 hit of unknown usage)"
    `);
  });

  it("shows a cost made only of unpriced records as unpriced, never $0", () => {
    const text = formatReport(report([costRecord({ model: "openai:my-finetune", cost: unpriced() })]));
    expect(text).toContain("cost unpriced (1 request)");
    expect(text).toMatch(/^openai:my-finetune +1 +unpriced +1 /m);
    expect(text).not.toMatch(/my-finetune +1 +\$0/);
  });

  it("folds rows past maxRows into one line that keeps their requests and cost", () => {
    const text = formatReport(report(records), { maxRows: 1 });
    expect(text).toMatch(/^\(2 more\) +2 +\$0\.25$/m); // tenants globex (unpriced) and initech ($0.25)
  });

  it("shows only the sections asked for, in the report's order", () => {
    const full = formatReport(report(records));
    const text = formatReport(report(records), { sections: ["cache", "tenant"] });
    expect(text).not.toMatch(/^By (model|task)/m);
    expect(text.indexOf("By tenant")).toBeLessThan(text.indexOf("Cache  hits"));
    expect(text.split("\n").slice(0, 3)).toEqual(full.split("\n").slice(0, 3)); // the totals always
    expect(formatReport(report(records), { sections: [] })).toBe(full.split("\n").slice(0, 3).join("\n"));
  });

  it("names the sections there are when given one it does not know", () => {
    // @ts-expect-error: not a section
    expect(() => formatReport(report(records), { sections: ["models"] })).toThrow(
      /unknown section "models" \(one of model, task, tenant, cache\)/,
    );
  });

  it("prints an empty report without NaN", () => {
    expect(formatReport(report([]))).not.toMatch(/NaN|Infinity/);
  });
});

describe("usd", () => {
  it("shows cents from $1, trims zeros below, and never shows a tiny cost as $0", () => {
    expect([0, 0.75, 0.000123, 1.5, 12345.678, 0.0000001, -0.5].map(usd)).toEqual([
      "$0.00",
      "$0.75",
      "$0.000123",
      "$1.50",
      "$12,345.68",
      "$1.0e-7",
      "-$0.50",
    ]);
  });
});
