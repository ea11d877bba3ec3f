/**
 * What the estimator needs to know about a model: which family it belongs to,
 * which BPE encoding counts its tokens (or stands in for a tokenizer that is
 * not public), the default calibration ratio, and the fixed token costs the
 * provider adds (tool-use system prompt, images).
 */

export type Encoding = "o200k_base" | "cl100k_base";

/**
 * - `openai`: the model's own public encoding, counted exactly.
 * - `anthropic`: no public tokenizer since Claude 3; a cl100k_base count
 *   times a per-model ratio, calibrated from observed usage.
 * - `other`: an unknown model; an o200k_base count times a calibrated ratio.
 */
export type ModelFamily = "openai" | "anthropic" | "other";

export interface ModelRef {
  /** The provider name the model is served by (`openai`, `anthropic`, or a host's own name). */
  readonly provider: string;
  /** The provider's model name (`gpt-4o-mini`, `claude-sonnet-4-5`). */
  readonly model: string;
}

/**
 * The bare model name: lower case, without a fine-tune wrapper
 * (`ft:gpt-4o-mini:org::id`), a path prefix (`openai/gpt-4o`) or a Bedrock
 * region and vendor prefix (`us.anthropic.claude-3-5-sonnet-...`).
 */
export function baseModelName(model: string): string {
  let m = model.trim().toLowerCase();
  if (m.startsWith("ft:")) m = m.slice(3).split(":")[0] ?? m;
  const slash = m.lastIndexOf("/");
  if (slash >= 0) m = m.slice(slash + 1);
  const vendor = m.indexOf("anthropic.");
  if (vendor >= 0) m = m.slice(vendor + "anthropic.".length);
  return m;
}

/** OpenAI models on o200k_base (GPT-4o and later, the o-series). */
const O200K =
  /^(gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|gpt-realtime|gpt-audio|gpt-image|o\d|omni-|codex-|computer-use)/;
/** OpenAI models on cl100k_base (GPT-4, GPT-3.5, the v3 and ada-002 embeddings). */
const CL100K = /^(gpt-4|gpt-3\.5|gpt-35|text-embedding-3|text-embedding-ada-002)/;

export interface ModelProfile {
  readonly family: ModelFamily;
  /** The encoding counted: the model's own for OpenAI, a stand-in otherwise. */
  readonly encoding: Encoding;
  /** Whether `encoding` is the model's own tokenizer (exact) or a stand-in. */
  readonly exact: boolean;
  /** The bare model name the rules below matched. */
  readonly base: string;
}

export function modelProfile(ref: ModelRef): ModelProfile {
  const base = baseModelName(ref.model);
  const provider = ref.provider.toLowerCase();
  if (base.startsWith("claude")) return { family: "anthropic", encoding: "cl100k_base", exact: false, base };
  if (O200K.test(base)) return { family: "openai", encoding: "o200k_base", exact: true, base };
  if (CL100K.test(base)) return { family: "openai", encoding: "cl100k_base", exact: true, base };
  if (provider.includes("anthropic"))
    return { family: "anthropic", encoding: "cl100k_base", exact: false, base };
  // An OpenAI (or Azure OpenAI deployment) name we do not know: current models use o200k_base.
  if (provider.includes("openai") || provider.includes("azure")) {
    return { family: "openai", encoding: "o200k_base", exact: false, base };
  }
  return { family: "other", encoding: "o200k_base", exact: false, base };
}

/**
 * Default Anthropic ratios: Claude tokens per cl100k_base token, before any
 * traffic is observed. Sources, for the same text:
 * - Claude 3.5 Sonnet vs GPT-4o (o200k_base, within a few percent of
 *   cl100k_base on English and code): +16% English, +21% math, +30% Python
 *   (Lavanya Gupta, "Hidden costs in AI deployment", VentureBeat, May 2025).
 *   1.2 sits in that range, leaning high because a budget would rather
 *   over-reserve.
 * - Claude Opus 4.7 has a new tokenizer that "may use roughly 1x to 1.35x as
 *   many tokens" as earlier models (Anthropic's Opus 4.7 release notes);
 *   independent measurements with the count_tokens endpoint found 1.45x on
 *   English prose and 1.13-1.3x on code. 1.2 x 1.35 ~ 1.6.
 * The first matching prefix wins; `observe()` replaces these with measured
 * ratios as traffic flows, and the `ratios` option overrides them.
 */
export const DEFAULT_ANTHROPIC_RATIOS: readonly (readonly [prefix: string, ratio: number])[] = [
  ["claude-opus-4-7", 1.6],
  ["claude", 1.2],
];

/** The ratio for a model before calibration, from `ratios` overrides (longest prefix) or the defaults. */
export function defaultRatio(profile: ModelProfile, overrides: Readonly<Record<string, number>>): number {
  let best: [number, number] | undefined;
  for (const [prefix, ratio] of Object.entries(overrides)) {
    const p = prefix.toLowerCase();
    if (profile.base.startsWith(p) && (!best || p.length > best[0])) best = [p.length, ratio];
  }
  if (best) return best[1];
  if (profile.family === "anthropic") {
    for (const [prefix, ratio] of DEFAULT_ANTHROPIC_RATIOS) if (profile.base.startsWith(prefix)) return ratio;
    return 1.2;
  }
  return 1;
}

/**
 * Chat formatting tokens, per OpenAI's cookbook ("How to count tokens with
 * tiktoken", `num_tokens_from_messages`): every message costs 3 tokens of
 * framing plus its role (one token for system, user, assistant and tool), and
 * every reply is primed with 3 more (`<|start|>assistant<|message|>`). The
 * same figures stand in for Anthropic, whose framing is not published; the
 * calibration ratio absorbs the difference.
 */
export const TOKENS_PER_MESSAGE = 3;
export const TOKENS_PER_ROLE = 1;
export const REPLY_PRIMING_TOKENS = 3;
/** Per tool call in an assistant message (name and arguments are counted as text). */
export const TOKENS_PER_TOOL_CALL = 3;
/**
 * Once per request with tools: OpenAI renders the tool list inside a
 * `namespace functions { ... }` block (reverse-engineered by hmarr/openai-chat-tokens,
 * also used by gpt-tokenizer). We count the tools' JSON, which is a few
 * tokens longer than that rendering: an estimate that errs high.
 */
export const TOOLS_OVERHEAD_TOKENS = 9;

/**
 * The system prompt Anthropic adds when a request has tools, in Claude
 * tokens (Anthropic, "Tool use: pricing"): [auto or none, any or a named tool].
 */
const ANTHROPIC_TOOL_PROMPT: readonly (readonly [prefix: string, auto: number, forced: number])[] = [
  ["claude-3-opus", 530, 281],
  ["claude-3-sonnet", 159, 235],
  ["claude-3-haiku", 264, 340],
  ["claude-3-5-haiku", 264, 340],
];
const ANTHROPIC_TOOL_PROMPT_DEFAULT = [346, 313] as const;

export function anthropicToolPromptTokens(base: string, forced: boolean): number {
  for (const [prefix, auto, tool] of ANTHROPIC_TOOL_PROMPT)
    if (base.startsWith(prefix)) return forced ? tool : auto;
  return forced ? ANTHROPIC_TOOL_PROMPT_DEFAULT[1] : ANTHROPIC_TOOL_PROMPT_DEFAULT[0];
}
