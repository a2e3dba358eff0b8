/**
 * RRF's fused top from a dense pass (`DenseScores`: every row's score within a small bound), for the
 * queries whose proof needs vector ranks deeper than an int8 scan reads: text unrelated to the vector,
 * or a best keyword match far down the vector list. It is fused-candidates.ts's RRF over a vector side
 * that re-scores only the rows whose place the bound leaves open:
 * - the best `count` rows: the count-th best approximate score a has at least `count` candidates scoring
 *   a − error or more, so every row of the exact top has an approximate score of at least a − 2·error;
 *   those few are scored exactly and ranked as fusing every candidate ranks them;
 * - a row's exact rank: `countRanksWithin`, which scores exactly only the members whose approximate
 *   score lies within the bound of an asked score.
 * The top `keep` and its three scores equal fusing every candidate, bit for bit.
 */

import {
  best,
  countRanksWithin,
  type FusedCandidates,
  type Population,
  RRF_HEAD,
  rrfCandidates,
  type VectorSide,
} from './fused-candidates';
import { type Fusion, rrfWeights } from './fusion';
import type { HeadFusionInput } from './head-fusion';
import { nthLargest } from './nth-largest';
import { type DenseScores, ScoreBuffer } from './scoring';

/** A hybrid query's candidates as the dense fusion reads them. */
export type DenseFusionInput = Pick<
  HeadFusionInput,
  'rowCount' | 'mask' | 'bm25' | 'matched' | 'idOf' | 'cosineOf'
>;

/**
 * The candidates holding RRF's fused top `keep`, with their exact scores. A head too short to prove the
 * top is read four times longer; null only when even a head of every candidate cannot (float64 cannot
 * tell 1 / (k + head) from the next rank's part), and the caller then fuses every candidate.
 */
export function rrfFromDense(
  input: DenseFusionInput,
  dense: DenseScores,
  fusion: Extract<Fusion, { method: 'rrf' }>,
  keep: number,
): FusedCandidates | null {
  const side = denseVectorSide(input, dense);
  const weights = rrfWeights(fusion);
  for (let extra = RRF_HEAD; ; extra *= 4) {
    const fused = rrfCandidates(input, side, input.matched, fusion.k, weights, keep, extra);
    if (fused !== null || keep + extra >= input.rowCount) return fused;
  }
}

function denseVectorSide(input: DenseFusionInput, dense: DenseScores): VectorSide {
  const { rowCount, mask, idOf, cosineOf } = input;
  const { approx, error } = dense;
  const known = new Map<number, number>();
  const exactOf = (row: number) => {
    let score = known.get(row);
    if (score === undefined) {
      score = cosineOf(row);
      known.set(row, score);
    }
    return score;
  };
  const everyCandidate: Population = { rows: null, count: rowCount, mask };
  return {
    best(count) {
      const values = barScratch.take(rowCount);
      let n = 0;
      for (let row = 0; row < rowCount; row++)
        if (mask === undefined || mask[row] !== 0) values[n++] = approx[row] as number;
      if (n === 0 || count < 1) return [];
      const floor = n > count ? nthLargest(values, n, count - 1) - 2 * error : Number.NEGATIVE_INFINITY;
      const contenders: number[] = [];
      const exact = exactScratch.take(rowCount);
      for (let row = 0; row < rowCount; row++) {
        if ((mask !== undefined && mask[row] === 0) || (approx[row] as number) < floor) continue;
        contenders.push(row);
        exact[row] = exactOf(row);
      }
      return best({ rows: contenders, count: contenders.length, mask: undefined }, exact, idOf, count);
    },
    ranks: (rows) => countRanksWithin(everyCandidate, dense, exactOf, idOf, rows),
    cosine: exactOf,
  };
}

/**
 * The approximate scores copied for selection, and the contenders' exact scores by row: reused across
 * queries so a warm container does not allocate (and first-touch) them per query; one per process is
 * safe because fusion is synchronous.
 */
const barScratch = new ScoreBuffer();
const exactScratch = new ScoreBuffer();
