import { describe, expect, it } from "vitest";
import type { ChatRequest } from "../../core/request.js";
import { canonicalJson, requestKey } from "./request-key.js";

const base: ChatRequest = {
  model: "openai:gpt-4o-mini",
  messages: [{ role: "user", content: "Summarize the attached report." }],
};
const key = (r: ChatRequest, model = "openai:gpt-4o-mini") => requestKey(r, model);

describe("requestKey", () => {
  // FAILURES.md C4: one answer-changing field at a time, each must change the key.
  const variants: [string, Partial<ChatRequest>][] = [
    ["system", { system: "You are terse." }],
    ["system as parts", { system: [{ type: "text", text: "You are terse." }] }],
    ["message text", { messages: [{ role: "user", content: "Summarize the attached report!" }] }],
    [
      "message order",
      {
        messages: [
          { role: "user", content: "a" },
          { role: "assistant", content: "b" },
          { role: "user", content: "c" },
        ],
      },
    ],
    ["an image part", { messages: [{ role: "user", content: [{ type: "image", url: "https://x/a.png" }] }] }],
    ["tools", { tools: [{ name: "search", parameters: { type: "object" } }] }],
    ["tool description", { tools: [{ name: "search", description: "web", parameters: { type: "object" } }] }],
    ["tool choice", { toolChoice: "required" }],
    ["tool choice by name", { toolChoice: { type: "tool", name: "search" } }],
    ["response format json", { responseFormat: { type: "json" } }],
    [
      "response format schema",
      { responseFormat: { type: "json-schema", name: "r", schema: { type: "object" } } },
    ],
    ["temperature", { temperature: 0.3 }],
    ["temperature 0 (vs omitted)", { temperature: 0 }],
    ["top_p", { topP: 0.9 }],
    ["seed", { seed: 42 }],
    ["max output tokens", { maxOutputTokens: 100 }],
    ["stop", { stop: ["\n\n"] }],
    ["reasoning effort", { reasoning: { effort: "high" } }],
    ["reasoning budget", { reasoning: { budgetTokens: 2048 } }],
    ["providerOptions frequency_penalty", { providerOptions: { openai: { frequency_penalty: 0.5 } } }],
    ["providerOptions base URL", { providerOptions: { openai: { base_url: "https://eu.example/v1" } } }],
    ["cache_control marker", { system: [{ type: "text", text: "x", cacheControl: { ttl: "1h" } }] }],
  ];

  it.each(variants)("changes when %s changes", (_name, change) => {
    expect(key({ ...base, ...change })).not.toBe(key(base));
  });

  it("all the variants have distinct keys", () => {
    const keys = new Set(variants.map(([, change]) => key({ ...base, ...change })));
    expect(keys.size).toBe(variants.length);
  });

  it("changes with the resolved model", () => {
    expect(key(base, "openai:gpt-4o")).not.toBe(key(base, "openai:gpt-4o-mini"));
    expect(key(base, "azure:gpt-4o-mini")).not.toBe(key(base, "openai:gpt-4o-mini"));
  });

  it("ignores metadata and the stream flag, which never change the answer", () => {
    const k = key(base);
    expect(key({ ...base, stream: true })).toBe(k);
    expect(key({ ...base, metadata: { tenant: "acme", tags: ["a"], task: "faq", user: "u1" } })).toBe(k);
  });

  it("uses the resolved model, not the ref the caller wrote", () => {
    expect(key({ ...base, model: "fast" })).toBe(key(base));
  });

  it("does not depend on the order the fields were written in", () => {
    const reordered = { temperature: 0.2, messages: base.messages, model: base.model } as ChatRequest;
    expect(key(reordered)).toBe(key({ ...base, temperature: 0.2 }));
    const a = { ...base, responseFormat: { type: "json-schema", name: "r", schema: { b: 1, a: 2 } } };
    const b = { ...base, responseFormat: { schema: { a: 2, b: 1 }, name: "r", type: "json-schema" } };
    expect(key(a as ChatRequest)).toBe(key(b as ChatRequest));
  });

  it("treats an undefined member as absent", () => {
    expect(key({ ...base, temperature: undefined })).toBe(key(base));
  });

  it("is a SHA-256 in hex", () => {
    expect(key(base)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("canonicalJson", () => {
  it("sorts keys at every depth and keeps array order", () => {
    expect(canonicalJson({ b: [3, { d: 1, c: 2 }], a: "x" })).toBe('{"a":"x","b":[3,{"c":2,"d":1}]}');
  });

  it("keeps strings that look like JSON apart from structure", () => {
    expect(canonicalJson({ a: '","b":"' })).not.toBe(canonicalJson({ a: "", b: "" }));
  });
});
