import { SlidingWindow } from "./sliding-window.js";

/**
 * When a model's circuit opens, and how it recovers. Rates are shares in
 * (0, 1]; durations are milliseconds.
 */
export interface BreakerOptions {
  /**
   * The share of failed calls in the window at which the circuit opens,
   * once `minCalls` calls were seen. In (0, 1]; `1` opens only when every
   * call failed. Default 0.5.
   */
  failureRate?: number;
  /**
   * A call that takes this long or longer counts as slow: the whole call
   * when not streamed, the time until the stream started when streamed.
   * Positive or `Infinity`. Default `Infinity` (no call is slow).
   */
  slowCallMs?: number;
  /** The share of slow calls at which the circuit opens. In (0, 1]. Default 1. */
  slowCallRate?: number;
  /** Calls the window must hold before either rate is judged. An integer of at least 1. Default 10. */
  minCalls?: number;
  /**
   * The sliding window the rates are measured over, kept as 10 buckets (so
   * it slides by a tenth of itself). Positive. Default 60,000.
   */
  windowMs?: number;
  /** How long an open circuit skips its model before letting probes through. Positive. Default 30,000. */
  openMs?: number;
  /**
   * Calls let through while half-open; the circuit closes once that many
   * succeeded, and opens again at the first that fails (or is slow). A
   * probe that has reported nothing after `openMs` (a stream nobody reads)
   * gives its place to another. An integer of at least 1. Default 3.
   */
  halfOpenProbes?: number;
}

export type BreakerSettings = Required<BreakerOptions>;

export const BREAKER_DEFAULTS: BreakerSettings = {
  failureRate: 0.5,
  slowCallMs: Number.POSITIVE_INFINITY,
  slowCallRate: 1,
  minCalls: 10,
  windowMs: 60_000,
  openMs: 30_000,
  halfOpenProbes: 3,
};

export type CircuitState = "closed" | "open" | "half-open";

/** Leave to make one call; hand it back with the call's outcome. */
export interface Permit {
  readonly probe: boolean;
  /** A probe's number (0 for a call while closed). */
  readonly id: number;
  /** The breaker's generation when it was granted: an outcome from before a transition is stale. */
  readonly generation: number;
}

/** `neutral`: not the model's doing (the request's own 4xx, a caller's abort); only frees a probe. */
export type CallOutcome = "success" | "failure" | "neutral";

export type Transition =
  | { to: "open"; calls: number; failureRate: number; slowCallRate: number; openUntil: number }
  | { to: "half-open" }
  | { to: "closed" };

/**
 * A circuit breaker for one provider model: closed, it counts calls in a
 * sliding window and opens when the failure rate or the slow-call rate
 * reaches its threshold; open, it refuses calls for `openMs`; then
 * half-open, it lets `halfOpenProbes` calls through and closes once they
 * all succeeded, or opens again at the first failure. State is in this
 * process only.
 */
export class CircuitBreaker {
  #state: CircuitState = "closed";
  #openUntil = 0;
  #generation = 0;
  /** Probes in flight: number → when granted. */
  readonly #probes = new Map<number, number>();
  #lastProbe = 0;
  #probeSuccesses = 0;
  /** Fields: calls, failures, slow calls. */
  readonly #window: SlidingWindow;

  constructor(private readonly settings: BreakerSettings) {
    this.#window = new SlidingWindow(settings.windowMs, 3);
  }

  /** The state at `now`, without changing it (an open circuit past `openMs` reads as half-open). */
  state(now: number): CircuitState {
    return this.#state === "open" && now >= this.#openUntil ? "half-open" : this.#state;
  }

  /** When an open circuit lets probes through again (ms). */
  get openUntil(): number {
    return this.#openUntil;
  }

  /** Asks to make a call at `now`: a permit, or `undefined` while the circuit refuses calls. */
  acquire(now: number, onTransition: (t: Transition) => void): Permit | undefined {
    if (this.#state === "open") {
      if (now < this.#openUntil) return undefined;
      this.#enter("half-open");
      onTransition({ to: "half-open" });
    }
    if (this.#state === "half-open") {
      // A probe silent for openMs is given up: an unread stream must not hold the circuit half-open for good.
      for (const [id, grantedAt] of this.#probes)
        if (now - grantedAt >= this.settings.openMs) this.#probes.delete(id);
      if (this.#probes.size + this.#probeSuccesses >= this.settings.halfOpenProbes) return undefined;
      const id = ++this.#lastProbe;
      this.#probes.set(id, now);
      return { probe: true, id, generation: this.#generation };
    }
    return { probe: false, id: 0, generation: this.#generation };
  }

  /** Hands a permit back unused. */
  release(permit: Permit): void {
    if (permit.probe && permit.generation === this.#generation) this.#probes.delete(permit.id);
  }

  /** Records the outcome of a call made with `permit`. */
  record(
    permit: Permit,
    outcome: CallOutcome,
    slow: boolean,
    now: number,
    onTransition: (t: Transition) => void,
  ): void {
    if (permit.generation !== this.#generation) return; // granted before a transition: stale
    if (permit.probe) {
      if (!this.#probes.delete(permit.id)) return; // given up: its place went to another probe
      if (outcome === "neutral") return;
      if (outcome === "failure" || slow) {
        this.#open(
          now,
          { calls: 1, failureRate: outcome === "failure" ? 1 : 0, slowCallRate: slow ? 1 : 0 },
          onTransition,
        );
        return;
      }
      this.#probeSuccesses++;
      if (this.#probeSuccesses >= this.settings.halfOpenProbes) {
        this.#enter("closed");
        onTransition({ to: "closed" });
      }
      return;
    }
    if (outcome === "neutral" || this.#state !== "closed") return;
    this.#window.add(now, 0);
    if (outcome === "failure") this.#window.add(now, 1);
    if (slow) this.#window.add(now, 2);
    const [calls = 0, failures = 0, slowCalls = 0] = this.#window.totals(now);
    if (calls < this.settings.minCalls) return;
    const failureRate = failures / calls;
    const slowCallRate = slowCalls / calls;
    if (failureRate >= this.settings.failureRate || slowCallRate >= this.settings.slowCallRate) {
      this.#open(now, { calls, failureRate, slowCallRate }, onTransition);
    }
  }

  #open(
    now: number,
    figures: { calls: number; failureRate: number; slowCallRate: number },
    onTransition: (t: Transition) => void,
  ): void {
    this.#enter("open");
    this.#openUntil = now + this.settings.openMs;
    onTransition({ to: "open", ...figures, openUntil: this.#openUntil });
  }

  #enter(state: CircuitState): void {
    this.#state = state;
    this.#generation++;
    this.#probes.clear();
    this.#probeSuccesses = 0;
    this.#window.clear();
  }
}
