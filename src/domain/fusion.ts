/**
 * Fuses vector and keyword scores over the FULL candidate sets (every chunk that passed the filter), so
 * no truncation of either side can change the result.
 * - `rrf`: sum over the two rankings of 1 / (k + rank), rank 1 the best; a chunk absent from a ranking
 *   (no keyword match) gets nothing from it. Rankings order by score, then ascending chunk id.
 * - `weighted`: alpha * normalised vector score + (1 - alpha) * normalised keyword score, each min-max
 *   normalised over the candidates; a side whose scores are all equal normalises to 1 when they are
 *   positive (vector: always), else 0.
 */

export type Fusion = { method: 'rrf'; k: number } | { method: 'weighted'; alpha: number };

export const DEFAULT_RRF_K = 60;
export const DEFAULT_FUSION: Fusion = { method: 'rrf', k: DEFAULT_RRF_K };

/** One candidate's three scores. */
export type FusedScore = { vector: number; keyword: number; fused: number };

/** Candidate indices ordered by score descending, then id ascending. */
function rankOrder(candidates: number, score: (i: number) => number, id: (i: number) => string): number[] {
  const order = Array.from({ length: candidates }, (_, i) => i);
  order.sort((a, b) => {
    const sa = score(a);
    const sb = score(b);
    if (sa !== sb) return sb - sa;
    const ia = id(a);
    const ib = id(b);
    return ia < ib ? -1 : ia > ib ? 1 : 0;
  });
  return order;
}

function normaliser(values: ArrayLike<number>, allEqualMeansOne: boolean): (x: number) => number {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const x = values[i] as number;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  if (!(max > min)) return (x) => (allEqualMeansOne || x > 0 ? 1 : 0);
  const span = max - min;
  return (x) => (x - min) / span;
}

/**
 * The fused score of each candidate i (0..n-1), given its vector score, its keyword score (0 when no
 * query term matches) and its chunk id (the tie-break).
 */
export function fuseScores(
  vector: ArrayLike<number>,
  keyword: ArrayLike<number>,
  ids: (i: number) => string,
  fusion: Fusion,
): Float64Array {
  const n = vector.length;
  const fused = new Float64Array(n);
  if (fusion.method === 'weighted') {
    const nv = normaliser(vector, true);
    const nk = normaliser(keyword, false);
    for (let i = 0; i < n; i++) {
      fused[i] = fusion.alpha * nv(vector[i] as number) + (1 - fusion.alpha) * nk(keyword[i] as number);
    }
    return fused;
  }
  const byVector = rankOrder(n, (i) => vector[i] as number, ids);
  for (let r = 0; r < n; r++) fused[byVector[r] as number] = 1 / (fusion.k + r + 1);
  const byKeyword = rankOrder(n, (i) => keyword[i] as number, ids);
  for (let r = 0; r < n; r++) {
    const i = byKeyword[r] as number;
    if ((keyword[i] as number) <= 0) break;
    fused[i] = (fused[i] as number) + 1 / (fusion.k + r + 1);
  }
  return fused;
}
