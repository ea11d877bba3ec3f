import { describe, expect, it } from "vitest";
import type { Message } from "../../core/request.js";
import { splitTurns, transcript } from "./turns.js";

const user = (text: string): Message => ({ role: "user", content: text });
const said = (text: string): Message => ({ role: "assistant", content: text });
const calls = (...ids: string[]): Message => ({
  role: "assistant",
  content: ids.map((id) => ({ type: "tool-call" as const, id, name: "f", arguments: "{}" })),
});
const results = (...ids: string[]): Message => ({
  role: "tool",
  content: ids.map((id) => ({ type: "tool-result" as const, toolCallId: id, content: `r-${id}` })),
});

describe("splitTurns", () => {
  it("starts a turn at each user message, keeping tool calls and results inside it", () => {
    const messages = [
      user("a"),
      calls("1", "2"),
      results("1", "2"),
      said("done"),
      user("b"),
      said("ok"),
      user("c"),
    ];
    expect(splitTurns(messages)).toEqual([
      [user("a"), calls("1", "2"), results("1", "2"), said("done")],
      [user("b"), said("ok")],
      [user("c")],
    ]);
  });

  it("makes a turn of what comes before the first user message, and gives the messages back concatenated", () => {
    const messages = [said("welcome"), user("a"), calls("1"), results("1")];
    const turns = splitTurns(messages);
    expect(turns).toEqual([[said("welcome")], [user("a"), calls("1"), results("1")]]);
    expect(turns.flat()).toEqual(messages);
    expect(splitTurns([])).toEqual([]);
  });
});

describe("transcript", () => {
  it("writes every part as a line, naming tool calls and their results, and cuts very long ones", () => {
    const text = transcript([
      [
        {
          role: "user",
          content: [
            { type: "text", text: "look" },
            { type: "image", url: "https://x/y.png" },
          ],
        },
        {
          role: "assistant",
          content: [
            { type: "reasoning", text: "secret thoughts" },
            { type: "tool-call", id: "c1", name: "search", arguments: '{"q":"x"}' },
          ],
        },
        {
          role: "tool",
          content: [{ type: "tool-result", toolCallId: "c1", content: "y".repeat(10_000), isError: true }],
        },
      ],
    ]);
    const lines = text.split("\n");
    expect(lines[0]).toBe("User: look [image]");
    expect(lines[1]).toBe('Assistant called tool search (call c1) with {"q":"x"}');
    expect(lines[2]).toMatch(/^Tool result for call c1 \(error\): y{2000} \[\.\.\.\] y{2000}$/);
    expect(text).not.toContain("secret thoughts");
  });

  it("keeps the most recent part of a very long history", () => {
    const turns = Array.from({ length: 100 }, (_, i) => [
      { role: "user" as const, content: `${i} ${"z".repeat(3_000)}` },
    ]);
    const text = transcript(turns);
    expect(text.length).toBeLessThanOrEqual(120_006);
    expect(text.startsWith("[...]\n")).toBe(true);
    expect(text).toContain("User: 99 ");
  });
});
