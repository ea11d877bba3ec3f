import { createHash } from "node:crypto";
import type { RequestContext } from "../../core/context.js";
import type { ChatRequest } from "../../core/request.js";

/**
 * The request key: a SHA-256 (hex) of the canonical JSON of the whole
 * canonical request, minus the fields that cannot change the answer, with
 * the model resolved to `provider:model` (so an alias and its target share
 * answers). Building it from everything but a short deny-list, rather than
 * from a list of fields thought to matter, is what keeps a new or
 * provider-specific parameter from being left out (FAILURES.md C4): system,
 * tools, tool choice, response format, every sampling parameter, seed, max
 * tokens, stop, reasoning, `cacheControl` markers and `providerOptions` are
 * all in it. An omitted field stays omitted, so an omitted temperature (the
 * provider's default) never shares a key with `temperature: 0`.
 *
 * The tenant and the policy version are not in this hash: they are in the
 * store key around it (see `exactCache`), so a purge by tenant is a prefix.
 *
 * @example
 * requestKey(request, "openai:gpt-4o-mini"); // "3f2a…" (64 hex characters)
 */
export function requestKey(request: ChatRequest, model: string): string {
  // `metadata` (tenant, user, task, tags, priority, cache) and `stream` never change the answer.
  const { metadata: _metadata, stream: _stream, ...answerChanging } = request;
  return createHash("sha256")
    .update(canonicalJson({ ...answerChanging, model }))
    .digest("hex");
}

/**
 * The model a request will be sent to, as `provider:model`, or the ref as
 * given when it cannot be resolved yet (`auto`, before a router chose):
 * then the router's choice is part of the host's policy, which the policy
 * version covers.
 */
export function resolvedModel(ctx: RequestContext): string {
  try {
    const { provider, model } = ctx.services.resolveModel(ctx.request.model);
    return `${provider}:${model}`;
  } catch {
    return ctx.request.model;
  }
}

/**
 * JSON with object keys sorted (by UTF-16 code unit) and `undefined` members left
 * out, so that two requests equal as data give the same text whatever order
 * their fields were written in. Arrays keep their order (message order
 * matters). Like JSON.stringify, an `undefined` array element is `null`.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ",";
      out += value[i] === undefined ? "null" : canonicalJson(value[i]);
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = "{";
  let first = true;
  for (const key of keys) {
    const member = record[key];
    if (member === undefined || typeof member === "function") continue;
    if (!first) out += ",";
    first = false;
    out += `${JSON.stringify(key)}:${canonicalJson(member)}`;
  }
  return `${out}}`;
}
