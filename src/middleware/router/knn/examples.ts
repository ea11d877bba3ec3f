import { createHash } from "node:crypto";
import { z } from "zod";
import type { CostRecord } from "../../../core/cost-record.js";
import { describeZodError } from "../../../core/errors.js";
import type { KnnExample } from "./train.js";

/**
 * One line of a routing data file (the format of
 * `../shared/data/routing/*.jsonl`): a prompt and how each model did on it.
 *
 * ```json
 * {"id": "mmlu-anatomy-3", "source": "mmlu", "prompt": "...",
 *  "outcomes": {"mixtral-8x7b-instruct": {"correct": true}, "gpt-4-1106-preview": {"correct": true, "response": "..."}}}
 * ```
 */
export interface RoutingRecord {
  id: string;
  /** Where the prompt comes from (a benchmark, a task): evaluations report by source. */
  source?: string;
  subject?: string;
  prompt: string;
  /** By model name: whether its answer was correct, and the answer when recorded. */
  outcomes: Record<string, { correct: boolean; response?: string }>;
}

const recordSchema = z.object({
  id: z.union([z.string().min(1), z.number()]).transform(String),
  source: z.string().optional(),
  subject: z.string().optional(),
  prompt: z.string(),
  outcomes: z
    .record(z.string().min(1), z.looseObject({ correct: z.boolean(), response: z.string().optional() }))
    .refine((o) => Object.keys(o).length > 0, "at least one model's outcome"),
});

/** Parses routing data (JSON Lines); an invalid line throws an error that names it and the field. */
export function parseRoutingJsonl(text: string, origin = "data"): RoutingRecord[] {
  const records: RoutingRecord[] = [];
  let line = 0;
  for (const raw of text.split("\n")) {
    line++;
    if (raw.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new Error(`${origin}:${line}: not JSON (${(error as Error).message})`);
    }
    const parsed = recordSchema.safeParse(value);
    if (!parsed.success) {
      throw new Error(`${origin}:${line}: ${describeZodError(parsed.error, "record").join("; ")}`);
    }
    records.push(parsed.data as RoutingRecord);
  }
  return records;
}

export interface RoutingExampleOptions {
  /** The models to label, as named in `outcomes`. Default: every model of the first record. */
  models?: readonly string[];
  /**
   * Output tokens of a record whose outcomes hold no response. Default 1:
   * the routing data records responses for GSM8K only, and an MMLU answer
   * is a single letter. Responses that are recorded count characters / 4.
   */
  assumedOutputTokens?: number;
}

/**
 * kNN examples from routing records: a model is good enough where it was
 * correct (and every model is where none was, see {@link KnnExample}).
 */
export function examplesFromRouting(
  records: readonly RoutingRecord[],
  options: RoutingExampleOptions = {},
): KnnExample[] {
  const models = options.models ?? Object.keys(records[0]?.outcomes ?? {});
  const assumed = options.assumedOutputTokens ?? 1;
  return records.map((r) => {
    const goodEnough = models.filter((m) => r.outcomes[m]?.correct === true);
    const responses = models.flatMap((m) => {
      const text = r.outcomes[m]?.response;
      return text === undefined ? [] : [text.length / 4];
    });
    const outputTokens = responses.length ? responses.reduce((a, b) => a + b, 0) / responses.length : assumed;
    return { prompt: r.prompt, goodEnough, outputTokens };
  });
}

/**
 * Splits records into a training part (about `fraction` of them) and the
 * rest, by a hash of each record's id and `seed`: the same record always
 * lands on the same side, whatever the order or the other records.
 */
export function splitRecords<T extends { id: string }>(
  records: readonly T[],
  fraction: number,
  seed: number,
): { train: T[]; rest: T[] } {
  const train: T[] = [];
  const rest: T[] = [];
  for (const r of records) {
    const h = createHash("sha1").update(`${seed}:${r.id}`).digest().readUInt32LE(0);
    (h / 2 ** 32 < fraction ? train : rest).push(r);
  }
  return { train, rest };
}

export interface LedgerFeedbackOptions {
  /**
   * The host's verdict on a record: the names of the models (as in the
   * kNN model's `models`, e.g. tier models) that were good enough for the
   * request, `[]` when none was, or `undefined` to leave the record out.
   */
  label: (record: CostRecord) => readonly string[] | undefined;
  /**
   * The prompt of a record. Default: the text of the last user message in
   * `record.prompt`, which the cost tracker keeps only with `storePrompts: true`.
   */
  prompt?: (record: CostRecord) => string | undefined;
}

/**
 * kNN examples from the cost ledger and the host's feedback on answers, to
 * retrain the router on real traffic. Records without a prompt or a label
 * are left out. Note the bias of such feedback: a request only tells about
 * the model that answered it, so label what you know (e.g. a cheap answer
 * judged good: `[cheap, strong]`; judged bad: `[strong]`).
 */
export function examplesFromLedger(
  records: Iterable<CostRecord>,
  options: LedgerFeedbackOptions,
): KnnExample[] {
  const promptOf = options.prompt ?? storedPrompt;
  const out: KnnExample[] = [];
  for (const record of records) {
    const goodEnough = options.label(record);
    const prompt = goodEnough && promptOf(record);
    if (!goodEnough || !prompt) continue;
    const output = record.usage.outputTokens;
    out.push({ prompt, goodEnough, ...(output > 0 && { outputTokens: output }) });
  }
  return out;
}

function storedPrompt(record: CostRecord): string | undefined {
  const messages = (record.prompt as { messages?: unknown } | undefined)?.messages;
  if (!Array.isArray(messages)) return undefined;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: string; content?: unknown };
    if (m?.role !== "user") continue;
    if (typeof m.content === "string") return m.content;
    if (Array.isArray(m.content)) {
      return m.content
        .flatMap((p: { type?: string; text?: unknown }) =>
          p?.type === "text" && typeof p.text === "string" ? [p.text] : [],
        )
        .join("\n");
    }
    return undefined;
  }
  return undefined;
}
