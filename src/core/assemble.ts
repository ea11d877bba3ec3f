import type { FinishReason, OutputPart, StreamEvent, Usage } from "./completion.js";
import { emptyUsage, outputChars } from "./completion.js";
import type { ReasoningPart, ToolCallPart } from "./request.js";

/**
 * Builds the final answer from canonical stream events, so a streamed call
 * ends with the same completion a non-streamed one returns.
 */
export class StreamAssembler {
  id = "";
  model = "";
  provider = "";
  readonly content: OutputPart[] = [];
  refusal: string | undefined;
  finishReason: FinishReason | undefined;
  usage: Usage | undefined;
  partialUsage: Usage | undefined;
  /** Events seen, for telling "cut before anything" from "cut mid-answer". */
  count = 0;
  readonly #toolCalls = new Map<number, ToolCallPart>();

  add(event: StreamEvent): void {
    this.count++;
    switch (event.type) {
      case "start":
        this.id = event.id;
        this.model = event.model;
        this.provider = event.provider;
        break;
      case "text-delta": {
        const last = this.content.at(-1);
        if (last?.type === "text") last.text += event.text;
        else this.content.push({ type: "text", text: event.text });
        break;
      }
      case "reasoning-delta": {
        let last = this.content.at(-1);
        // A redacted block stands alone, and a signature closes a thinking block: what follows is another.
        if (
          last?.type !== "reasoning" ||
          event.redacted !== undefined ||
          last.redacted !== undefined ||
          last.signature !== undefined
        ) {
          last = { type: "reasoning", text: "" } satisfies ReasoningPart;
          this.content.push(last);
        }
        last.text += event.text;
        if (event.signature !== undefined) last.signature = event.signature;
        if (event.redacted !== undefined) last.redacted = event.redacted;
        break;
      }
      case "refusal-delta":
        this.refusal = (this.refusal ?? "") + event.text;
        break;
      case "tool-call-delta": {
        let call = this.#toolCalls.get(event.index);
        if (!call) {
          call = { type: "tool-call", id: event.id ?? "", name: event.name ?? "", arguments: "" };
          this.#toolCalls.set(event.index, call);
          this.content.push(call);
        }
        if (event.id) call.id = event.id;
        if (event.name) call.name = event.name;
        call.arguments += event.argumentsDelta;
        break;
      }
      case "usage":
        this.partialUsage = event.usage;
        break;
      case "finish":
        this.finishReason = event.finishReason;
        this.usage = event.usage;
        break;
    }
  }

  /** True once the stream delivered its finish event. */
  get finished(): boolean {
    return this.finishReason !== undefined;
  }

  /**
   * Usage so far. Without the finish, it is what the provider reported early
   * (if anything) plus the output received, estimated and flagged as such:
   * a stream cut short was still billed, so it is never charged $0.
   */
  usageSoFar(estimateInputTokens: () => number): Usage {
    if (this.usage) return this.usage;
    const reported = this.partialUsage;
    const receivedOutput = Math.ceil(outputChars(this.content, this.refusal) / 4);
    return {
      ...(reported ?? { ...emptyUsage(), inputTokens: estimateInputTokens() }),
      outputTokens: Math.max(reported?.outputTokens ?? 0, receivedOutput),
      estimated: true,
    };
  }
}
