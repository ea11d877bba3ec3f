import type { Clock, RequestContext, ResolvedModel } from "../../core/context.js";
import { AbortedError, FrugalError } from "../../core/errors.js";
import type { Next } from "../../core/middleware.js";
import type { Reply } from "../../core/reply.js";
import type { CallOutcome, CircuitBreaker, Permit, Transition } from "./breaker.js";
import type { CostGuard, CostGuardOptions, GuardRefusal } from "./cost-guard.js";
import { AllModelsFailedError, CircuitOpenError, CostGuardError, type ModelFailure } from "./errors.js";

/** A model of the chain, resolved. */
export interface Candidate extends ResolvedModel {
  /** As the chain (or the request) names it. */
  ref: string;
  /** `provider:model`: the breaker's key. */
  key: string;
}

/** What one `fallback()` instance shares between its requests. */
export interface FallbackDeps {
  clock: Clock | undefined;
  breakerFor: ((key: string) => CircuitBreaker) | undefined;
  slowCallMs: number;
  guard: { counter: CostGuard; options: CostGuardOptions } | undefined;
  fallsOver: (error: FrugalError) => boolean;
  moreExpensive: (candidate: Candidate, primary: Candidate, ctx: RequestContext) => boolean;
  /** Orders candidates cheapest first (unpriced last). */
  cheapestFirst: (candidates: Candidate[], ctx: RequestContext) => Candidate[];
}

/**
 * The fallback chain of one request: tries each model in turn until one
 * answers, skipping open circuits and asking the cost guard before an
 * escalation. Kept per request so that a stream that fails before any
 * output can continue down the chain.
 */
export class FallbackRun {
  readonly #queue: Candidate[];
  readonly #primary: Candidate;
  readonly #failures: ModelFailure[] = [];
  #previous: Candidate | undefined;
  #current: Candidate | undefined;
  #calls = 0;
  /** Set once the guard refused an escalation and the chain was narrowed to cheaper models. */
  #refusal: GuardRefusal | undefined;

  constructor(
    private readonly ctx: RequestContext,
    private readonly next: Next,
    candidates: readonly Candidate[],
    private readonly deps: FallbackDeps,
  ) {
    this.#queue = [...candidates];
    this.#primary = candidates[0]!;
  }

  start(): Promise<Reply> {
    return this.#advance();
  }

  /** The streamed answer failed before any output reached the caller: on down the chain, or give up. */
  async resume(error: unknown): Promise<Reply> {
    // A host's degraded answer that fails is the outcome: there is nothing left to try.
    if (!this.#current) throw error;
    this.#failed(this.#current, error);
    return this.#advance();
  }

  async #advance(): Promise<Reply> {
    const { ctx, deps } = this;
    for (let candidate = this.#queue.shift(); candidate; candidate = this.#queue.shift()) {
      const breaker = deps.breakerFor?.(candidate.key);
      const onTransition = (t: Transition) => this.#announce(candidate!, t);
      const permit = breaker?.acquire(this.#now(), onTransition);
      if (breaker && !permit) {
        this.#skip(candidate, new CircuitOpenError(candidate.ref, breaker.openUntil));
        continue;
      }
      if (!this.#refusal && candidate !== this.#primary && deps.guard) {
        const refused = this.#askGuard(candidate);
        if (refused) {
          if (permit) breaker!.release(permit);
          const degraded = await this.#degrade(refused);
          if (degraded) return degraded;
          continue;
        }
      }
      if (candidate !== this.#primary) {
        ctx.services.events.emit("fallback", {
          requestId: ctx.id,
          from: this.#previous!.ref,
          to: candidate.ref,
          error: this.#failures.at(-1)!.error,
        });
      }
      try {
        return await this.#call(candidate, breaker, permit);
      } catch (error) {
        this.#failed(candidate, error);
      }
    }
    if (this.#refusal) throw new CostGuardError(this.#refusal, this.#failures, ctx.attempts);
    throw new AllModelsFailedError(this.#failures, ctx.attempts);
  }

  async #call(candidate: Candidate, breaker: CircuitBreaker | undefined, permit: Permit | undefined) {
    const { ctx, deps } = this;
    this.#current = candidate;
    this.#calls++;
    const callCtx: RequestContext =
      candidate === this.#primary
        ? ctx
        : { ...ctx, purpose: "fallback", request: { ...ctx.request, model: candidate.ref } };
    const onTransition = (t: Transition) => this.#announce(candidate, t);
    const record = (outcome: CallOutcome, slow: boolean) =>
      breaker && permit && breaker.record(permit, outcome, slow, this.#now(), onTransition);
    const startedAt = this.#now();
    let reply: Reply;
    try {
      reply = await this.next(callCtx);
    } catch (error) {
      record(this.#outcomeOf(error), this.#now() - startedAt >= deps.slowCallMs);
      throw error;
    }
    // Slow is judged on the wait for the reply: the whole call, or the start of a stream.
    const slow = this.#now() - startedAt >= deps.slowCallMs;
    reply.completion.then(
      () => record("success", slow),
      (error: unknown) => record(this.#outcomeOf(error), slow),
    );
    return reply;
  }

  /** Records a failed call; rethrows when another model could not avoid it. */
  #failed(candidate: Candidate, error: unknown): void {
    if (!(error instanceof FrugalError) || error instanceof AbortedError) throw error;
    if (!this.deps.fallsOver(error)) {
      // The request's own fault: shown unchanged when it is all that happened (open circuits skipped aside).
      if (this.#calls <= 1 && this.#failures.every((f) => f.error instanceof CircuitOpenError)) throw error;
      this.#failures.push({ model: candidate.ref, error });
      throw new AllModelsFailedError(this.#failures, this.ctx.attempts);
    }
    this.#failures.push({ model: candidate.ref, error });
    this.#previous = candidate;
  }

  #skip(candidate: Candidate, error: CircuitOpenError): void {
    this.#failures.push({ model: candidate.ref, error });
    this.#previous = candidate;
  }

  #outcomeOf(error: unknown): CallOutcome {
    if (!(error instanceof FrugalError) || error instanceof AbortedError) return "neutral";
    return this.deps.fallsOver(error) ? "failure" : "neutral";
  }

  /** Counts an escalation, or says why the guard refuses it. */
  #askGuard(candidate: Candidate): GuardRefusal | undefined {
    const { ctx, deps } = this;
    const guard = deps.guard!;
    if (!deps.moreExpensive(candidate, this.#primary, ctx)) return undefined;
    const critical = guard.options.critical?.(ctx) ?? false;
    const refused = guard.counter.admit(ctx.request.metadata?.tenant, this.#now(), critical, ctx.attempts);
    if (!refused) return undefined;
    return { ...refused, model: candidate.ref, failures: [...this.#failures] };
  }

  /** The guard said no: a host's answer, an error, or the chain narrowed to models no dearer than the primary. */
  async #degrade(refusal: GuardRefusal): Promise<Reply | undefined> {
    const { ctx, deps } = this;
    const mode = deps.guard!.options.degrade ?? "cheapest";
    ctx.services.events.emit("guard-engaged", {
      requestId: ctx.id,
      tenant: ctx.request.metadata?.tenant,
      model: refusal.model,
      scope: refusal.scope,
      share: refusal.share,
      maxShare: refusal.maxShare,
      degrade: typeof mode === "function" ? "custom" : mode,
    });
    if (mode === "error") throw new CostGuardError(refusal, this.#failures, ctx.attempts);
    this.#refusal = refusal;
    if (typeof mode === "function") {
      this.#queue.length = 0;
      this.#current = undefined;
      return mode(ctx, refusal);
    }
    const affordable = this.#queue.filter((c) => !deps.moreExpensive(c, this.#primary, ctx));
    this.#queue.splice(0, this.#queue.length, ...deps.cheapestFirst(affordable, ctx));
    return undefined;
  }

  #announce(candidate: Candidate, t: Transition): void {
    const { events } = this.ctx.services;
    const base = { requestId: this.ctx.id, model: candidate.key };
    if (t.to === "open") {
      events.emit("circuit-open", {
        ...base,
        calls: t.calls,
        failureRate: t.failureRate,
        slowCallRate: t.slowCallRate,
        openUntil: t.openUntil,
      });
    } else if (t.to === "half-open") {
      events.emit("circuit-half-open", base);
    } else {
      events.emit("circuit-close", base);
    }
  }

  #now(): number {
    return (this.deps.clock ?? this.ctx.clock).now();
  }
}
