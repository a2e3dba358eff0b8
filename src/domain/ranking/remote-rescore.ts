/**
 * Exact top-k when the float32 vectors are not in process: scan the int8 codes, fetch the float32
 * vectors of the candidates only (from wherever they live), re-score them exactly, and prove with the
 * bound of int8-codes.ts that no row outside the candidates could enter the top k. When the proof
 * fails, ask the scan for four times as many candidates and fetch only the new ones. The answer is the
 * float32 exact answer: same rows, same order (ties by id), the same float64 scores.
 */
import {
  type Int8TopScan,
  initialSlack,
  MAX_EXACT_DIMENSION,
  type QuantisedMatrix,
  quantiseQuery,
} from './int8-codes';
import { dotRow, type ScoredRef, TopKSelector } from './scoring';

/** The float32 vectors (candidate i at i · dimension) and ids of the rows asked, in the order asked. */
export type FetchedRows = { vectors: Float32Array; ids: string[] };

/** Fetches rows' float32 vectors and ids; null when they can no longer be fetched at the scanned version. */
export type RowFetcher = (rows: readonly number[]) => Promise<FetchedRows | null>;

/** The proven top k (rows as refs, best first) and how much it fetched. */
export type RemoteTopK = { hits: ScoredRef<number>[]; fetched: number; widenings: number };

export type RemoteTopKOptions = {
  k: number;
  scoreThreshold?: number;
  /** 1 for rows that hold a chunk (absent: all do). Rows with 0 are never fetched nor returned. */
  liveMask?: Uint8Array;
  /** Candidates beyond 2k in the first scan (default 0.3·√rows); tests set 0 to force widening. */
  initialSlack?: number;
};

/**
 * The exact top k of the live rows of `matrix` for `unitQuery`, or null when the proof would need every
 * row (or the dimension is too large for exact integer dots), or `fetch` returned null: the caller then
 * answers from the whole float32 data. `scan` must be given codes starting at offset 0.
 */
export async function remoteTopK(
  scan: Int8TopScan,
  matrix: QuantisedMatrix,
  unitQuery: Float64Array,
  fetch: RowFetcher,
  options: RemoteTopKOptions,
): Promise<RemoteTopK | null> {
  const { k, liveMask } = options;
  const { dimension, rowCount } = matrix;
  if (dimension > MAX_EXACT_DIMENSION || rowCount === 0 || k <= 0) return null;
  const threshold = options.scoreThreshold ?? Number.NEGATIVE_INFINITY;
  const queryCodes = new Int8Array(dimension);
  const bound = quantiseQuery(matrix, unitQuery, queryCodes);
  let live = rowCount;
  if (liveMask !== undefined) for (let row = 0; row < rowCount; row++) live -= liveMask[row] === 0 ? 1 : 0;
  // Free rows take candidate places too: ask for proportionally more.
  let wanted = Math.ceil(
    (2 * k + (options.initialSlack ?? initialSlack(live))) * (rowCount / Math.max(1, live)),
  );
  const selector = new TopKSelector<number>(k);
  const scored = new Set<number>();
  let qualifying = 0;
  let fetched = 0;
  for (let widenings = 0; ; widenings++) {
    if (wanted >= rowCount) return null;
    const found = scan(matrix.codes, queryCodes, dimension, wanted);
    const ask: number[] = [];
    for (let i = 0; i < wanted; i++) {
      const row = found.rows[i] as number;
      if ((liveMask === undefined || liveMask[row] !== 0) && !scored.has(row)) ask.push(row);
    }
    const rows = await fetch(ask);
    if (rows === null) return null;
    fetched += ask.length;
    for (let i = 0; i < ask.length; i++) {
      const row = ask[i] as number;
      scored.add(row);
      const score = dotRow(rows.vectors, i * dimension, unitQuery, dimension);
      if (score < threshold) continue;
      qualifying++;
      if (selector.mightAccept(score)) selector.offer(score, rows.ids[i] as string, row);
    }
    const top = selector.sorted();
    // Every live row the scan left out has an integer dot of at most the last candidate's, so an exact
    // score of at most this; strictly below the bar, not even a tie broken by id lets one in.
    const bar = qualifying >= k ? (top[k - 1] as ScoredRef<number>).score : threshold;
    const outsideAtMost = (found.dots[wanted - 1] as number) * bound.invScale + bound.error;
    if (outsideAtMost < bar) return { hits: top, fetched, widenings };
    wanted *= 4;
  }
}
