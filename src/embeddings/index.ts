export type { EmbedderAdvice } from "./advice.js";
export { type CachedEmbedderOptions, cachedEmbedder } from "./cached.js";
export type { Embedder } from "./embedder.js";
export {
  fitLocalIdf,
  LOCAL_THRESHOLD,
  type LocalEmbedder,
  type LocalEmbedderOptions,
  type LocalIdf,
  localEmbedder,
} from "./local.js";
export {
  OPENAI_THRESHOLD,
  type OpenAIEmbedderOptions,
  type OpenAIEmbeddingsLike,
  openaiEmbedder,
} from "./openai.js";
