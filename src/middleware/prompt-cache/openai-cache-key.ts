import { createHash, createHmac } from "node:crypto";
import type { ChatRequest } from "../../core/request.js";

/**
 * The template a request was built from: the host's `templateOf`, else
 * `metadata.task`, else a hash of the static head of the prompt (system
 * prompt and tool definitions). Undefined when there is nothing to go on.
 */
export function templateId(
  request: ChatRequest,
  templateOf: ((request: ChatRequest) => string | undefined) | undefined,
): string | undefined {
  const chosen = templateOf?.(request) ?? request.metadata?.task;
  if (chosen !== undefined && chosen !== "") return `t:${chosen}`;
  if (request.system === undefined && !request.tools?.length) return undefined;
  const head = JSON.stringify([
    request.system ?? null,
    request.tools?.map(({ cacheControl, ...t }) => t) ?? [],
  ]);
  return `h:${createHash("sha256").update(head).digest("base64url").slice(0, 22)}`;
}

/**
 * `prompt_cache_key` for a tenant and a template: an HMAC under a salt of
 * the tenant's own (itself an HMAC of the host's secret and the tenant id),
 * so requests of one tenant and template share the provider's cache, no two
 * tenants ever share a key, and neither the tenant nor the template can be
 * read from it (FAILURES.md S1).
 */
export function promptCacheKey(secret: string, tenant: string, template: string): string {
  const tenantSalt = createHmac("sha256", secret).update(`tenant\0${tenant}`).digest();
  return `fl-${createHmac("sha256", tenantSalt).update(template).digest("base64url").slice(0, 32)}`;
}
