import type { RequestContext } from "../../core/context.js";
import type { BudgetStatus } from "../../core/cost-record.js";
import { ConfigError } from "../../core/errors.js";
import type { ReserveResult } from "../../storage/memory/counters.js";
import { MAX_LIMIT_USD, type SpendLimit, type SpendScope } from "./options.js";
import type { AppliedLimit, ScopeGroup } from "./spend.js";
import type { SpendWindowStatus } from "./state.js";
import type { WindowClock } from "./windows.js";

/**
 * The limits that apply to a request now: each with its scope id, its
 * window at this instant and its amounts in micro-dollars (the limit
 * rounded down, so it is never exceeded by rounding). A limit function that
 * answers `undefined` leaves the request out of that limit.
 */
export function applicableLimits(
  ctx: RequestContext,
  limits: readonly SpendLimit[],
  clock: WindowClock,
  nowMs: number,
): AppliedLimit[] {
  const applied: AppliedLimit[] = [];
  limits.forEach((limit, i) => {
    const limitUsd = amountOf(limit.limitUsd, ctx, `options.limits[${i}].limitUsd`);
    if (limitUsd === undefined) return;
    const softUsd =
      limit.softLimitUsd === undefined
        ? undefined
        : amountOf(limit.softLimitUsd, ctx, `options.limits[${i}].softLimitUsd`);
    applied.push({
      scope: scopeId(limit.scope, ctx),
      window: clock.resolve(limit.window, nowMs),
      limitMicros: Math.floor(limitUsd * 1e6 + 1e-6),
      softMicros: softUsd === undefined ? undefined : Math.floor(softUsd * 1e6 + 1e-6),
    });
  });
  return applied;
}

/**
 * `tenant:acme`, `user:acme/u1`, `<name>:<id>`, ids percent-encoded (so no id
 * can spell another's scope or a Redis hash tag). Requests without the id
 * share the scope named by the kind alone (`tenant`), so none escapes a limit.
 */
export function scopeId(scope: SpendScope, ctx: RequestContext): string {
  const { tenant, user } = ctx.request.metadata ?? {};
  if (scope === "tenant") return tenant === undefined ? "tenant" : `tenant:${enc(tenant)}`;
  if (scope === "user") return user === undefined ? "user" : `user:${enc(tenant ?? "")}/${enc(user)}`;
  const id = scope.id(ctx);
  if (id !== undefined && typeof id !== "string") {
    throw new ConfigError(
      `budget: the id function of scope "${scope.name}" must return a string or undefined`,
    );
  }
  return id === undefined || id === "" ? scope.name : `${scope.name}:${enc(id)}`;
}

/** Window-by-window figures of a reservation, and the one closest to its limit for `ctx.state.budget`. */
export function positionOf(
  groups: readonly ScopeGroup[],
  results: readonly (ReserveResult | undefined)[],
  amountMicros: number,
): { windows: SpendWindowStatus[]; status: BudgetStatus | undefined; overSoft: AppliedLimit[] } {
  const windows: SpendWindowStatus[] = [];
  const overSoft: AppliedLimit[] = [];
  let status: BudgetStatus | undefined;
  let closest = Number.NEGATIVE_INFINITY;
  groups.forEach((group, g) => {
    const result = results[g];
    if (!result) return; // the store failed (fail-open): no figures
    group.limits.forEach((limit, i) => {
      const spent = result.settledMicros[group.windowOf[i]!]! + result.heldMicros + amountMicros;
      const over = limit.softMicros !== undefined && spent > limit.softMicros;
      if (over) overSoft.push(limit);
      const name = `${limit.scope}:${limit.window.label}`;
      windows.push({
        scope: name,
        limitUsd: limit.limitMicros / 1e6,
        ...(limit.softMicros !== undefined && { softLimitUsd: limit.softMicros / 1e6 }),
        spentUsd: spent / 1e6,
        ...(limit.window.endsAt !== undefined && { endsAt: new Date(limit.window.endsAt).toISOString() }),
      });
      const share = limit.limitMicros === 0 ? Number.POSITIVE_INFINITY : spent / limit.limitMicros;
      if (share > closest) {
        closest = share;
        status = {
          scope: name,
          limitUsd: limit.limitMicros / 1e6,
          spentUsd: spent / 1e6,
          overSoftLimit: false,
        };
      }
    });
  });
  if (status) status.overSoftLimit = overSoft.length > 0;
  return { windows, status, overSoft };
}

function amountOf(
  value: number | ((ctx: RequestContext) => number | undefined),
  ctx: RequestContext,
  field: string,
): number | undefined {
  const amount = typeof value === "function" ? value(ctx) : value;
  if (amount === undefined) return undefined;
  if (typeof amount !== "number" || !Number.isFinite(amount) || amount < 0 || amount > MAX_LIMIT_USD) {
    throw new ConfigError(
      `budget: ${field} gave ${String(amount)}; expected a number of USD from 0 to ${MAX_LIMIT_USD}`,
    );
  }
  return amount;
}

const enc = (id: string) => encodeURIComponent(id);
