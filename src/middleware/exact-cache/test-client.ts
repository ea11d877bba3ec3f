// Test-only: helpers shared by the exact-cache and dedupe suites (the client is test/fakes/client.ts). Not part of the package (nothing imports it but tests).
import type { Completion, StreamEvent } from "../../core/completion.js";
import type { ChatRequestInput } from "../../core/request.js";
import type { KeyValueStore } from "../../storage/kv.js";

export { type FakeClient as TestClient, fakeClient as testClient } from "../../../test/fakes/client.js";

export const ask = (content = "What is the capital of France?", extra: Partial<ChatRequestInput> = {}) =>
  ({
    model: "openai:gpt-4o-mini",
    messages: [{ role: "user", content }],
    ...extra,
  }) satisfies ChatRequestInput as ChatRequestInput;

/** Reads a stream to its end and returns its events and its final completion. */
export async function readStream(
  stream: AsyncIterable<StreamEvent> & { completion: Promise<Completion> },
): Promise<{ events: StreamEvent[]; completion: Completion }> {
  const events: StreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return { events, completion: await stream.completion };
}

/** The store keys written (entries only, not locks) and their TTLs, and the store underneath. */
export function recording(store: KeyValueStore): KeyValueStore & { sets: { key: string; ttlMs?: number }[] } {
  const sets: { key: string; ttlMs?: number }[] = [];
  return {
    name: `recording(${store.name})`,
    sets,
    get: (key) => store.get(key),
    set: (key, value, ttlMs) => {
      sets.push({ key, ttlMs });
      return store.set(key, value, ttlMs);
    },
    setIfAbsent: (key, value, ttlMs) => store.setIfAbsent(key, value, ttlMs),
    delete: (...keys) => store.delete(...keys),
    deletePrefix: (prefix) => store.deletePrefix(prefix),
  };
}

/** Lets the flights end (the answer stored, the lock released) before the next assertion. */
export const settle = () => new Promise((resolve) => setTimeout(resolve, 10));
