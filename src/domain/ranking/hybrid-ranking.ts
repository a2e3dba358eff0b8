/**
 * Ranks a keyword or hybrid query's candidates (the chunks that passed the filter) through the same
 * `Ranker` as vector search, so `limit`, `offset`, `score_threshold` and `group_by` apply to the fused
 * list. Both search sources (the snapshot and DynamoDB) call this with their own candidates, so they agree.
 */
import { type FusedScore, type Fusion, fuseScores } from './fusion';
import type { Ranked, Ranker } from './ranker';

/** The candidates (the chunks that passed the filter) as parallel arrays; candidate i is ranked as ref i. */
export type HybridCandidates = {
  ids: readonly string[];
  groups: readonly string[];
  /** Cosine similarity per candidate; null for a keyword-only query. */
  vector: Float64Array | null;
  /** BM25 per candidate (0: no query term). */
  keyword: Float64Array;
  /**
   * Fused score per candidate, when the caller computed it over a larger candidate set (see
   * `topFusedCandidates`); otherwise fusion runs over these candidates.
   */
  fused?: Float64Array;
};

/**
 * The ranked candidate indices and a function giving each one's scores. Keyword-only: candidates with a
 * positive BM25 score, ranked by it (fused = keyword). Hybrid: every candidate, ranked by the fused score.
 */
export function rankHybrid(
  candidates: HybridCandidates,
  fusion: Fusion,
  ranker: Ranker<number>,
  scoreThreshold: number | undefined,
): { ranked: Ranked<number>; scoresOf: (candidate: number) => FusedScore } {
  const { ids, groups, vector, keyword } = candidates;
  const fused =
    vector === null
      ? keyword
      : (candidates.fused ?? fuseScores(vector, keyword, (i) => ids[i] as string, fusion));
  const threshold = scoreThreshold ?? Number.NEGATIVE_INFINITY;
  for (let i = 0; i < ids.length; i++) {
    const score = fused[i] as number;
    if (vector === null && (keyword[i] as number) <= 0) continue;
    if (score < threshold) continue;
    const selector = ranker.selectorFor(groups[i] as string);
    if (selector.mightAccept(score)) selector.offer(score, ids[i] as string, i);
  }
  const ranked = ranker.finish(() => {
    throw new Error('MMR is not offered with query_text');
  }, []);
  return {
    ranked,
    scoresOf: (i) => ({
      vector: vector === null ? Number.NaN : (vector[i] as number),
      keyword: keyword[i] as number,
      fused: fused[i] as number,
    }),
  };
}
