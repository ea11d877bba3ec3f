import { z } from "zod";
import type { RequestContext } from "../../core/context.js";
import { timeZoneSchema } from "../../reports/calendar.js";
import type { SpendCounters } from "../../storage/memory/counters.js";
import type { TokenEstimator } from "../../tokens/estimator.js";
import { type SummarizerOptions, summarizerSchema } from "../compaction/summary.js";
import type { WindowSpec } from "./windows.js";
import type { CeilingPrice } from "./worst-case.js";

/** What to do with a request whose estimated input is over its task's `inputMax`. */
export type Overflow =
  /** Drop the oldest turns until it fits; never the system prompt, the last user turn, or half a tool call. */
  | "truncate"
  /** Replace the oldest turns with a summary by the `summarizer` model (a side call, cached per prefix). */
  | "summarize"
  /** Refuse with a `BudgetExceededError` naming the task, the limit and the estimate. */
  | "reject"
  /** Send it on with `metadata.priority = "deferrable"`, for a batch middleware listed after this one. */
  | "defer";

/** The per-request budget of one task (`metadata.task`). */
export interface TaskPolicy {
  /** Most estimated input tokens; over it, `overflow` applies. A positive integer; absent: no input limit. */
  inputMax?: number;
  /** Most output tokens: the request's `maxOutputTokens` is lowered to it, or set to it when absent. A positive integer. */
  outputMax?: number;
  /** Default `"reject"`. `"summarize"` needs the budget's `summarizer`. */
  overflow?: Overflow;
}

/** Whose spend a limit counts. */
export type SpendScope =
  /** `metadata.tenant` (requests without one share the scope `tenant:-`). */
  | "tenant"
  /** `metadata.user` within its tenant. */
  | "user"
  /** Anything else the host can name per request, such as an API key id. */
  | { name: string; id: (ctx: RequestContext) => string | undefined };

/** A spend limit over a window for each tenant, user or key. */
export interface SpendLimit {
  scope: SpendScope;
  /** `day` and `month` follow the budget's `timeZone`; `{ rollingHours: 6 }` is the last 6 hours. */
  window: WindowSpec;
  /**
   * Most USD settled plus reserved in the window. A function gives each
   * tenant its plan's limit (`undefined`: no limit for this request). A
   * non-negative number.
   */
  limitUsd: number | ((ctx: RequestContext) => number | undefined);
  /**
   * Past it, `ctx.state.budget.overSoftLimit` is true (a router routes the
   * tenant down), `degrade` applies, and a `budget-soft-limit` event fires
   * once per window. At most `limitUsd`.
   */
  softLimitUsd?: number | ((ctx: RequestContext) => number | undefined);
}

export interface BudgetOptions {
  /** Per-request policies by `metadata.task`. */
  tasks?: Record<string, TaskPolicy>;
  /** The policy of requests whose task is not in `tasks` (or that have none). Default: none. */
  defaultTask?: TaskPolicy;
  /** The cheap model of the `summarize` overflow, and its summary cache. */
  summarizer?: SummarizerOptions;
  /** Spend limits, each checked for every request it applies to. */
  limits?: SpendLimit[];
  /** Where spend is counted. Default `memoryCounters()` (this process only); `redisCounters()` to share. */
  counters?: SpendCounters;
  /** The IANA time zone of `day` and `month` windows. Default `"UTC"`. */
  timeZone?: string;
  /**
   * When the counters cannot be reached or are slower than `storeTimeoutMs`:
   * `"fail-closed"` (default) refuses calls with a `BudgetUnavailableError`;
   * `"fail-open"` lets them through unreserved (and settles their spend if
   * the store comes back). Either way a `budget-store-error` event fires and
   * the logger says which policy applied.
   */
  onStoreError?: "fail-closed" | "fail-open";
  /** A counter operation slower than this counts as a failure, in ms. Default 1,000; a positive integer. */
  storeTimeoutMs?: number;
  /** After a failure, calls apply `onStoreError` without trying the store for this long, in ms. Default 1,000; 0 tries every call. */
  storeRetryMs?: number;
  /** A reservation not settled by then (its process died) expires, in ms. Default 600,000; set it above your longest call. */
  holdTtlMs?: number;
  /** `maxOutputTokens` set on requests that give none and fall under a limit, so that their worst case is bounded. Default 4,096. */
  defaultMaxOutputTokens?: number;
  /**
   * The input tokens a reservation counts: `"upper-bound"` (default: the
   * request's UTF-8 bytes and fixed costs, which no provider's count
   * exceeds, so the limit cannot be crossed) or `"estimate"` (the tokenizer's
   * estimate: closer, but a provider may bill a little more).
   */
  reserveInput?: "upper-bound" | "estimate";
  /** USD per million input and output tokens for models without a price; without it, they are refused under a limit. */
  ceilingPriceUsdPerMTok?: CeilingPrice;
  /** The model whose price bounds an `auto` request (the dearest a router may pick); without it, `auto` is refused under a limit. */
  priceAutoAs?: string;
  /** Degraded mode: over a soft limit, or where a limit would refuse, the request goes to this cheaper model instead. */
  degrade?: { model: string };
  /** Where too little remains for `maxOutputTokens`, lower it to what fits if that is at least `minTokens` (reported, never silent). */
  shrinkOutput?: { minTokens: number };
  /** The token estimator. Default: the client's (`createClient({ tokens })`), calibrated from its answers. */
  tokens?: TokenEstimator;
}

const tokensCount = z.number().int().positive();
const policySchema = z
  .object({
    inputMax: tokensCount.optional(),
    outputMax: tokensCount.optional(),
    overflow: z.enum(["truncate", "summarize", "reject", "defer"]).default("reject"),
  })
  .strict();
/** The largest limit: a billion dollars, in micro-dollars still an exact integer for every counter store. */
export const MAX_LIMIT_USD = 1e9;
const usdOrFn = z.union([z.number().nonnegative().max(MAX_LIMIT_USD), z.function()]);
const modelRef = z.string().min(1);

export const optionsSchema = z
  .object({
    tasks: z.record(z.string().min(1), policySchema).default({}),
    defaultTask: policySchema.optional(),
    summarizer: summarizerSchema.optional(),
    limits: z
      .array(
        z
          .object({
            scope: z.union([
              z.enum(["tenant", "user"]),
              z
                .object({
                  name: z.string().regex(/^[a-z0-9_-]+$/i, "a scope name is letters, digits, '-' or '_'"),
                  id: z.function(),
                })
                .strict(),
            ]),
            window: z.union([
              z.enum(["day", "month"]),
              z
                .object({
                  rollingHours: z
                    .number()
                    .positive()
                    .max(24 * 366),
                })
                .strict(),
            ]),
            limitUsd: usdOrFn,
            softLimitUsd: usdOrFn.optional(),
          })
          .strict()
          .refine(
            (l) =>
              typeof l.limitUsd !== "number" ||
              typeof l.softLimitUsd !== "number" ||
              l.softLimitUsd <= l.limitUsd,
            { message: "must be at most limitUsd", path: ["softLimitUsd"] },
          ),
      )
      .default([]),
    counters: z
      .custom<SpendCounters>(
        (c) =>
          typeof (c as SpendCounters)?.reserve === "function" &&
          typeof (c as SpendCounters)?.settle === "function" &&
          typeof (c as SpendCounters)?.status === "function",
        "expected SpendCounters such as memoryCounters() or redisCounters({ client })",
      )
      .optional(),
    timeZone: timeZoneSchema.default("UTC"),
    onStoreError: z.enum(["fail-closed", "fail-open"]).default("fail-closed"),
    storeTimeoutMs: z.number().int().positive().default(1_000),
    storeRetryMs: z.number().int().nonnegative().default(1_000),
    holdTtlMs: z.number().int().positive().default(600_000),
    defaultMaxOutputTokens: tokensCount.default(4_096),
    reserveInput: z.enum(["upper-bound", "estimate"]).default("upper-bound"),
    ceilingPriceUsdPerMTok: z
      .object({ input: z.number().nonnegative().finite(), output: z.number().nonnegative().finite() })
      .strict()
      .optional(),
    priceAutoAs: modelRef.optional(),
    degrade: z.object({ model: modelRef }).strict().optional(),
    shrinkOutput: z.object({ minTokens: tokensCount }).strict().optional(),
    tokens: z
      .custom<TokenEstimator>(
        (t) =>
          typeof (t as TokenEstimator)?.estimateRequest === "function" &&
          typeof (t as TokenEstimator)?.upperBound === "function",
        "expected a TokenEstimator (tokenEstimator())",
      )
      .optional(),
  })
  .strict()
  .superRefine((o, issues) => {
    const policies = [...Object.entries(o.tasks), ...(o.defaultTask ? [["", o.defaultTask] as const] : [])];
    for (const [task, policy] of policies) {
      if (policy.overflow === "summarize" && !o.summarizer) {
        issues.addIssue({
          code: "custom",
          message: 'overflow "summarize" needs the summarizer option ({ model })',
          path: task === "" ? ["defaultTask", "overflow"] : ["tasks", task, "overflow"],
        });
      }
    }
  });

export type ResolvedOptions = z.output<typeof optionsSchema>;
export type ResolvedPolicy = z.output<typeof policySchema>;
