import { describe, expect, it } from "vitest";
import { InvalidRequestError } from "./errors.js";
import { chatRequestSchema } from "./request.js";
import { validateRequest } from "./validate-request.js";

/** Valid requests of the shapes the fast check handles, and a few it hands to zod. */
const VALID: Record<string, unknown>[] = [
  { model: "openai:gpt-4o-mini", messages: [{ role: "user", content: "hi" }] },
  {
    model: "anthropic:claude-haiku-4-5",
    system: "be brief",
    messages: [
      { role: "user", content: [{ type: "text", text: "weather?" }] },
      { role: "assistant", content: [{ type: "tool-call", id: "c1", name: "w", arguments: "{}" }] },
      { role: "tool", content: [{ type: "tool-result", toolCallId: "c1", content: "sunny" }] },
      { role: "assistant", content: "It is sunny." },
    ],
    maxOutputTokens: 100,
    temperature: 0.7,
    topP: 1,
    seed: -3,
    metadata: { tenant: "acme", user: "u", task: "faq", tags: ["a"] },
  },
  {
    model: "auto",
    messages: [{ role: "user", content: [{ type: "image", url: "https://x/y.png", detail: "low" }] }],
    tools: [{ name: "w", parameters: { type: "object" } }],
    toolChoice: "auto",
    responseFormat: { type: "json" },
    stop: ["END"],
    reasoning: { effort: "low" },
    metadata: { priority: "deferrable", cache: false },
    providerOptions: { openai: { logprobs: true } },
  },
];

/** Every way to break a request one field at a time, at the top and inside messages. */
function mutations(request: Record<string, unknown>): Record<string, unknown>[] {
  const bad: unknown[] = [
    undefined,
    null,
    "",
    "x",
    0,
    -1,
    1.5,
    3,
    Number.POSITIVE_INFINITY,
    Number.NaN,
    true,
    [],
    {},
    [{}],
    { extra: 1 },
  ];
  const out: Record<string, unknown>[] = [];
  const paths = collectPaths(request);
  for (const path of paths) {
    for (const value of bad) out.push(setPath(request, path, value));
    out.push(setPath(request, path, Symbol.for("delete")));
  }
  const objects = [[], ...paths.filter((p) => isObjectAt(request, p))];
  for (const path of objects) {
    out.push(setPath(request, [...path, "unexpected"], 1));
    // Unknown keys all the same, though Object.prototype has them.
    for (const key of INHERITED) out.push(withOwnKey(request, path, key, 1));
  }
  out.push({ ...request, unexpected: undefined });
  return out;
}

const INHERITED = ["constructor", "toString", "valueOf", "hasOwnProperty", "__proto__"];

describe("validateRequest", () => {
  it("accepts exactly what zod accepts, and returns what zod returns", () => {
    let compared = 0;
    for (const request of VALID) {
      for (const candidate of [request, ...mutations(request)]) {
        const zod = chatRequestSchema.safeParse({ ...candidate, stream: false });
        let ours: unknown;
        try {
          ours = validateRequest(candidate as never, false);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidRequestError);
          ours = error;
        }
        if (zod.success) expect(ours).toEqual(zod.data);
        else expect(ours, JSON.stringify(candidate)).toBeInstanceOf(InvalidRequestError);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });

  it("names each invalid field", () => {
    const error = (() => {
      try {
        validateRequest({ model: "", messages: [{ role: "user", content: 1 }] } as never, false);
      } catch (e) {
        return e as InvalidRequestError;
      }
    })();
    expect(error?.issues.map((i) => i.split(":")[0])).toEqual([
      "request.model",
      "request.messages[0].content",
    ]);
  });
});

type Path = (string | number)[];

function collectPaths(value: unknown, prefix: Path = []): Path[] {
  if (value === null || typeof value !== "object") return [prefix];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  const own = prefix.length ? [prefix] : [];
  return [...own, ...entries.flatMap(([k, v]) => collectPaths(v, [...prefix, k]))];
}

function isObjectAt(root: unknown, path: Path): boolean {
  const v = path.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)?.[k], root);
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A copy with an own enumerable `key` at `path`; assignment would not create an own `__proto__`. */
function withOwnKey(root: Record<string, unknown>, path: Path, key: string, value: unknown) {
  const copy = structuredClone(root);
  const target = path.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], copy);
  Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
  return copy;
}

function setPath(root: Record<string, unknown>, path: Path, value: unknown): Record<string, unknown> {
  const copy = structuredClone(root);
  let target: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (value === Symbol.for("delete")) {
    if (Array.isArray(target)) target.splice(last as number, 1);
    else delete target[last];
  } else target[last] = value;
  return copy;
}
