/**
 * What a model can take: the router's hard constraints are checked against
 * it before any policy runs, so a request is never sent to a model that
 * cannot serve it (a 150k-token prompt to a 128k model, tools to a model
 * without tool calling, an image to a text-only model).
 */
export interface ModelCapabilities {
  /** Tokens of input and output together. */
  contextWindow: number;
  /** The most input tokens, when lower than the context window allows (GPT-5: 272k of 400k). */
  maxInputTokens?: number;
  /** The most output tokens one answer may ask for (`maxOutputTokens`). */
  maxOutputTokens: number;
  /** Tool (function) calling. */
  tools: boolean;
  /** Image input. */
  vision: boolean;
  /** Structured output: `responseFormat` json or json-schema. */
  json: boolean;
}

/**
 * Built-in capabilities of common models, matched by the longest prefix of
 * the model name (`gpt-4o-mini-2024-07-18` → `gpt-4o-mini`). Sources, as
 * of 2025-11: OpenAI's model pages (platform.openai.com/docs/models, the
 * context window, max output tokens and "Features" of each model) and
 * Anthropic's models overview (docs.anthropic.com/en/docs/about-claude/models,
 * context window and max output; vision for every Claude 3 and later model;
 * structured outputs for the 4.1, 4.5 and 4.6 models, docs "Structured outputs"; 128k output for
 * Opus 4.6).
 * A host overrides or adds entries with the router's `catalog` option.
 */
export const BUILT_IN_CATALOG: Readonly<Record<string, ModelCapabilities>> = {
  // OpenAI
  "gpt-5": {
    contextWindow: 400_000,
    maxInputTokens: 272_000,
    maxOutputTokens: 128_000,
    tools: true,
    vision: true,
    json: true,
  },
  // The chat snapshot is not GPT-5's limits: 128k. Its tool and structured-output support is reported
  // inconsistently, so it is assumed absent (a request needing them goes to another tier).
  "gpt-5-chat": { contextWindow: 128_000, maxOutputTokens: 16_384, tools: false, vision: true, json: false },
  "gpt-4.1": { contextWindow: 1_047_576, maxOutputTokens: 32_768, tools: true, vision: true, json: true },
  "gpt-4o": { contextWindow: 128_000, maxOutputTokens: 16_384, tools: true, vision: true, json: true },
  "chatgpt-4o": { contextWindow: 128_000, maxOutputTokens: 16_384, tools: false, vision: true, json: false },
  "gpt-4-turbo": { contextWindow: 128_000, maxOutputTokens: 4_096, tools: true, vision: true, json: true },
  // An alias of gpt-4-0125-preview, without vision (unlike gpt-4-turbo, 2024-04-09).
  "gpt-4-turbo-preview": {
    contextWindow: 128_000,
    maxOutputTokens: 4_096,
    tools: true,
    vision: false,
    json: true,
  },
  "gpt-4-1106-preview": {
    contextWindow: 128_000,
    maxOutputTokens: 4_096,
    tools: true,
    vision: false,
    json: true,
  },
  "gpt-4-0125-preview": {
    contextWindow: 128_000,
    maxOutputTokens: 4_096,
    tools: true,
    vision: false,
    json: true,
  },
  "gpt-4": { contextWindow: 8_192, maxOutputTokens: 8_192, tools: true, vision: false, json: false },
  "gpt-3.5-turbo": { contextWindow: 16_385, maxOutputTokens: 4_096, tools: true, vision: false, json: true },
  o1: { contextWindow: 200_000, maxOutputTokens: 100_000, tools: true, vision: true, json: true },
  "o1-preview": { contextWindow: 128_000, maxOutputTokens: 32_768, tools: false, vision: false, json: false },
  "o1-mini": { contextWindow: 128_000, maxOutputTokens: 65_536, tools: false, vision: false, json: false },
  o3: { contextWindow: 200_000, maxOutputTokens: 100_000, tools: true, vision: true, json: true },
  "o3-mini": { contextWindow: 200_000, maxOutputTokens: 100_000, tools: true, vision: false, json: true },
  "o4-mini": { contextWindow: 200_000, maxOutputTokens: 100_000, tools: true, vision: true, json: true },
  // Anthropic
  "claude-opus-4-6": {
    contextWindow: 200_000,
    maxOutputTokens: 128_000,
    tools: true,
    vision: true,
    json: true,
  },
  "claude-sonnet-4-6": {
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    tools: true,
    vision: true,
    json: true,
  },
  "claude-opus-4-5": {
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    tools: true,
    vision: true,
    json: true,
  },
  "claude-opus-4-1": {
    contextWindow: 200_000,
    maxOutputTokens: 32_000,
    tools: true,
    vision: true,
    json: true,
  },
  "claude-opus-4": {
    contextWindow: 200_000,
    maxOutputTokens: 32_000,
    tools: true,
    vision: true,
    json: false,
  },
  "claude-sonnet-4-5": {
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    tools: true,
    vision: true,
    json: true,
  },
  "claude-sonnet-4": {
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    tools: true,
    vision: true,
    json: false,
  },
  "claude-haiku-4-5": {
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    tools: true,
    vision: true,
    json: true,
  },
  "claude-3-7-sonnet": {
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    tools: true,
    vision: true,
    json: false,
  },
  "claude-3-5-sonnet": {
    contextWindow: 200_000,
    maxOutputTokens: 8_192,
    tools: true,
    vision: true,
    json: false,
  },
  "claude-3-5-haiku": {
    contextWindow: 200_000,
    maxOutputTokens: 8_192,
    tools: true,
    vision: true,
    json: false,
  },
  "claude-3-opus": { contextWindow: 200_000, maxOutputTokens: 4_096, tools: true, vision: true, json: false },
  "claude-3-haiku": {
    contextWindow: 200_000,
    maxOutputTokens: 4_096,
    tools: true,
    vision: true,
    json: false,
  },
};

/**
 * A model's capabilities: the host's entry for the exact ref
 * (`"openai:gpt-4o"`) or the bare model name, laid over the built-in entry
 * of the longest matching prefix. `undefined` when a field is known nowhere.
 */
export function capabilitiesOf(
  ref: string,
  host: Readonly<Record<string, Partial<ModelCapabilities>>> = {},
): ModelCapabilities | undefined {
  const colon = ref.indexOf(":");
  const model = (colon >= 0 ? ref.slice(colon + 1) : ref).toLowerCase();
  let builtIn: ModelCapabilities | undefined;
  let longest = -1;
  for (const [prefix, caps] of Object.entries(BUILT_IN_CATALOG)) {
    if (prefix.length > longest && startsWithName(model, prefix)) {
      builtIn = caps;
      longest = prefix.length;
    }
  }
  const merged = { ...builtIn, ...host[model], ...host[ref] } as Partial<ModelCapabilities>;
  const complete =
    typeof merged.contextWindow === "number" &&
    typeof merged.maxOutputTokens === "number" &&
    typeof merged.tools === "boolean" &&
    typeof merged.vision === "boolean" &&
    typeof merged.json === "boolean";
  return complete ? (merged as ModelCapabilities) : undefined;
}

/**
 * `gpt-4o-mini-2024-07-18` starts with the name `gpt-4o-mini` (and `gpt-4o`);
 * `gpt-4.5` does not start with `gpt-4`, nor `claude-sonnet-4-6` with
 * `claude-sonnet-4`: a short number after the name is another version of
 * the model, whose capabilities are not guessed (a date is 4 digits or more).
 */
function startsWithName(model: string, prefix: string): boolean {
  if (!model.startsWith(prefix)) return false;
  const next = model.charAt(prefix.length);
  if (next === "" || next === "@") return true;
  return next === "-" && !/^-\d{1,3}(?:$|[-@])/.test(model.slice(prefix.length));
}
