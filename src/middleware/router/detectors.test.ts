import { describe, expect, it } from "vitest";
import { DETECT_CHARS, looksLikeCode, looksLikeMath, looksMultiStep } from "./detectors.js";

describe("detectors: what they see", () => {
  it.each([
    ["a fenced block", "Fix this:\n```\nx = 1\n```", true],
    ["a Python function with a return", "def area(r):\n    return 3.14 * r * r", true],
    ["JavaScript with semicolons", "const total = items.length;\nconsole.log(total);", true],
    [
      "a Java stack trace",
      'Exception in thread "main" java.lang.NullPointerException\n  at com.acme.App.main(App.java:14)',
      true,
    ],
    ["SQL", "SELECT name, email FROM users WHERE id = 4", true],
    ["prose that mentions a function", "What function does the liver serve in the body?", false],
    ["prose with one semicolon at a line end", "I came; I saw;\nthen I left.", false],
    ["a recipe", "Mix the flour and eggs, then bake for 20 minutes.", false],
  ])("code: %s → %s", (_label, text, expected) => {
    expect(looksLikeCode(text)).toBe(expected);
  });

  it.each([
    ["LaTeX", "Compute \\int_0^1 x^2 dx", true],
    ["an equation", "If 3x + 5 = 20, what is x?", true],
    ["arithmetic", "What is 17 * 23?", true],
    ["a worded problem", "Janet has 16 eggs and eats 3. How many are left?", true],
    ["a probability question", "Two dice are rolled: what is the probability the sum is 7 or 11?", true],
    ["a date range", "The war lasted from 1939-1945.", false],
    ["a question without numbers", "How many moons does Mars have?", false],
    ["plain prose", "Write a haiku about autumn leaves.", false],
  ])("math: %s → %s", (_label, text, expected) => {
    expect(looksLikeMath(text)).toBe(expected);
  });

  it.each([
    ["a numbered list", "1. Download the data\n2. Clean it\n3. Plot it", true],
    ["bullets", "Please:\n- read the brief\n- draft a reply\n- send it to Ana", true],
    ["step by step", "Explain step by step how TLS works.", true],
    ["sequencing words", "First outline the plan, then write it, and finally review it.", true],
    ["several questions", "Who wrote it? When? And why does it matter?", true],
    ["one question", "What is the capital of France?", false],
    ["one numbered item", "1. Do the thing", false],
  ])("multi-step: %s → %s", (_label, text, expected) => {
    expect(looksMultiStep(text)).toBe(expected);
  });
});

/** Inputs built to make a backtracking regular expression go quadratic or worse. */
function adversarial(n: number): string[] {
  const rep = (s: string) => s.repeat(Math.ceil(n / s.length)).slice(0, n);
  let seed = 7;
  const random = (alphabet: string) =>
    Array.from({ length: n }, () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return alphabet[seed % alphabet.length];
    }).join("");
  return [
    rep("a"),
    rep(" "),
    rep("\t"),
    rep("\n"),
    rep("1"),
    rep("1 "),
    rep("1+"),
    rep("1 = "),
    rep("x="),
    rep("x^"),
    rep("def f"),
    rep("def "),
    rep("def f(a)"),
    `def f(${rep("a")}`,
    rep("Traceback "),
    rep("#include"),
    rep("class A"),
    rep("import "),
    `from ${rep("a.")}`,
    rep("const a"),
    rep(";"),
    `;${rep(" ")}x`,
    `at a(${rep("b")}`,
    `at ${rep("a.")}`,
    `SELECT ${rep("a, ")}`,
    `SELECT${rep(" ")}`,
    rep("\\"),
    rep("\\begin{"),
    rep("1."),
    rep("1. "),
    `\n${rep(" ")}`,
    rep("step "),
    rep("- "),
    rep("?"),
    rep("first "),
    rep("how many "),
    rep("1,1"),
    rep("1.1."),
    rep("```"),
    rep("<"),
    rep("</a"),
    random("ab1 =+;{}()\n\t.:-?^*x"),
    random("\\$^_{}()[]|.*+?1a \n"),
  ];
}

describe("detectors: linear time on adversarial input (FAILURES.md S5)", () => {
  const detectors = { looksLikeCode, looksLikeMath, looksMultiStep };

  it("take well under 100 ms on each adversarial input of DETECT_CHARS characters", () => {
    const slow: string[] = [];
    for (const input of adversarial(DETECT_CHARS)) {
      for (const [name, detect] of Object.entries(detectors)) {
        const t0 = performance.now();
        detect(input);
        const ms = performance.now() - t0;
        // A quadratic expression needs seconds here (DETECT_CHARS² = 4e8 steps).
        if (ms > 100) slow.push(`${name} on ${JSON.stringify(input.slice(0, 12))}...: ${ms.toFixed(0)} ms`);
      }
    }
    expect(slow).toEqual([]);
  });

  it("read no more than DETECT_CHARS characters of a 1 MB prompt", () => {
    const huge = `${"a ".repeat(500_000)}\`\`\``; // the fence is past the cap
    const t0 = performance.now();
    expect(looksLikeCode(huge)).toBe(false);
    expect(looksLikeMath(huge)).toBe(false);
    expect(looksMultiStep(huge)).toBe(false);
    expect(performance.now() - t0).toBeLessThan(200);
  });

  it("grow linearly: twice the input takes about twice the time, not four times", () => {
    const time = (n: number) => {
      const inputs = adversarial(n);
      const t0 = performance.now();
      for (let r = 0; r < 3; r++)
        for (const input of inputs) for (const d of Object.values(detectors)) d(input);
      return performance.now() - t0;
    };
    time(2_000); // warm up
    const small = time(DETECT_CHARS / 4);
    const large = time(DETECT_CHARS);
    // 4x the input: ~4x the time when linear, ~16x when quadratic. Generous for a loaded machine.
    expect(large / Math.max(small, 0.5)).toBeLessThan(10);
  });
});
