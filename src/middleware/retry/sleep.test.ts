import { afterEach, describe, expect, it, vi } from "vitest";
import { NEVER_ABORTED } from "../../core/context.js";
import { abortableSleep } from "./run.js";

describe("abortableSleep", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each([
    ["a caller's signal", () => new AbortController().signal],
    ["no signal", () => NEVER_ABORTED],
  ])("waits past a timer's range (2^31 - 1 ms) in full, with %s", async (_, signal) => {
    vi.useFakeTimers();
    let done = false;
    const slept = abortableSleep(2 ** 31 + 1_000, signal()).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(2 ** 31 - 1);
    expect(done).toBe(false); // one timer would have fired after 1 ms
    await vi.advanceTimersByTimeAsync(1_001);
    await slept;
    expect(done).toBe(true);
  });

  it("stops a long wait as soon as the signal fires, in any of its timers", async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const slept = abortableSleep(3 * 2 ** 31, controller.signal);
    await vi.advanceTimersByTimeAsync(2 ** 31 + 5);
    controller.abort(new Error("stop"));
    await expect(slept).rejects.toThrow("stop");
    expect(vi.getTimerCount()).toBe(0);
  });
});
