import { readFileSync, statSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import {
  examplesFromRouting,
  KnnModel,
  parseRoutingJsonl,
  type RoutingRecord,
  splitRecords,
  trainKnn,
} from "../middleware/router/index.js";
import { priceRecords, ROUTING_DATA_PRICES, scorePrompts } from "../middleware/router/knn/evaluate.js";
import { promptFingerprint } from "../middleware/router/knn/model.js";
import { DEFAULT_THRESHOLDS, formatEvaluation } from "../middleware/router/knn/report.js";
import { priceBook } from "../pricing/price-book.js";

/**
 * `frugal router train` and `frugal router eval`: train the kNN router on
 * routing data (JSON lines: a prompt and each model's outcome, the format
 * of ../shared/data/routing) and print its cost-quality curve on data it
 * did not see. See docs/router.md.
 */

export const ROUTER_TRAIN_HELP = "train the kNN router on routing data (--data FILE --out MODEL)";
export const ROUTER_EVAL_HELP = "cost-quality curve of a kNN router model (--model MODEL --data FILE)";

const TRAIN_USAGE = `usage: frugal router train --data FILE --out MODEL [options]

  --data FILE          routing data, JSON lines: {"id", "source", "prompt",
                       "outcomes": {"<model>": {"correct": true|false, "response"?}}}
  --out MODEL          where to write the model (JSON)
  --weak NAME          the cheap model, as named in the outcomes (default: the cheaper
  --strong NAME        of the two by price) and the strong one
  --split F            train on this share of the records, by a hash of each id
                       (default 0.8; 1 trains on all); \`router eval\` leaves out
                       the records the model was trained on
  --seed N             the split's seed (default 1)
  --max-share X        words in more than this share of the prompts are dropped (default 0.1)
  --output-weight X    input tokens one output token is worth in cost (default 4)
  --prior-weight X     weight of the base rates in a prediction, in units of neighbour
                       similarity, or "auto" (default: fitted on the training labels)
  --output-tokens N    output tokens of a record with no recorded response (default 1:
                       the routing data's MMLU answers are one letter)`;

const EVAL_USAGE = `usage: frugal router eval --model MODEL --data FILE [options]

  --model MODEL        a model written by \`frugal router train\`
  --data FILE          routing data (JSON lines); records the model was trained on are
                       left out unless --all
  --k N                neighbours (default 20)
  --cost-weight X      weight of a prompt's relative cost in its score (default 1)
  --price NAME=REF     price the model NAME as provider:model REF (repeatable; defaults:
                       ${Object.entries(ROUTING_DATA_PRICES)
                         .map(([k, v]) => `${k}=${v}`)
                         .join(",\n                       ")})
  --output-tokens N    output tokens where no response is recorded (default 1)
  --thresholds LIST    thresholds to print, comma-separated (default 0 to 1 by 0.05)
  --quality Q          the share of the strong model's accuracy to keep (default 0.95)
  --all                evaluate every record, trained on or not`;

type Print = (line: string) => void;

export async function runRouterTrain(
  argv: readonly string[],
  print: Print = console.log,
  printError: Print = console.error,
): Promise<number> {
  let v: Record<string, string | boolean | undefined>;
  try {
    v = parseArgs({
      args: [...argv],
      options: {
        data: { type: "string" },
        out: { type: "string" },
        weak: { type: "string" },
        strong: { type: "string" },
        split: { type: "string" },
        seed: { type: "string" },
        "max-share": { type: "string" },
        "output-weight": { type: "string" },
        "prior-weight": { type: "string" },
        "output-tokens": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (error) {
    printError(`frugal router train: ${(error as Error).message}\n\n${TRAIN_USAGE}`);
    return 2;
  }
  if (v.help) {
    print(TRAIN_USAGE);
    return 0;
  }
  if (typeof v.data !== "string" || typeof v.out !== "string") {
    printError(`frugal router train: --data FILE and --out MODEL are required\n\n${TRAIN_USAGE}`);
    return 2;
  }
  const split = numberOption(v.split, 0.8);
  const seed = numberOption(v.seed, 1);
  const maxShare = numberOption(v["max-share"], 0.1);
  const outputWeight = numberOption(v["output-weight"], 4);
  const outputTokens = numberOption(v["output-tokens"], 1);
  const priorWeight =
    v["prior-weight"] === undefined || v["prior-weight"] === "auto"
      ? "auto"
      : numberOption(v["prior-weight"], 0);
  const problem = !(split > 0 && split <= 1)
    ? "--split: a share in (0, 1]"
    : !Number.isInteger(seed)
      ? "--seed: an integer"
      : !(maxShare > 0 && maxShare <= 1)
        ? "--max-share: a share in (0, 1]"
        : !(outputWeight >= 0)
          ? "--output-weight: a number >= 0"
          : !(outputTokens >= 0)
            ? "--output-tokens: a number >= 0"
            : !(priorWeight === "auto" || (priorWeight >= 0 && Number.isFinite(priorWeight)))
              ? '--prior-weight: a number >= 0 or "auto"'
              : undefined;
  if (problem) {
    printError(`frugal router train: ${problem}`);
    return 2;
  }
  try {
    const started = performance.now();
    const records = parseRoutingJsonl(readFileSync(v.data, "utf8"), v.data);
    const [weak, strong] = weakAndStrong(
      records,
      v.weak as string | undefined,
      v.strong as string | undefined,
    );
    const train = split < 1 ? splitRecords(records, split, seed).train : records;
    const model = await trainKnn(
      examplesFromRouting(train, { models: [weak, strong], assumedOutputTokens: outputTokens }),
      {
        models: [weak, strong],
        maxDocumentShare: maxShare,
        outputWeight,
        priorWeight,
        meta: {
          data: basename(v.data),
          records: records.length,
          trained: train.length,
          split,
          seed,
          weak,
          strong,
        },
      },
    );
    writeFileSync(v.out, JSON.stringify(model));
    const [pw, ps] = model.baseRates;
    print(
      `trained on ${train.length} of ${records.length} records${split < 1 ? ` (split ${split}, seed ${seed})` : ""}: ` +
        `${weak} (cheap) good enough on ${pct(pw!)}, ${strong} (strong) on ${pct(ps!)}; ` +
        `prior weight ${model.priorWeight}${priorWeight === "auto" ? " (fitted)" : ""}`,
    );
    print(
      `wrote ${v.out} (${(statSync(v.out).size / 1e6).toFixed(1)} MB, ${model.featurizer?.dimensions ?? 0} features) ` +
        `in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    return 0;
  } catch (error) {
    printError(`frugal router train: ${(error as Error).message}`);
    return 1;
  }
}

export async function runRouterEval(
  argv: readonly string[],
  print: Print = console.log,
  printError: Print = console.error,
): Promise<number> {
  let v: { [key: string]: string | boolean | string[] | undefined };
  try {
    v = parseArgs({
      args: [...argv],
      options: {
        model: { type: "string" },
        data: { type: "string" },
        k: { type: "string" },
        "cost-weight": { type: "string" },
        price: { type: "string", multiple: true },
        "output-tokens": { type: "string" },
        thresholds: { type: "string" },
        quality: { type: "string" },
        all: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (error) {
    printError(`frugal router eval: ${(error as Error).message}\n\n${EVAL_USAGE}`);
    return 2;
  }
  if (v.help) {
    print(EVAL_USAGE);
    return 0;
  }
  if (typeof v.model !== "string" || typeof v.data !== "string") {
    printError(`frugal router eval: --model MODEL and --data FILE are required\n\n${EVAL_USAGE}`);
    return 2;
  }
  const k = numberOption(v.k, 20);
  const costWeight = numberOption(v["cost-weight"], 1);
  const outputTokens = numberOption(v["output-tokens"], 1);
  const quality = numberOption(v.quality, 0.95);
  const thresholds =
    typeof v.thresholds === "string" ? v.thresholds.split(",").map(Number) : DEFAULT_THRESHOLDS;
  const priceAs: Record<string, string> = {};
  for (const entry of (v.price as string[] | undefined) ?? []) {
    const [name, ref] = entry.split("=");
    if (!name || !ref?.includes(":")) {
      printError(`frugal router eval: --price ${entry}: expected NAME=provider:model`);
      return 2;
    }
    priceAs[name] = ref;
  }
  const problem = !(Number.isInteger(k) && k >= 1 && k <= 256)
    ? "--k: an integer from 1 to 256"
    : !(costWeight >= 0)
      ? "--cost-weight: a number >= 0"
      : !(quality > 0 && quality <= 1)
        ? "--quality: a share in (0, 1]"
        : thresholds.some((t) => !Number.isFinite(t))
          ? "--thresholds: numbers separated by commas"
          : undefined;
  if (problem) {
    printError(`frugal router eval: ${problem}`);
    return 2;
  }
  try {
    const model = KnnModel.fromJSON(readFileSync(v.model, "utf8"));
    const [weak, strong] = model.models as [string, string];
    const records = parseRoutingJsonl(readFileSync(v.data, "utf8"), v.data);
    const trained = model.fingerprints();
    const evaluated = v.all ? records : records.filter((r) => !trained.has(promptFingerprint(r.prompt)));
    print(
      `evaluating ${basename(v.model)} on ${evaluated.length} of ${records.length} records` +
        (v.all ? "" : ` (${records.length - evaluated.length} seen in training left out)`),
    );
    if (evaluated.length === 0)
      throw new Error("no record left to evaluate (every one was seen in training; --all to use them)");
    const priced = await priceRecords(evaluated, {
      weak,
      strong,
      priceAs,
      assumedOutputTokens: outputTokens,
    });
    const scores = await scorePrompts(
      model,
      evaluated.map((r) => r.prompt),
      weak,
      { k, costWeight },
    );
    for (const line of formatEvaluation(priced, scores, { weak, strong, priceAs, thresholds, quality }))
      print(line);
    return 0;
  } catch (error) {
    printError(`frugal router eval: ${(error as Error).message}`);
    return 1;
  }
}

/** The two models of the data: as given, or the two of the first record ordered by price. */
function weakAndStrong(records: readonly RoutingRecord[], weak?: string, strong?: string): [string, string] {
  const names = Object.keys(records[0]?.outcomes ?? {});
  if (weak && strong) return [weak, strong];
  if (names.length !== 2) {
    throw new Error(
      `the data has ${names.length} models (${names.join(", ")}): name them with --weak and --strong`,
    );
  }
  const prices = priceBook();
  const usage = {
    inputTokens: 1e6,
    cacheReadTokens: 0,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: 1e6,
    reasoningTokens: 0,
  };
  const usd = (name: string) => {
    const ref = ROUTING_DATA_PRICES[name] ?? "";
    const colon = ref.indexOf(":");
    const cost = colon > 0 ? prices.cost(ref.slice(0, colon), ref.slice(colon + 1), usage) : undefined;
    if (!cost?.priced)
      throw new Error(`cannot tell which model is cheaper: name them with --weak and --strong`);
    return cost.usd;
  };
  const [a, b] = names as [string, string];
  const ordered: [string, string] = usd(a) <= usd(b) ? [a, b] : [b, a];
  return [
    weak ?? (ordered[0] === strong ? ordered[1] : ordered[0]),
    strong ?? (ordered[1] === weak ? ordered[0] : ordered[1]),
  ];
}

function numberOption(value: unknown, fallback: number): number {
  return typeof value === "string" ? Number(value) : fallback;
}

function pct(x: number, digits = 1): string {
  return `${(x * 100).toFixed(digits)}%`;
}
