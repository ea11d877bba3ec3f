import { describe, expect, it } from "vitest";
import type { ChatRequest } from "../../core/request.js";
import { findDynamicContent, findDynamicPrefix } from "./dynamic-content.js";
import { prose, seeded } from "./prompts.fixture.js";

const MB = 1024 * 1024;

describe("findDynamicContent", () => {
  it.each([
    ["an ISO timestamp", "Now is 2026-01-05T09:30:12Z, be nice", "timestamp", 7],
    ["a date and time", "As of 2026-01-05 09:30 UTC", "timestamp", 6],
    ["a time to the second", "It is 9:30:12 here", "timestamp", 6],
    ["a UUID", "session 3F2504E0-4F89-11D3-9A0C-0305E82C3301 open", "uuid", 8],
    ["a request id label", "Request-ID: abc", "request-id", 0],
    ["a trace id assignment", "trace_id=abc", "request-id", 0],
    ["a provider request id", "see req_01HXYZab12 for details", "request-id", 4],
    ["an epoch timestamp", "ts 1767605412 ok", "digit-run", 3],
  ])("finds %s", (_label, text, kind, index) => {
    expect(findDynamicContent(text)).toEqual({ kind, index });
  });

  it("reports the earliest of several", () => {
    expect(findDynamicContent("id 123e4567-e89b-12d3-a456-426614174000 at 2026-01-05T09:30")).toEqual({
      kind: "uuid",
      index: 3,
    });
  });

  it.each([
    ["prose", prose(3000)],
    ["a date alone", "Policy of 2026-01-05, version three."],
    ["short numbers", "Call 555 0100 or dial 911; order 123456789."],
    ["a clock time to the minute", "Open 9:30 to 17:00."],
    ["a word that starts like an id", "The request identifier is optional; requests are queued."],
  ])("ignores %s", (_label, text) => {
    expect(findDynamicContent(text)).toBeUndefined();
  });

  it("finds a planted UUID at or before where it was planted, in random text", () => {
    const random = seeded(3);
    const alphabet = "0123456789abcdef-_:T reqid\n";
    for (let n = 0; n < 300; n++) {
      let text = "";
      const length = Math.floor(random() * 400);
      while (text.length < length) text += alphabet[Math.floor(random() * alphabet.length)];
      const at = Math.floor(random() * text.length);
      const planted = `${text.slice(0, at)} 123e4567-e89b-12d3-a456-426614174000 ${text.slice(at)}`;
      const found = findDynamicContent(planted);
      expect(found).toBeDefined();
      expect(found!.index).toBeLessThanOrEqual(at + 1);
    }
  });

  // No timing thresholds: a pattern that backtracked super-linearly would not finish these.
  it.each([
    ["near-miss timestamps", "2026-01-05T0 ".repeat(MB / 13), undefined],
    ["near-miss UUIDs", "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaa ".repeat(MB / 37), undefined],
    ["nine-digit runs", "123456789 ".repeat(MB / 10), undefined],
    ["id prefixes without ids", "req_abcdefg ".repeat(MB / 12), undefined],
    ["id labels without a separator", "request id request-id ".repeat(MB / 22), undefined],
    ["colons and digits", "1:2:3:4:5:6:7:8:9:".repeat(MB / 18), undefined],
    ["hex and dashes", "0a-1b-2c-3d-4e-5f-".repeat(MB / 18), undefined],
    ["one unbroken word", "a".repeat(MB), undefined],
    ["whitespace", " \t\n".repeat(MB / 3), undefined],
    ["one unbroken digit run", "7".repeat(MB), "digit-run"],
    ["near misses ending in a hit", `${"2026-01-05T0 ".repeat(MB / 13)}2026-01-05T09:30`, "timestamp"],
  ])("scans 1 MB of %s", (_label, text, kind) => {
    expect(findDynamicContent(text)?.kind).toBe(kind);
  });

  it("scans 1 MB of random text from an adversarial alphabet", () => {
    const random = seeded(99);
    const alphabet = "0123456789abcdefABCDEF-_:T \t=reqidspantrace";
    const chars: string[] = [];
    for (let i = 0; i < MB; i++) chars.push(alphabet[Math.floor(random() * alphabet.length)]!);
    expect(() => findDynamicContent(chars.join(""))).not.toThrow();
  });
});

describe("findDynamicPrefix", () => {
  const request = (system: string, user = "A question."): ChatRequest => ({
    model: "openai:gpt-4o-mini",
    system,
    messages: [{ role: "user", content: user }],
  });

  it("finds dynamic content at the top of a long prompt, with what it keeps from the cache", () => {
    const found = findDynamicPrefix(request(`Now: 2026-01-05T09:30:12Z\n${prose(2000)}`), 1024);
    expect(found).toMatchObject({ kind: "timestamp", where: "system", index: 5 });
    expect(found!.tokensAfter).toBeGreaterThan(2000);
  });

  it("looks into the first 1024 tokens of the messages when the system prompt is short", () => {
    const found = findDynamicPrefix(request("Be brief.", `Trace id: 42\n${prose(2000)}`), 1024);
    expect(found).toMatchObject({ kind: "request-id", where: "messages" });
    expect(
      findDynamicPrefix(request("Be brief.", `${prose(1100)} trace id: 42 ${prose(2000)}`), 1024),
    ).toBeUndefined();
  });

  it("ignores dynamic content with less than the minimum after it", () => {
    expect(findDynamicPrefix(request(`${prose(3000)}\nNow: 2026-01-05T09:30:12Z`), 1024)).toBeUndefined();
    expect(findDynamicPrefix(request("Now: 2026-01-05T09:30:12Z"), 1024)).toBeUndefined();
  });

  it("finishes on a 1 MB system prompt of near misses", () => {
    const system = "2026-01-05T0 ".repeat(MB / 13);
    expect(findDynamicPrefix(request(system), 1024)).toBeUndefined();
  });
});
