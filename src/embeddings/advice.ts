/**
 * What an embedder may tell the semantic cache about itself. Both are
 * optional: a host's own embedder needs neither (the cache then asks for an
 * explicit `threshold`).
 */
export interface EmbedderAdvice {
  /**
   * The cosine similarity, in (0, 1], at which the semantic cache serves a
   * hit when the host sets no `threshold`. Each built-in figure is measured
   * with `frugal eval cache` (or, where it could not be, says so) in
   * docs/embeddings.md.
   */
  readonly recommendedThreshold?: number;
  /**
   * The vectors compare words, not meanings (`localEmbedder`). The semantic
   * cache then also requires the same content words and the same person
   * addressed (`lexicalGuards`), since the embedder cannot tell a synonym
   * from another subject.
   */
  readonly lexical?: boolean;
}
