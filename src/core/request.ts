import { z } from "zod";

/**
 * The canonical request: one shape for every provider. Providers translate it
 * to their wire format; middleware reads and rewrites it. Every field that can
 * change an answer lives here, so a cache key built from the whole request
 * (minus `metadata`) never omits one.
 */

/** Marks the end of a cacheable prefix (Anthropic `cache_control`). */
export const cacheControlSchema = z.object({ ttl: z.enum(["5m", "1h"]).optional() }).strict();

export const textPartSchema = z
  .object({ type: z.literal("text"), text: z.string(), cacheControl: cacheControlSchema.optional() })
  .strict();

export const imagePartSchema = z
  .object({
    type: z.literal("image"),
    /** An `https:` URL or a `data:<mediaType>;base64,...` URL. */
    url: z.string().min(1),
    /** OpenAI's detail hint; ignored by Anthropic. */
    detail: z.enum(["auto", "low", "high"]).optional(),
    cacheControl: cacheControlSchema.optional(),
  })
  .strict();

export const toolCallPartSchema = z
  .object({
    type: z.literal("tool-call"),
    id: z.string().min(1),
    name: z.string().min(1),
    /** The arguments as JSON text, exactly as the model produced them. */
    arguments: z.string(),
  })
  .strict();

export const reasoningPartSchema = z
  .object({
    type: z.literal("reasoning"),
    text: z.string(),
    /** Anthropic's signature, needed to send a thinking block back. */
    signature: z.string().optional(),
    /** Anthropic redacted thinking, passed back opaque. */
    redacted: z.string().optional(),
  })
  .strict();

export const toolResultPartSchema = z
  .object({
    type: z.literal("tool-result"),
    toolCallId: z.string().min(1),
    content: z.union([z.string(), z.array(z.union([textPartSchema, imagePartSchema]))]),
    isError: z.boolean().optional(),
    cacheControl: cacheControlSchema.optional(),
  })
  .strict();

export const messageSchema = z.discriminatedUnion("role", [
  z
    .object({
      role: z.literal("user"),
      content: z.union([z.string(), z.array(z.union([textPartSchema, imagePartSchema]))]),
    })
    .strict(),
  z
    .object({
      role: z.literal("assistant"),
      content: z.union([
        z.string(),
        z.array(z.union([textPartSchema, toolCallPartSchema, reasoningPartSchema])),
      ]),
    })
    .strict(),
  z.object({ role: z.literal("tool"), content: z.array(toolResultPartSchema).min(1) }).strict(),
]);

export const toolDefinitionSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    /** JSON Schema of the arguments object. */
    parameters: z.record(z.string(), z.unknown()),
    strict: z.boolean().optional(),
    cacheControl: cacheControlSchema.optional(),
  })
  .strict();

export const toolChoiceSchema = z.union([
  z.enum(["auto", "none", "required"]),
  z.object({ type: z.literal("tool"), name: z.string().min(1) }).strict(),
]);

export const responseFormatSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }).strict(),
  z.object({ type: z.literal("json") }).strict(),
  z
    .object({
      type: z.literal("json-schema"),
      name: z.string().min(1),
      schema: z.record(z.string(), z.unknown()),
      description: z.string().optional(),
      strict: z.boolean().optional(),
    })
    .strict(),
]);

export const metadataSchema = z
  .object({
    /** Who pays and whose data this is. Caches and budgets are scoped by it. */
    tenant: z.string().min(1).optional(),
    user: z.string().min(1).optional(),
    /** What the call is for ("faq", "summarize"): policies are set per task. */
    task: z.string().min(1).optional(),
    tags: z.array(z.string()).optional(),
    /** `deferrable` work may wait for a batch API at half price. */
    priority: z.enum(["interactive", "deferrable"]).optional(),
    /** `false` forbids every cache from storing or serving this call. */
    cache: z.boolean().optional(),
  })
  .strict();

export const chatRequestSchema = z
  .object({
    /** `provider:model`, a host alias, or `auto` for a router to choose. */
    model: z.string().min(1),
    messages: z.array(messageSchema).min(1),
    system: z.union([z.string(), z.array(textPartSchema)]).optional(),
    tools: z.array(toolDefinitionSchema).optional(),
    toolChoice: toolChoiceSchema.optional(),
    responseFormat: responseFormatSchema.optional(),
    maxOutputTokens: z.number().int().positive().optional(),
    temperature: z.number().min(0).max(2).optional(),
    topP: z.number().min(0).max(1).optional(),
    stop: z.array(z.string()).max(16).optional(),
    seed: z.number().int().optional(),
    reasoning: z
      .object({
        effort: z.enum(["none", "minimal", "low", "medium", "high", "xhigh", "max"]).optional(),
        budgetTokens: z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
    stream: z.boolean().optional(),
    metadata: metadataSchema.optional(),
    /** Passed to one provider's wire params untouched (`{ openai: { logprobs: true } }`). */
    providerOptions: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  })
  .strict();

export type CacheControl = z.infer<typeof cacheControlSchema>;
export type TextPart = z.infer<typeof textPartSchema>;
export type ImagePart = z.infer<typeof imagePartSchema>;
export type ToolCallPart = z.infer<typeof toolCallPartSchema>;
export type ReasoningPart = z.infer<typeof reasoningPartSchema>;
export type ToolResultPart = z.infer<typeof toolResultPartSchema>;
export type Message = z.infer<typeof messageSchema>;
export type UserMessage = Extract<Message, { role: "user" }>;
export type AssistantMessage = Extract<Message, { role: "assistant" }>;
export type ToolMessage = Extract<Message, { role: "tool" }>;
export type ToolDefinition = z.infer<typeof toolDefinitionSchema>;
export type ToolChoice = z.infer<typeof toolChoiceSchema>;
export type ResponseFormat = z.infer<typeof responseFormatSchema>;
export type RequestMetadata = z.infer<typeof metadataSchema>;
export type ChatRequest = z.infer<typeof chatRequestSchema>;
/** What callers pass: `stream` is set by `chat()` / `stream()`. */
export type ChatRequestInput = Omit<ChatRequest, "stream">;
