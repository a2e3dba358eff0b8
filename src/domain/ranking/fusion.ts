/**
 * Fuses vector and keyword scores over the FULL candidate sets (every chunk that passed the filter), so
 * no truncation of either side can change the result. The vector side holds every candidate; the keyword
 * side only the candidates that match a query term (a chunk no term matches gets nothing from it, so a
 * query no chunk matches fuses to its vector side alone, never to a normalised empty side).
 * - `rrf`: sum over the two rankings of weight / (k + rank), rank 1 the best, each weight 1 unless given
 *   (Qdrant's weighted RRF). Rankings order by score, then ascending chunk id.
 * - `weighted`: alpha * normalised vector score + (1 - alpha) * normalised keyword score, each min-max
 *   normalised over the candidates; a side whose scores are all equal normalises to 1 when they are
 *   positive (vector: always), else 0.
 * - `dbsf` (Qdrant's distribution-based score fusion): each side's scores normalised as
 *   (x - (mean - 3 sd)) / (6 sd), with the mean and sample standard deviation of that side's scores,
 *   then summed; a side of one score, or of equal scores, normalises to 0.5.
 */

import { exactSum } from './exact-sum';

export type RrfWeights = { vector: number; keyword: number };

export type Fusion =
  | { method: 'rrf'; k: number; weights?: RrfWeights }
  | { method: 'weighted'; alpha: number }
  | { method: 'dbsf' };

export const DEFAULT_RRF_K = 60;
export const DEFAULT_FUSION: Fusion = { method: 'rrf', k: DEFAULT_RRF_K };

/** One candidate's three scores. */
export type FusedScore = { vector: number; keyword: number; fused: number };

/** Index of the first element of ascending `sorted` that is greater than `x` (or equal, with `orEqual`). */
function bound(sorted: Float64Array, x: number, orEqual: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid] as number;
    if (v < x || (!orEqual && v === x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The 1-based rank of every value (higher first, equal values by ascending id), without sorting objects:
 * one native numeric sort, then two binary searches per value; ids are compared only within runs of
 * equal values.
 */
export function ranksOf(values: ArrayLike<number>, id: (i: number) => string): Uint32Array {
  const n = values.length;
  const sorted = Float64Array.from(values).sort();
  const ranks = new Uint32Array(n);
  const ties = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const x = values[i] as number;
    const above = n - bound(sorted, x, false);
    const equal = n - above - bound(sorted, x, true);
    ranks[i] = above + 1;
    if (equal > 1) {
      const run = ties.get(x);
      if (run === undefined) ties.set(x, [i]);
      else run.push(i);
    }
  }
  for (const run of ties.values()) {
    const ids = run.map(id);
    const order = run.map((_, j) => j).sort((a, b) => ((ids[a] as string) < (ids[b] as string) ? -1 : 1));
    order.forEach((j, position) => {
      ranks[run[j] as number] = (ranks[run[j] as number] as number) + position;
    });
  }
  return ranks;
}

function normaliser(values: ArrayLike<number>, allEqualMeansOne: boolean): (x: number) => number {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const x = values[i] as number;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return normaliserOf(min, max, allEqualMeansOne);
}

/** Min-max normalisation over values whose minimum and maximum are given (see the file comment). */
export function normaliserOf(min: number, max: number, allEqualMeansOne: boolean): (x: number) => number {
  if (!(max > min)) return (x) => (allEqualMeansOne || x > 0 ? 1 : 0);
  const span = max - min;
  return (x) => (x - min) / span;
}

/**
 * DBSF's normalisation over `count` scores (`valueAt(i)`, in any order: the sums are exact, so the
 * result does not depend on it): mean and sample standard deviation, then (x - (mean - 3 sd)) / (6 sd); 0.5 for every score when there is one score or
 * the deviation is 0.
 */
export function distributionNormaliser(count: number, valueAt: (i: number) => number): (x: number) => number {
  if (count < 2) return () => 0.5;
  const mean = exactSum(count, valueAt) / count;
  const squares = exactSum(count, (i) => (valueAt(i) - mean) ** 2);
  const deviation = Math.sqrt(squares / (count - 1));
  const low = mean - 3 * deviation;
  const high = mean + 3 * deviation;
  if (!(high > low)) return () => 0.5;
  const span = high - low;
  return (x) => (x - low) / span;
}

/** The weights of a fusion's two rankings (RRF; 1 each unless given). */
export function rrfWeights(fusion: Extract<Fusion, { method: 'rrf' }>): RrfWeights {
  return fusion.weights ?? { vector: 1, keyword: 1 };
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
  // Only chunks that match a term are on the keyword side (they rank above every score of 0).
  const matched: number[] = [];
  for (let i = 0; i < n; i++) if ((keyword[i] as number) > 0) matched.push(i);
  if (fusion.method === 'dbsf') {
    const nv = distributionNormaliser(n, (i) => vector[i] as number);
    const nk = distributionNormaliser(matched.length, (j) => keyword[matched[j] as number] as number);
    for (let i = 0; i < n; i++) fused[i] = nv(vector[i] as number);
    for (const i of matched) fused[i] = (fused[i] as number) + nk(keyword[i] as number);
    return fused;
  }
  const weights = rrfWeights(fusion);
  const byVector = ranksOf(vector, ids);
  for (let i = 0; i < n; i++) fused[i] = weights.vector / (fusion.k + (byVector[i] as number));
  const byKeyword = ranksOf(
    matched.map((i) => keyword[i] as number),
    (j) => ids(matched[j] as number),
  );
  matched.forEach((i, j) => {
    fused[i] = (fused[i] as number) + weights.keyword / (fusion.k + (byKeyword[j] as number));
  });
  return fused;
}
