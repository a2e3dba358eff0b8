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
  const byVector = ranksOf(vector, ids);
  for (let i = 0; i < n; i++) fused[i] = 1 / (fusion.k + (byVector[i] as number));
  // Only chunks that match a term are in the keyword ranking (they rank above every score of 0).
  const matched: number[] = [];
  for (let i = 0; i < n; i++) if ((keyword[i] as number) > 0) matched.push(i);
  const byKeyword = ranksOf(
    matched.map((i) => keyword[i] as number),
    (j) => ids(matched[j] as number),
  );
  matched.forEach((i, j) => {
    fused[i] = (fused[i] as number) + 1 / (fusion.k + (byKeyword[j] as number));
  });
  return fused;
}
