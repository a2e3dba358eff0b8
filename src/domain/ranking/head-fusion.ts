/**
 * What the threshold algorithm's fusions share (threshold-fusion.ts for weighted, rrf-from-scan.ts for
 * rrf): the input they read, the counts they keep, the sizes they start from, and where a row ranks on
 * the vector side, estimated from a sample.
 */

import type { RowList, ScoredRef, TopKSelector, VectorScans } from './scoring';

/** The exact best `k` candidates for a unit query, best first, ties by ascending id; null: not available. */
export type VectorHead = (unitQuery: Float64Array, k: number) => ScoredRef<number>[] | null;

/** A hybrid query's candidates as the threshold algorithm reads them. */
export type HeadFusionInput = {
  unitQuery: Float64Array;
  /** How many rows pass the filter. */
  candidateCount: number;
  /** How many rows there are (candidates and not). */
  rowCount: number;
  /** Row i is a candidate when mask is absent or mask[i] !== 0. */
  mask: Uint8Array | undefined;
  /** BM25 per row (0: no query term). */
  bm25: Float64Array;
  /** The candidate rows with a positive BM25. */
  matched: RowList;
  idOf: (row: number) => string;
  /** The exact cosine of one row (the function every path scores with). */
  cosineOf: (row: number) => number;
  head: VectorHead;
  /**
   * The best `wanted` candidates of an approximate scan (RRF's ranks), with `withBottom` also those of
   * the negated query when the kernel reads both in one pass; absent or null: not available.
   */
  scan?: (unitQuery: Float64Array, wanted: number, withBottom?: boolean) => VectorScans | null;
};

/**
 * How often the proof held at once, read a wider head, or gave up, how often it gave up because the match
 * holding it up was shown to rank below every head left, and how many of those that gave up a dense pass
 * answered (the others score every row).
 */
export type HeadFusionStats = {
  searches: number;
  widened: number;
  widenings: number;
  fellBack: number;
  outranked: number;
  dense: number;
};

export function emptyHeadFusionStats(): HeadFusionStats {
  return { searches: 0, widened: 0, widenings: 0, fellBack: 0, outranked: 0, dense: 0 };
}

/** The fused top `keep` (rows best first) with each row's cosine and fused score. */
export type HeadFusion = { rows: number[]; vector: Float64Array; fused: Float64Array };

/** Rows beyond `keep` in the first head (weighted) or each side's first top (rrf). */
export const HEAD_SLACK = 16;
/** A head or scan wider than this share of the candidates costs about what scoring every candidate does. */
export const LARGEST_HEAD_SHARE = 1 / 8;
/**
 * Candidates sampled to estimate a keyword match's vector rank (estimateVectorRank): about 0.4 ms of
 * exact cosines at 384-d, against a scan of 100k rows that costs 1.5 ms. The estimate's spread, about
 * √(rank · (1 − rank / candidates) · candidates / RANK_SAMPLE), is covered by DEEP_HEAD_MARGIN.
 */
export const RANK_SAMPLE = 1024;
/** Rows scanned per row ranked exactly on the vector side, before any estimate asks for more. */
export const SCAN_PER_RANKED = 4;

/**
 * About how many candidates score strictly above `row` on the vector side: the share of an evenly spread
 * sample of at most RANK_SAMPLE candidates that does, times the candidates. An estimate that only picks
 * which head to read (a head that turns out too short is widened, and only a proven top is returned).
 */
export function estimateVectorRank(
  input: Pick<HeadFusionInput, 'rowCount' | 'candidateCount' | 'mask' | 'cosineOf'>,
  row: number,
): number {
  const { rowCount, candidateCount, mask } = input;
  // Positions spread over every row; a filter leaves about candidateCount / rowCount of them to score.
  const spread = Math.ceil((RANK_SAMPLE * rowCount) / Math.max(1, candidateCount));
  const sample = Math.min(rowCount, spread);
  const x = input.cosineOf(row);
  let above = 0;
  let seen = 0;
  for (let j = 0; j < sample; j++) {
    const other = Math.floor((j * rowCount) / sample);
    if (mask !== undefined && mask[other] === 0) continue;
    seen++;
    if (input.cosineOf(other) > x) above++;
  }
  return seen === 0 ? 0 : (above / seen) * candidateCount;
}

/** The fused top the selector holds, with each row's cosine. */
export function result(selector: TopKSelector<number>, cosine: Map<number, number>): HeadFusion {
  const hits = selector.sorted();
  return {
    rows: hits.map((hit) => hit.ref),
    vector: Float64Array.from(hits, (hit) => cosine.get(hit.ref) as number),
    fused: Float64Array.from(hits, (hit) => hit.score),
  };
}
