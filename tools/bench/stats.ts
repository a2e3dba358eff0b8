/**
 * Order statistics and accuracy measures of the benchmark: pure functions over plain arrays.
 */

/**
 * The p-th percentile (0..100) of `samples` by linear interpolation between closest ranks
 * (the same definition as numpy's default), NaN for no samples.
 */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (Math.min(Math.max(p, 0), 100) / 100) * (sorted.length - 1);
  const below = Math.floor(rank);
  const above = Math.ceil(rank);
  const low = sorted[below] as number;
  const high = sorted[above] as number;
  return low + (high - low) * (rank - below);
}

/** Median and p95 of a set of latency samples. */
export type LatencySummary = { median: number; p95: number; samples: number };

export function summarize(samples: readonly number[]): LatencySummary {
  return { median: percentile(samples, 50), p95: percentile(samples, 95), samples: samples.length };
}

/**
 * recall@k of one result list against the exact one: the share of the exact top-k ids that the
 * result's first k ids contain. 1 when both are empty.
 */
export function recallAtK(exact: readonly string[], found: readonly string[], k: number): number {
  const truth = exact.slice(0, k);
  if (truth.length === 0) return 1;
  const got = new Set(found.slice(0, k));
  let hits = 0;
  for (const id of truth) if (got.has(id)) hits++;
  return hits / truth.length;
}

/** Mean recall@k over many queries (NaN when there are none). */
export function meanRecallAtK(
  exact: readonly (readonly string[])[],
  found: readonly (readonly string[])[],
  k: number,
): number {
  if (exact.length === 0) return Number.NaN;
  let total = 0;
  for (let i = 0; i < exact.length; i++) total += recallAtK(exact[i] ?? [], found[i] ?? [], k);
  return total / exact.length;
}

/**
 * Indices of the k rows of `vectors` (row-major, `dimension` floats a row) with the largest dot
 * product with `query`, best first, ties by lower index. Accumulates in float64: this is the
 * reference every method's answers are checked against.
 */
export function exactTopK(
  vectors: Float32Array,
  dimension: number,
  query: Float32Array,
  k: number,
): number[] {
  const rows = Math.floor(vectors.length / dimension);
  const bestIndex = new Int32Array(k);
  const bestScore = new Float64Array(k);
  let count = 0;
  for (let row = 0; row < rows; row++) {
    let dot = 0;
    const offset = row * dimension;
    for (let d = 0; d < dimension; d++) dot += (vectors[offset + d] as number) * (query[d] as number);
    if (count === k && dot <= (bestScore[k - 1] as number)) continue;
    let at = count < k ? count++ : k - 1;
    // Strictly smaller scores move down, so an equal score keeps the lower index ahead.
    while (at > 0 && (bestScore[at - 1] as number) < dot) {
      bestScore[at] = bestScore[at - 1] as number;
      bestIndex[at] = bestIndex[at - 1] as number;
      at--;
    }
    bestScore[at] = dot;
    bestIndex[at] = row;
  }
  return Array.from(bestIndex.subarray(0, count));
}
