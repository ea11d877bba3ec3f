import { InvalidRequestError } from "../../core/errors.js";

/** Why one tier could not take a request. */
export interface TierRejection {
  tier: string;
  model: string;
  /** `context-window: needs ~150,410 tokens (input ~146,314 + output 4,096), the model takes 128,000`. */
  reason: string;
}

/**
 * No tier of the router can serve the request: each one's context window,
 * output limit or missing capability (tools, vision, JSON) rules it out.
 * Thrown before any provider call; `rejections` says why for each tier.
 */
export class NoRouteError extends InvalidRequestError {
  readonly rejections: readonly TierRejection[];

  constructor(route: string, rejections: readonly TierRejection[]) {
    const issues = rejections.map((r) => `${r.tier} (${r.model}): ${r.reason}`);
    super(`router: no tier of route "${route}" can serve this request: ${issues.join("; ")}`, issues);
    this.rejections = rejections;
  }
}
