/**
 * Ranking metrics with binary judgements, over the documents a ranked list of chunks reaches: a document
 * counts once, at the rank of its first chunk (as `group_by` with one hit a group would show it).
 */

/** The first `k` distinct documents of a ranked list of chunks, in order. */
export function firstDocuments(
  rankedChunks: readonly string[],
  documentOf: (chunkId: string) => string,
  k: number,
): string[] {
  const seen = new Set<string>();
  const documents: string[] = [];
  for (const chunkId of rankedChunks) {
    const document = documentOf(chunkId);
    if (seen.has(document)) continue;
    seen.add(document);
    documents.push(document);
    if (documents.length === k) break;
  }
  return documents;
}

/**
 * nDCG@k with binary gains: the sum of 1 / log2(rank + 1) over the relevant documents among the first k,
 * divided by the same sum for an ideal list (every relevant document first). 0 when nothing is relevant.
 */
export function ndcgAt(ranked: readonly string[], relevant: ReadonlySet<string>, k: number): number {
  let dcg = 0;
  for (const [i, document] of ranked.slice(0, k).entries()) {
    if (relevant.has(document)) dcg += 1 / Math.log2(i + 2);
  }
  let ideal = 0;
  for (let i = 0; i < Math.min(k, relevant.size); i++) ideal += 1 / Math.log2(i + 2);
  return ideal === 0 ? 0 : dcg / ideal;
}

/** recall@k: the share of the relevant documents among the first k. 0 when nothing is relevant. */
export function recallAt(ranked: readonly string[], relevant: ReadonlySet<string>, k: number): number {
  if (relevant.size === 0) return 0;
  let found = 0;
  for (const document of ranked.slice(0, k)) if (relevant.has(document)) found += 1;
  return found / relevant.size;
}
