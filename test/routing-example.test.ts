// Runs examples/routing.ts as a user does and checks what it shows: the router sends code and
// math to the strong tier and simple tasks to the cheap one (rules, then kNN); the cascade
// escalates an answer that is not JSON and accepts a valid one at the cheap model; during an
// OpenAI outage requests are retried and fall back to Anthropic until the breaker opens and the
// cost guard refuses non-critical fallbacks; and the ledger records every call with its purpose.
import { beforeAll, describe, expect, it } from "vitest";
import { runExample } from "./run-example.js";

describe("examples/routing.ts", () => {
  let out = "";
  let status: number | null = null;
  const lines = () => out.split("\n");
  /** Every request block headed by `  <label>`: the label line and its indented lines. */
  const blocks = (label: string) =>
    lines().flatMap((line, i, all) => {
      if (line !== `  ${label}`) return [];
      const end = all.findIndex((l, j) => j > i && !l.startsWith("     "));
      return [all.slice(i, end < 0 ? undefined : end).join("\n")];
    });
  const block = (label: string) => {
    const found = blocks(label);
    expect(found, `one block for "${label}"`).toHaveLength(1);
    return found[0]!;
  };
  /** The ledger lines of the report for `who` (task, then tenant). */
  const ledger = (who: string) => lines().filter((l) => new RegExp(`^  ${who} +(ok|error) `).test(l));

  beforeAll(() => {
    ({ stdout: out, status } = runExample("routing.ts"));
  }, 70_000);

  it("exits 0 (its stand-in servers closed)", () => {
    expect(status).toBe(0);
  });

  it("routes code and math to the strong tier, simple tasks to the cheap one, the rest by kNN", () => {
    const debug = block("debug");
    expect(debug).toContain("routed to strong (anthropic:claude-opus-4-5; rule code: code)");
    expect(debug).toContain("retry: anthropic:claude-opus-4-5 call 2 after OverloadedError");
    expect(debug).toContain("answered by anthropic:claude-opus-4-5");
    expect(block("homework")).toContain("routed to strong (anthropic:claude-opus-4-5; rule math: math)");
    const faq = block("faq");
    expect(faq).toContain("routed to cheap (openai:gpt-4o-mini; rule simple task: task=faq)");
    expect(faq).toContain("answered by openai:gpt-4o-mini");
    expect(block("summary")).toMatch(/routed to cheap \(openai:gpt-4o-mini; knn: cheap good enough/);
    expect(block("contract")).toMatch(
      /routed to strong \(anthropic:claude-opus-4-5; knn: no cheaper tier reaches/,
    );
  });

  it("escalates the cheap model's invalid JSON and accepts its valid JSON", () => {
    const [louvre, colosseum] = blocks("extract");
    expect(louvre).toContain("routed to cheap (openai:gpt-4o-mini; rule simple task: task=extract)");
    expect(louvre).toMatch(
      /escalation: openai:gpt-4o-mini -> anthropic:claude-opus-4-5 \(json-matches: the answer is not JSON/,
    );
    expect(louvre).toContain('answered by anthropic:claude-opus-4-5: {"city": "Paris", "country": "France"}');
    expect(colosseum).not.toContain("escalation");
    expect(colosseum).toContain('answered by openai:gpt-4o-mini: {"city": "Rome", "country": "Italy"}');
    // The ledger lists records by start time; both orders are accepted.
    const records = ledger("extract");
    expect(records).toHaveLength(2);
    expect(records).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/ok +claude-opus-4-5 .*primary gpt-4o-mini ok, escalation claude-opus-4-5 ok$/),
        expect.stringMatching(/ok +gpt-4o-mini .*primary gpt-4o-mini ok$/),
      ]),
    );
  });

  it("retries the failing cheap model, then falls back to the other provider", () => {
    for (const n of [1, 2, 3]) {
      const b = block(`faq tenant-${n}`);
      expect(b).toContain("retry: openai:gpt-4o-mini call 2 after ProviderError");
      expect(b).toContain("fallback: openai:gpt-4o-mini -> anthropic:claude-haiku-4-5 (RateLimitError)");
      expect(b).toContain("answered by anthropic:claude-haiku-4-5");
      expect(ledger(`faq tenant-${n}`)).toEqual([
        expect.stringMatching(
          /ok +claude-haiku-4-5 .*primary gpt-4o-mini 500, retry gpt-4o-mini 429, fallback claude-haiku-4-5 ok$/,
        ),
      ]);
    }
  });

  it("opens the breaker, after which the failing model is skipped without a call", () => {
    expect(block("faq tenant-4")).toMatch(/circuit open: openai:gpt-4o-mini \(\d+ calls in the window\)/);
    expect(out.match(/circuit open:/g)).toHaveLength(1);
    expect(block("faq tenant-5 critical")).toContain(
      "fallback: openai:gpt-4o-mini -> anthropic:claude-haiku-4-5 (CircuitOpenError)",
    );
    expect(ledger("faq tenant-5")).toEqual([
      expect.stringMatching(/ok +claude-haiku-4-5 .* {2}fallback claude-haiku-4-5 ok$/),
    ]);
    expect(out).toMatch(/circuits now: .*openai:gpt-4o-mini open/);
  });

  it("caps fallbacks to the dearer model: non-critical requests get a CostGuardError, critical ones pass", () => {
    for (const label of ["faq tenant-4", "faq tenant-6"]) {
      const b = block(label);
      expect(b).toContain("guard engaged: no fallback to anthropic:claude-haiku-4-5");
      expect(b).toContain("CostGuardError: the cost guard refused a fallback to anthropic:claude-haiku-4-5");
      expect(b).not.toContain("answered by");
    }
    expect(block("faq tenant-5 critical")).toContain("answered by anthropic:claude-haiku-4-5");
    expect(ledger("faq tenant-4")).toEqual([
      expect.stringMatching(
        /error +gpt-4o-mini +\$0\.000000 {2}primary gpt-4o-mini 500, retry gpt-4o-mini 429$/,
      ),
    ]);
    expect(ledger("faq tenant-6")).toEqual([expect.stringMatching(/error +- +\$0\.000000 {2}no call$/)]);
  });

  it("reports every request with its calls and cost, and the savings against the strong model", () => {
    expect(ledger("debug")).toEqual([
      expect.stringMatching(
        /ok +claude-opus-4-5 +\$0\.\d{6} {2}primary claude-opus-4-5 529, retry claude-opus-4-5 ok$/,
      ),
    ]);
    expect(out).not.toContain("unpriced");
    expect(out).toContain("13 requests (11 answered, 2 failed)");
    const saved = Number(
      /saved \$(\d+\.\d+) against sending every answer to anthropic:claude-opus-4-5/.exec(out)?.[1],
    );
    expect(saved).toBeGreaterThan(0);
    expect(out).toContain("escalation 8%, fallback 31%, retry 38%");
  });
});
