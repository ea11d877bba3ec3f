import { describe, expect, it } from "vitest";
import { StreamAssembler } from "./assemble.js";
import { type Completion, emptyUsage, type OutputPart } from "./completion.js";
import { replayEvents } from "./reply.js";

const content: OutputPart[] = [
  { type: "reasoning", text: "", redacted: "ENCRYPTED" },
  { type: "reasoning", text: "step one", signature: "SIG-A" },
  { type: "reasoning", text: "step two", signature: "SIG-B" },
  { type: "text", text: "42" },
];

function assemble(events: Iterable<Parameters<StreamAssembler["add"]>[0]>): OutputPart[] {
  const assembled = new StreamAssembler();
  for (const event of events) assembled.add(event);
  return assembled.content;
}

describe("StreamAssembler: reasoning blocks", () => {
  it("keeps a redacted block and each signed thinking block apart, as a replayed answer had them", async () => {
    const completion = {
      id: "c",
      provider: "anthropic",
      model: "m",
      content,
      finishReason: "stop",
      usage: emptyUsage(),
    };
    const events = [];
    for await (const event of replayEvents(completion as unknown as Completion)) events.push(event);
    expect(assemble(events)).toEqual(content);
  });

  it("as a live stream sends them: a block's text, then its signature closes it", () => {
    expect(
      assemble([
        { type: "reasoning-delta", text: "", redacted: "ENCRYPTED" },
        { type: "reasoning-delta", text: "step " },
        { type: "reasoning-delta", text: "one" },
        { type: "reasoning-delta", text: "", signature: "SIG-A" },
        { type: "reasoning-delta", text: "step two" },
        { type: "reasoning-delta", text: "", signature: "SIG-B" },
        { type: "text-delta", text: "42" },
      ]),
    ).toEqual(content);
  });

  it("still joins the deltas of one unsigned block (OpenAI-style reasoning)", () => {
    expect(
      assemble([
        { type: "reasoning-delta", text: "a " },
        { type: "reasoning-delta", text: "b" },
      ]),
    ).toEqual([{ type: "reasoning", text: "a b" }]);
  });
});
