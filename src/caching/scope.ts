import type { RequestContext } from "../core/context.js";

/**
 * The tenant scope of a cached answer. Every cache is scoped by the tenant
 * from the host's request metadata (never from prompt text or a caller
 * header): `t:<tenant>` for a tenant, `-` for requests with no tenant, and
 * `*` only when the host explicitly shares the cache (FAILURES.md C1, S1).
 * The `t:` prefix means no tenant id can spell the other two scopes.
 */
export function tenantScope(ctx: RequestContext, shared: boolean): string {
  return scopeOf(ctx.request.metadata?.tenant, shared);
}

/** The scope of a tenant id (undefined: no tenant), as `tenantScope` gives it; for purges. */
export function scopeOf(tenant: string | undefined, shared: boolean): string {
  if (shared) return "*";
  return tenant === undefined ? "-" : `t:${tenant}`;
}

/**
 * Keys are `<prefix>:{<tenant>}:<rest>`: the hash tag keeps one tenant's keys
 * in one Redis Cluster slot, and a purge by tenant is a prefix delete.
 * Tenant ids are percent-encoded so that no tenant id can spell another's
 * prefix.
 */
export function scopedKey(prefix: string, tenant: string, rest: string): string {
  return `${tenantPrefix(prefix, tenant)}${rest}`;
}

export function tenantPrefix(prefix: string, tenant: string): string {
  return `${prefix}:{${encodeURIComponent(tenant)}}:`;
}
