// Builders of cost records for the reports and alerts tests.
import type { AttemptPurpose, Cost, Usage } from "../core/completion.js";
import type { AttemptRecord, CostRecord } from "../core/cost-record.js";

export function usage(input: number, output: number, extra: Partial<Usage> = {}): Usage {
  return {
    inputTokens: input,
    cacheReadTokens: 0,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: output,
    reasoningTokens: 0,
    ...extra,
  };
}

export function priced(usd: number, estimated = false): Cost {
  return {
    priced: true,
    usd,
    breakdown: { input: usd, cacheRead: 0, cacheWrite: 0, output: 0 },
    source: "test",
    estimated,
  };
}

export function unpriced(estimated = false): Cost {
  return { priced: false, usd: null, reason: "no price for openai:my-finetune", estimated };
}

export function attempt(
  purpose: AttemptPurpose,
  model: string,
  status: AttemptRecord["status"] = "ok",
): AttemptRecord {
  return {
    purpose,
    provider: model.slice(0, model.indexOf(":")),
    model,
    status,
    startedAt: "2024-06-01T00:00:00.000Z",
    latencyMs: 100,
    usage: null,
    cost: null,
  };
}

/** A successful $0.001 request at 2024-06-01T12:00Z unless told otherwise. */
export function costRecord(fields: Partial<CostRecord> = {}): CostRecord {
  const model = fields.model === undefined ? "openai:gpt-4o-mini" : fields.model;
  return {
    id: "req-1",
    time: "2024-06-01T12:00:00.000Z",
    tenant: "acme",
    user: null,
    task: "chat",
    tags: [],
    status: "ok",
    requestedModel: model ?? "auto",
    provider: model ? model.slice(0, model.indexOf(":")) : null,
    model,
    route: null,
    cache: null,
    usage: usage(100, 50),
    cost: priced(0.001),
    retryCostUsd: 0,
    baseline: null,
    savingsUsd: null,
    latencyMs: 200,
    timeToFirstTokenMs: null,
    streamed: false,
    attempts: model ? [attempt("primary", model)] : [],
    error: null,
    ...fields,
  };
}
