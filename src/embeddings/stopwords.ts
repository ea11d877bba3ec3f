/**
 * English function words: articles, pronouns, auxiliaries, prepositions,
 * conjunctions and question words. The local embedder weighs them less when
 * it has no fitted IDF; the semantic cache's guards skip them when they
 * compare content words. A fixed grammatical list, not learned from data.
 */
export const STOPWORDS: ReadonlySet<string> = new Set(
  (
    "a an the this that these those some any each every all both either neither such " +
    "i me my mine myself we us our ours ourselves you your yours yourself yourselves " +
    "he him his himself she her hers herself it its itself they them their theirs themselves one ones " +
    "am is are was were be been being have has had having do does did doing done " +
    "will would shall should can could may might must ought " +
    "im ive id ill youre youve youd youll hes shes its were weve theyre theyve thats whats " +
    "of in on at by for with about against between into through during before after above below " +
    "to from up down out off over under again further then once here there " +
    "and but or nor so yet if because as until while than too very just also only even " +
    "what which who whom whose when where why how " +
    "get got getting go going gone make made much many more most other another same own " +
    "s t d ll m re ve"
  ).split(" "),
);
