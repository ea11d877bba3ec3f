// Shared by the tests beside this file: prompt text and a reader of markers on the Anthropic wire body.

const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"];

/** About `tokens` tokens (at 4 characters each) of prose with no dynamic-looking content. */
export function prose(tokens: number, topic = "policy"): string {
  let text = `${topic} `;
  for (let i = 0; text.length < tokens * 4; i++) text += `${WORDS[i % WORDS.length]} `;
  return text.slice(0, tokens * 4);
}

export interface WireMarker {
  at: string;
  ttl: "5m" | "1h";
}

/** Every `cache_control` on an Anthropic Messages body, in prefix order: tools, system, messages, top level. */
export function wireMarkers(body: any): WireMarker[] {
  const out: WireMarker[] = [];
  const take = (at: string, block: any) => {
    if (block?.cache_control) out.push({ at, ttl: block.cache_control.ttl ?? "5m" });
  };
  for (const [i, t] of (body.tools ?? []).entries()) take(`tools[${i}]`, t);
  if (Array.isArray(body.system)) for (const [i, b] of body.system.entries()) take(`system[${i}]`, b);
  body.messages.forEach((m: any, i: number) => {
    if (!Array.isArray(m.content)) return;
    m.content.forEach((b: any, j: number) => {
      take(`messages[${i}].content[${j}]`, b);
      if (b.type === "tool_result" && Array.isArray(b.content)) {
        for (const [k, c] of b.content.entries()) take(`messages[${i}].content[${j}].content[${k}]`, c);
      }
    });
  });
  take("request", body);
  return out;
}

/** True when no 5m breakpoint precedes a 1h one. */
export function oneHourFirst(markers: readonly WireMarker[]): boolean {
  const firstFive = markers.findIndex((m) => m.ttl === "5m");
  return firstFive < 0 || markers.slice(firstFive).every((m) => m.ttl === "5m");
}

/** Freezes an object graph, so that any write to the caller's request throws. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** A small seeded PRNG (mulberry32), so fuzz cases are the same on every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
