import type { Message, UserMessage } from "../../core/request.js";

/**
 * A conversation cut into turns: each turn is a user message and everything
 * that followed it up to the next user message (the assistant's replies, its
 * tool calls and their results). Dropping or summarizing whole turns from the
 * front therefore never separates a tool call from its result, never touches
 * the last user turn (the last element), and leaves a history that starts
 * with a user message. Messages before the first user message form a turn
 * of their own. Concatenating the turns gives the messages back.
 */
export function splitTurns(messages: readonly Message[]): Message[][] {
  const turns: Message[][] = [];
  for (const message of messages) {
    if (message.role === "user" || turns.length === 0) turns.push([message]);
    else turns.at(-1)!.push(message);
  }
  return turns;
}

/** The first line of a summary message, so that people and tests can tell it from the caller's own turns. */
export const SUMMARY_HEADER = "Summary of the earlier part of this conversation:";

/**
 * The message that stands for summarized turns: a user message placed before
 * the kept turns (both providers accept two user messages in a row; Anthropic
 * joins them into one turn).
 */
export function summaryMessage(summary: string): UserMessage {
  return { role: "user", content: [{ type: "text", text: `${SUMMARY_HEADER}\n${summary}` }] };
}

/** Per message, at most this much text goes to the summarizer (long tool results are cut in the middle). */
const MAX_MESSAGE_CHARS = 4_000;
/** The transcript sent to the summarizer keeps at most this much, the most recent part. */
const MAX_TRANSCRIPT_CHARS = 120_000;

/**
 * Turns as plain text for the summarizer: one line per message part, tool
 * calls with their arguments, tool results with their call id, images named
 * but not sent. Bounded: a very long history keeps its most recent part.
 */
export function transcript(turns: readonly (readonly Message[])[]): string {
  const lines: string[] = [];
  for (const turn of turns) for (const message of turn) lines.push(...linesOf(message));
  let text = lines.join("\n");
  if (text.length > MAX_TRANSCRIPT_CHARS) text = `[...]\n${text.slice(text.length - MAX_TRANSCRIPT_CHARS)}`;
  return text;
}

function linesOf(message: Message): string[] {
  switch (message.role) {
    case "user":
      return [`User: ${textOf(message.content)}`];
    case "assistant":
      if (typeof message.content === "string") return [`Assistant: ${clip(message.content)}`];
      return message.content.flatMap((part) => {
        if (part.type === "text") return [`Assistant: ${clip(part.text)}`];
        if (part.type === "tool-call")
          return [`Assistant called tool ${part.name} (call ${part.id}) with ${clip(part.arguments)}`];
        return []; // earlier reasoning is not part of what was said
      });
    case "tool":
      return message.content.map(
        (r) => `Tool result for call ${r.toolCallId}${r.isError ? " (error)" : ""}: ${textOf(r.content)}`,
      );
  }
}

function textOf(content: string | readonly { type: string; text?: string }[]): string {
  if (typeof content === "string") return clip(content);
  return clip(content.map((p) => (p.type === "text" ? p.text : "[image]")).join(" "));
}

function clip(text: string): string {
  if (text.length <= MAX_MESSAGE_CHARS) return text;
  const half = MAX_MESSAGE_CHARS / 2;
  return `${text.slice(0, half)} [...] ${text.slice(text.length - half)}`;
}
