/** A labelled retrieval set: chunks (each of one document), and queries with the documents that answer them. */
export type RelevanceSet = {
  name: string;
  /** Where the documents and the judgements come from. */
  source: string;
  /** What a judgement names: a document (`page`, `file`) or one chunk (`chunk`). */
  unit: string;
  chunks: { id: string; document: string; text: string }[];
  queries: { query: string; relevant: string[] }[];
};
