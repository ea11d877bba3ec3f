import { describe, expect, it } from "vitest";
import { emptyUsage } from "../../core/completion.js";
import type { ItemOutcome } from "./batch-client.js";
import type { InFlightBatch } from "./job-store.js";
import { outcomesById } from "./settle.js";

const batch: InFlightBatch = {
  provider: "openai",
  group: "openai:gpt-4o-mini",
  ids: ["a", "b", "c"],
  submittedAt: 0,
};
const ok = (customId: string, text: string): ItemOutcome => ({
  customId,
  ok: true,
  response: {
    id: `resp-${text}`,
    model: "gpt-4o-mini",
    content: [{ type: "text", text }],
    finishReason: "stop",
    usage: emptyUsage(),
    raw: undefined,
  },
});
const textOf = (o: ItemOutcome | undefined) =>
  o?.ok ? (o.response.content[0] as { text: string }).text : o?.reason;

describe("outcomesById: results are matched by custom id, never by position", () => {
  it("takes lines in any order, keeps the first line of a duplicated id, and ignores strangers", () => {
    const byId = outcomesById(batch, {
      note: "batch completed",
      outcomes: [
        ok("c", "for c"),
        ok("zzz", "stranger"),
        ok("a", "for a"),
        ok("c", "second c"),
        ok("b", "for b"),
      ],
    });
    expect([...byId.keys()].sort()).toEqual(["a", "b", "c"]);
    expect(["a", "b", "c"].map((id) => textOf(byId.get(id)))).toEqual(["for a", "for b", "for c"]);
  });

  it("an item with no line is a missing failure worth another try, naming the batch's end", () => {
    const byId = outcomesById(batch, {
      note: "batch failed: token_limit_exceeded",
      outcomes: [ok("b", "for b")],
    });
    for (const id of ["a", "c"]) {
      expect(byId.get(id)).toMatchObject({ ok: false, reason: "missing", retryable: true });
      expect(byId.get(id)).toHaveProperty("message", expect.stringContaining("token_limit_exceeded"));
    }
  });
});
