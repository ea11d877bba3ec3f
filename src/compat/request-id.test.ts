import { describe, expect, it } from "vitest";
import type { Attempt, Completion } from "../core/completion.js";
import { withRequestId } from "./request-id.js";

const attempt = (purpose: Attempt["purpose"], status: Attempt["status"], providerRequestId: string) =>
  ({ purpose, status, providerRequestId }) as Attempt;
const completion = (attempts: Attempt[]) => ({ meta: { attempts } }) as unknown as Completion;

describe("withRequestId", () => {
  it("takes the id of the call that answered, not of a side call made after it (a judge)", () => {
    const value = withRequestId(
      {},
      completion([
        attempt("primary", "error", "req_failed"),
        attempt("retry", "ok", "req_answer"),
        attempt("side-call", "ok", "req_judge"),
      ]),
    );
    expect(value._request_id).toBe("req_answer");
    expect(Object.keys(value)).toEqual([]); // non-enumerable, as the SDKs have it
  });

  it("is null when no provider call answered (a cache hit)", () => {
    expect(withRequestId({}, completion([]))._request_id).toBeNull();
  });
});
