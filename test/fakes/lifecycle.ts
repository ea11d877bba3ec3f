import { afterAll, beforeAll, beforeEach } from "vitest";
import { startFakeAnthropic } from "./fake-anthropic.js";
import { startFakeOpenAI } from "./fake-openai.js";
import type { FakeServer } from "./fake-server.js";

/**
 * Starts both fakes for the suite that calls it, resets them before each
 * test and closes them after the suite; `fakes()` gives them to the tests.
 */
export function useFakes(): () => { openai: FakeServer; anthropic: FakeServer } {
  let openai: FakeServer;
  let anthropic: FakeServer;
  beforeAll(async () => {
    openai = await startFakeOpenAI();
    anthropic = await startFakeAnthropic();
  });
  afterAll(async () => {
    await openai.close();
    await anthropic.close();
  });
  beforeEach(() => {
    openai.reset();
    anthropic.reset();
  });
  return () => ({ openai, anthropic });
}
