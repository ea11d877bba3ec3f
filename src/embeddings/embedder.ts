import type { RequestContext } from "../core/context.js";

/**
 * Turns texts into unit-length vectors (so cosine similarity is a dot
 * product). `name` identifies the embedder and its settings: the semantic
 * cache keeps vectors of different embedders in different namespaces.
 */
export interface Embedder {
  readonly name: string;
  readonly dimensions: number;
  /**
   * One vector per text, in order. An embedder that calls a provider records
   * the call on `ctx.attempts` as a side call, so its cost is never invisible.
   */
  embed(texts: readonly string[], ctx?: RequestContext): Promise<Float32Array[]>;
}
