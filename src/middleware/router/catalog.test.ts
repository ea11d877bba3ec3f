import { describe, expect, it } from "vitest";
import { BUILT_IN_CATALOG, capabilitiesOf } from "./catalog.js";

describe("catalog", () => {
  it.each([
    ["openai:gpt-4o-mini-2024-07-18", "gpt-4o"],
    ["openai:gpt-4o", "gpt-4o"],
    ["openai:gpt-4.1-nano", "gpt-4.1"],
    ["openai:gpt-4-turbo-2024-04-09", "gpt-4-turbo"],
    ["openai:gpt-4-0613", "gpt-4"],
    ["openai:o3-mini", "o3-mini"],
    // Longer names that are other models, not a snapshot of the shorter one.
    ["openai:gpt-5-chat-latest", "gpt-5-chat"],
    ["openai:o1-preview-2024-09-12", "o1-preview"],
    ["openai:gpt-4-turbo-preview", "gpt-4-turbo-preview"],
    ["openai:o3", "o3"],
    ["azure:gpt-4o", "gpt-4o"],
    ["anthropic:claude-opus-4-1-20250805", "claude-opus-4-1"],
    ["anthropic:claude-opus-4-20250514", "claude-opus-4"],
    ["anthropic:claude-sonnet-4-5-20250929", "claude-sonnet-4-5"],
    ["anthropic:claude-sonnet-4-6", "claude-sonnet-4-6"],
    ["anthropic:claude-opus-4-6", "claude-opus-4-6"],
    ["anthropic:claude-3-5-haiku-latest", "claude-3-5-haiku"],
    ["vertex:claude-3-5-sonnet@20240620", "claude-3-5-sonnet"],
  ])("%s is described by the built-in %s", (ref, entry) => {
    expect(capabilitiesOf(ref)).toEqual(BUILT_IN_CATALOG[entry]);
  });

  it("knows nothing of a model it does not list (no guess from a shorter name)", () => {
    expect(capabilitiesOf("openai:gpt-4.5-preview")).toBeUndefined();
    expect(capabilitiesOf("local:llama-3")).toBeUndefined();
    // Another minor version is another model: claude-sonnet-4 lacks structured outputs, claude-sonnet-4-7 may not.
    expect(capabilitiesOf("anthropic:claude-sonnet-4-7")).toBeUndefined();
    expect(capabilitiesOf("anthropic:claude-opus-4-9-20270101")).toBeUndefined();
  });

  it("lays host entries over the built-in ones, the exact ref last", () => {
    const host = { "gpt-4o": { vision: false }, "azure:gpt-4o": { contextWindow: 32_000 } };
    expect(capabilitiesOf("openai:gpt-4o", host)).toMatchObject({ vision: false, contextWindow: 128_000 });
    expect(capabilitiesOf("azure:gpt-4o", host)).toMatchObject({ vision: false, contextWindow: 32_000 });
  });

  it("needs every field for a model the built-in catalog lacks", () => {
    expect(capabilitiesOf("local:llama-3", { "local:llama-3": { contextWindow: 8192 } })).toBeUndefined();
    const full = { contextWindow: 8192, maxOutputTokens: 2048, tools: false, vision: false, json: true };
    expect(capabilitiesOf("local:llama-3", { "local:llama-3": full })).toEqual(full);
  });
});
