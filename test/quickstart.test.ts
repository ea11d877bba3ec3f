// Runs examples/quickstart.ts the way a user does (`npm run demo`, no API keys) and
// checks what it prints: the stand-in notice and the real output of each request.
import { beforeAll, describe, expect, it } from "vitest";
import { type ExampleRun, runExample } from "./run-example.js";

describe("examples/quickstart.ts without API keys", () => {
  let run: ExampleRun;
  /** The output of request n ("1." to "5."), up to the next request's heading. */
  const section = (n: number) => run.stdout.split(/^(?=\d\. )/m).find((s) => s.startsWith(`${n}. `)) ?? "";
  const usageLine = /^ {3}usage: input \d+ · cache read \d+ · cache write \d+ · output \d+ · reasoning \d+$/m;
  // Every model in the demo has a published price: each cost names its price source.
  const costLine = /^ {3}cost: \$\d+\.\d{6} \(@pydantic\/genai-prices@[\d.]+ \w+\/[\w.-]+\)$/m;

  beforeAll(() => {
    run = runExample("quickstart.ts");
  }, 70_000);

  it("exits 0 with nothing on stderr", () => {
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
  });

  it("says first that it uses a local stand-in and nothing leaves the machine", () => {
    expect(run.stdout.split("\n")[0]).toMatch(
      /^No API keys set: using a local stand-in for the OpenAI and Anthropic APIs at http:\/\/127\.0\.0\.1:\d+\/v1 and http:\/\/127\.0\.0\.1:\d+; nothing leaves this machine\.$/,
    );
  });

  it("prints the usage buckets and a priced cost with its source for every provider call", () => {
    expect(run.stdout.match(new RegExp(usageLine.source, "gm"))).toHaveLength(6);
    expect(run.stdout.match(new RegExp(costLine.source, "gm"))).toHaveLength(6);
    expect(run.stdout).not.toContain("not priced");
  });

  it("ends with a cost report over the ledger: six requests, by model, task and tenant", () => {
    const reportText = run.stdout.slice(run.stdout.indexOf("Cost report"));
    expect(reportText).toMatch(/^Requests 6 \(ok 6, errors 0\)/m);
    expect(reportText).toContain("claude-haiku-4-5");
    expect(reportText).toContain("gpt-4o-mini");
    expect(reportText).toContain("acme");
  });

  it("1. chat: the answer, one log line with the metadata, usage and cost", () => {
    const out = section(1);
    expect(out).toContain("1. llm.chat to anthropic:claude-haiku-4-5");
    expect(out).toMatch(/\[log\] anthropic:claude-haiku-4-5 · tenant=acme · task=faq · 1 attempt · \d+ ms/);
    expect(out).toContain("A cache serves repeated questions from storage, so you pay for each answer once.");
    expect(out).toMatch(usageLine);
    expect(out).toMatch(costLine);
  });

  it("2. stream: the deltas joined on one line, then the final usage", () => {
    const out = section(2);
    expect(out).toMatch(/\[log\] openai:gpt-4o-mini · 1 attempt · \d+ ms/);
    expect(out).toContain(
      "\n   Cache repeated prompts, send easy ones to a small model, and cap output tokens.\n",
    );
    expect(out).toMatch(/usage: input \d+ · cache read 0 · cache write 0 · output 14 · reasoning 0/);
    expect(out).toMatch(costLine);
  });

  it("3. tool call: the tool name and parsed arguments, then the final answer", () => {
    const out = section(3);
    expect(out).toContain("tool call: get_weather { city: 'Paris' }");
    expect(out).toMatch(/usage: input \d+ · cache read 0 · cache write 0 · output 54 · reasoning 0/);
    expect(out).toContain("It's 18 °C and partly cloudy in Paris right now.");
    expect(out.match(/\[log\] anthropic:claude-haiku-4-5 · 1 attempt/g)).toHaveLength(2);
    expect(out.match(new RegExp(usageLine.source, "gm"))).toHaveLength(2);
  });

  it("4. wrapOpenAI: the streamed text, the usage chunk, and the cost", () => {
    const out = section(4);
    expect(out).toContain("\n   Hello, and welcome! Every call you make now has its cost on record.\n");
    expect(out).toMatch(/usage chunk: prompt_tokens \d+ · completion_tokens 13/);
    expect(out).toMatch(/\[log\] openai:gpt-4o-mini · tenant=acme · 1 attempt/);
    expect(out).toMatch(usageLine);
    expect(out).toMatch(costLine);
  });

  it("5. wrapAnthropic: the Message text and stop reason, and the cost", () => {
    const out = section(5);
    expect(out).toContain("Tenants: an answer cached for one customer must never reach another.");
    expect(out).toContain("stop_reason: end_turn");
    expect(out).toMatch(/\[log\] anthropic:claude-haiku-4-5 · 1 attempt/);
    expect(out).toMatch(usageLine);
    expect(out).toMatch(costLine);
  });
});
