// Test-only: a client over the real SDKs and the wire-level fakes, with a cost tracker that keeps every
// record and a log of the resilience events, shared by the retry and fallback suites. Not part of the
// package (nothing imports it but tests).
import { type FakeClient, fakeClient } from "../../../test/fakes/client.js";
import type { FakeServer, FakeStep } from "../../../test/fakes/index.js";
import type { Completion, StreamEvent } from "../../core/completion.js";
import type { Clock } from "../../core/context.js";
import type { EventName } from "../../core/events.js";
import type { Middleware } from "../../core/middleware.js";
import type { ChatRequestInput } from "../../core/request.js";

export { failure } from "../../../test/fakes/client.js";
export type TestClient = FakeClient;

const RESILIENCE_EVENTS: EventName[] = [
  "retry",
  "fallback",
  "circuit-open",
  "circuit-half-open",
  "circuit-close",
  "guard-engaged",
];

/**
 * The SDKs are built as a host builds them, with their default `maxRetries`
 * (2), so a test proves that `retry` turns them off; a suite with no
 * `retry` passes `sdkMaxRetries: 0` to keep its failures quick.
 */
export function testClient(
  fakes: { openai: FakeServer; anthropic: FakeServer },
  middleware: Middleware[],
  options: { clock?: Clock; sdkMaxRetries?: number; listen?: EventName[] } = {},
): TestClient {
  return fakeClient(fakes, middleware, {
    sdkMaxRetries: options.sdkMaxRetries ?? "sdk-default",
    listen: options.listen ?? RESILIENCE_EVENTS,
    ...(options.clock && { clock: options.clock }),
  });
}

export const ask = (content = "What is the capital of France?", extra: Partial<ChatRequestInput> = {}) =>
  ({
    model: "openai:gpt-4o-mini",
    messages: [{ role: "user", content }],
    ...extra,
  }) satisfies ChatRequestInput as ChatRequestInput;

/** `count` copies of one step: a fake that fails "always" for as long as a test needs. */
export const times = (count: number, step: FakeStep): FakeStep[] => Array.from({ length: count }, () => step);

/** Reads a stream to its end (or its failure) and returns what the reader saw. */
export async function readStream(
  stream: AsyncIterable<StreamEvent> & { completion: Promise<Completion> },
): Promise<{ events: StreamEvent[]; completion?: Completion; error?: any }> {
  const events: StreamEvent[] = [];
  try {
    for await (const event of stream) events.push(event);
  } catch (error) {
    return { events, error };
  }
  return { events, completion: await stream.completion };
}

/** A sleep that only records what it was asked to wait (and moves an injected clock, when given one). */
export function recordingSleep(clock?: { advance(ms: number): void }) {
  const waits: number[] = [];
  const sleep = async (ms: number) => {
    waits.push(ms);
    clock?.advance(ms);
  };
  return { waits, sleep };
}

/** A clock that moves only when told to. */
export function manualClock(start = 1_700_000_000_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}
