import { describeZodError, InvalidRequestError } from "./errors.js";
import { type ChatRequest, type ChatRequestInput, chatRequestSchema } from "./request.js";

/**
 * Validates a request against `chatRequestSchema`. zod is the authority: it
 * decides every rejection and writes every error message. In front of it, a
 * hand-written check accepts the common shapes without building a copy of the
 * request, which is most of zod's cost on the hot path (measured in
 * bench/overhead). The check may only say "certainly valid" or "ask zod"; a
 * test feeds both the same mutated requests to prove it never accepts what
 * zod rejects. Fields it does not know are checked by their zod sub-schema.
 */
export function validateRequest(input: ChatRequestInput, stream: boolean): ChatRequest {
  // Not `{ ...input, stream }`: on Node 20, optimized code gives an object
  // spread and then extended with a new key a hidden class of its own on every
  // call, which slows every later read of the request (bench/overhead-loopback).
  // `stream` leads, then is set again so the call's own value wins over any
  // `stream` a JavaScript caller passed.
  const request = { stream, ...input } as ChatRequest;
  request.stream = stream;
  if (isCertainlyValid(request)) return request;
  const result = chatRequestSchema.safeParse(request);
  if (result.success) return result.data;
  const issues = describeZodError(result.error, "request");
  throw new InvalidRequestError(`invalid request:\n  ${issues.join("\n  ")}`, issues);
}

const shape = chatRequestSchema.shape;
type Check = (value: unknown) => boolean;

const isString = (v: unknown): v is string => typeof v === "string";
const nonEmpty = (v: unknown) => typeof v === "string" && v.length > 0;
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const onlyKeys = (o: Record<string, unknown>, allowed: ReadonlySet<string>) => {
  for (const key in o) if (!allowed.has(key)) return false;
  return true;
};
const number =
  (min: number, max: number, integer = false): Check =>
  (v) =>
    typeof v === "number" && Number.isFinite(v) && v >= min && v <= max && (!integer || Number.isInteger(v));

const TEXT_KEYS = new Set(["type", "text"]);
const TOOL_CALL_KEYS = new Set(["type", "id", "name", "arguments"]);
const TOOL_RESULT_KEYS = new Set(["type", "toolCallId", "content"]);
const MESSAGE_KEYS = new Set(["role", "content"]);
const METADATA_KEYS = new Set(["tenant", "user", "task", "tags"]);

const textPart = (p: unknown) =>
  isRecord(p) && p.type === "text" && isString(p.text) && onlyKeys(p, TEXT_KEYS);

function message(m: unknown): boolean {
  if (!isRecord(m) || !onlyKeys(m, MESSAGE_KEYS)) return false;
  const content = m.content;
  switch (m.role) {
    case "user":
      return isString(content) || (Array.isArray(content) && content.every(textPart));
    case "assistant":
      return (
        isString(content) ||
        (Array.isArray(content) &&
          content.every(
            (p) =>
              textPart(p) ||
              (isRecord(p) &&
                p.type === "tool-call" &&
                nonEmpty(p.id) &&
                nonEmpty(p.name) &&
                isString(p.arguments) &&
                onlyKeys(p, TOOL_CALL_KEYS)),
          ))
      );
    case "tool":
      return (
        Array.isArray(content) &&
        content.length > 0 &&
        content.every(
          (p) =>
            isRecord(p) &&
            p.type === "tool-result" &&
            nonEmpty(p.toolCallId) &&
            isString(p.content) &&
            onlyKeys(p, TOOL_RESULT_KEYS),
        )
      );
    default:
      return false;
  }
}

const messages: Check = (v) => Array.isArray(v) && v.length > 0 && v.every(message);

/**
 * The request's fields and the checks for the common ones, in a Set and a
 * Map rather than looked up on objects: `key in shape` or `FAST[key]` would
 * also find `constructor`, `toString` and the rest of Object.prototype.
 */
const FIELDS: ReadonlySet<string> = new Set(Object.keys(shape));
const FAST: ReadonlyMap<string, Check> = new Map<string, Check>([
  ["system", isString],
  ["maxOutputTokens", number(1, Number.MAX_SAFE_INTEGER, true)],
  ["temperature", number(0, 2)],
  ["topP", number(0, 1)],
  ["seed", number(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, true)],
  ["stream", (v) => typeof v === "boolean"],
  [
    "metadata",
    (v) =>
      isRecord(v) &&
      onlyKeys(v, METADATA_KEYS) &&
      [v.tenant, v.user, v.task].every((s) => s === undefined || nonEmpty(s)) &&
      (v.tags === undefined || (Array.isArray(v.tags) && v.tags.every(isString))),
  ],
]);

function isCertainlyValid(request: Record<string, unknown>): boolean {
  if (!nonEmpty(request.model) || !messages(request.messages)) return false;
  for (const key in request) {
    if (!FIELDS.has(key)) return false; // zod names the unknown key
    const value = request[key];
    if (value === undefined || key === "model" || key === "messages") continue;
    const fast = FAST.get(key);
    if (fast) {
      if (!fast(value)) return false;
      continue;
    }
    if (!shape[key as keyof typeof shape].safeParse(value).success) return false;
  }
  return true;
}
