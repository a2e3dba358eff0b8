/**
 * The top of a hybrid query's fused list from the vector side's head only (Fagin's threshold algorithm
 * over two sorted sources), so no row outside that head is scored: the vector head comes from the exact
 * top-k kernel (the native int8 scan with its proof, quantised-scan.ts), the keyword side is known
 * exactly from the postings (only matching rows score above 0).
 * - `rrf` (rrfFromScan): ranks R rows exactly on each side, the vector top R from one approximate int8
 *   scan (scan-ranks.ts, which re-scores only the rows the int8 bound leaves open) and the keyword top R
 *   from the postings' scores. A row in neither top scores at most (w_v + w_k) / (k + R + 1); when that
 *   is strictly under the keep-th fused score of the rows in either top (strictly: an equal score could
 *   still win on its id), those rows hold the fused top, and each gets both exact ranks only when its
 *   bound can reach the keep-th lower bound. The best keyword match usually belongs in the fused top, so
 *   its exact vector rank is needed: the first scan reads a 64th of the candidates (at most 2,048 rows),
 *   and when the match lies below them its rank is estimated from an evenly spread sample and one scan
 *   reaching past it is read. When that scan would exceed an eighth of the candidates the
 *   caller scores every row at once.
 * - `weighted`: the vector side's maximum is the head's best score and its minimum the best score of the
 *   negated query (the dot product of a row with -u is exactly minus its dot product with u), so the
 *   normalisers are exact. The kernel scans for both in one pass over the int8 codes when it can. A
 *   matching row outside the head gets its exact cosine when its bound (its exact keyword part plus the
 *   vector part of the head's last score) can reach the keep-th fused score; a row matching nothing must
 *   have its bound under it, or C grows.
 * - `dbsf` needs the mean and standard deviation of every candidate's cosine, summed exactly: no head
 *   gives those, so it is not offered here (the caller scores every candidate).
 * Every score is computed by the very expression `fuseScores` evaluates, so the top `keep` and its three
 * scores equal fusing every candidate, bit for bit (unit-tested against a brute-force fusion).
 */

import { keywordNormaliser } from './fused-candidates';
import { type Fusion, normaliserOf } from './fusion';
import {
  emptyHeadFusionStats,
  HEAD_SLACK,
  type HeadFusion,
  type HeadFusionInput,
  type HeadFusionStats,
  LARGEST_HEAD_SHARE,
  result,
  SCAN_PER_RANKED,
} from './head-fusion';
import { rrfFromScan, rrfScanPlan, SMALLEST_SCAN_LIMIT } from './rrf-from-scan';
import { ScanRanks } from './scan-ranks';
import { type ScoredRef, TopKSelector, type VectorScan } from './scoring';

/** A failed weighted proof widens the head once, by WIDEN. */
const WIDEN = 8;
const MAX_WIDENINGS = 1;
/** Rows weighted fusion scans at least: a 128th of the candidates, at most WEIGHTED_SCAN. */
const WEIGHTED_SCAN = 2048;
const WEIGHTED_SCAN_SHARE = 1 / 128;

/**
 * The fused top `keep` from the vector head, or null when the fusion is not offered here, the head is
 * not available, or the proof needs a head wider than LARGEST_HEAD_SHARE of the candidates.
 */
export function fuseFromHead(
  input: HeadFusionInput,
  fusion: Fusion,
  keep: number,
  stats: HeadFusionStats = emptyHeadFusionStats(),
  firstHead: number = keep + HEAD_SLACK,
  smallestScanLimit: number = SMALLEST_SCAN_LIMIT,
): HeadFusion | null {
  if (fusion.method === 'dbsf' || keep < 1) return null;
  stats.searches++;
  // The head sizes the proof may read, in order: the first, then each widening that stays small.
  const sizes = [Math.max(1, firstHead)];
  for (let round = 0; round < MAX_WIDENINGS; round++) {
    const wider = (sizes[round] as number) * WIDEN;
    if (wider > input.candidateCount * LARGEST_HEAD_SHARE) break;
    sizes.push(wider);
  }
  if (fusion.method === 'rrf') {
    const fused = rrfFromScan(input, fusion, keep, stats, Math.max(1, firstHead), smallestScanLimit);
    if (fused === null) stats.fellBack++;
    return fused;
  }
  // The first head's scan and the scan of the negated query (for the vector side's minimum) in one pass.
  const first =
    input.scan?.(input.unitQuery, weightedDepth(input.candidateCount, sizes[0] as number), true) ?? null;
  const plan = {
    attempt: weightedAttempt(input, fusion.alpha, vectorMinimum(input, first?.bottom)),
    from: 0,
    sizes,
  };
  if (plan.attempt === null) {
    stats.fellBack++;
    return null;
  }
  for (let round = plan.from; round < plan.sizes.length; round++) {
    if (round > 0) stats.widenings++;
    if (round > 0 && (round === plan.from || round === 1)) stats.widened++;
    const size = plan.sizes[round] as number;
    const read = readHead(input, size, round === 0 ? (first ?? undefined) : undefined);
    if (read === null) break;
    const next = plan.sizes[round + 1];
    const outcome = plan.attempt(read.top, size, keep, next, read.ceilingOf);
    if (outcome === 'outranked') stats.outranked++;
    if (typeof outcome !== 'string') return outcome;
    if (outcome !== 'widen') break;
  }
  stats.fellBack++;
  return null;
}

/**
 * The scan `fuseFromHead` reads first, with the same defaults, from the query's shape alone: a caller
 * waiting for the keyword scores reads it meanwhile and hands it in (`input.scan` answers that request
 * with it). For RRF it assumes some candidate matches a term (else RRF asks a scan of no more rows).
 * Null when fuseFromHead reads no scan first.
 */
export function firstHeadScan(
  fusion: Fusion,
  keep: number,
  candidateCount: number,
  firstHead: number = keep + HEAD_SLACK,
  smallestScanLimit: number = SMALLEST_SCAN_LIMIT,
): { wanted: number; withBottom: boolean } | null {
  if (fusion.method === 'dbsf' || keep < 1) return null;
  const head = Math.max(1, firstHead);
  if (fusion.method === 'weighted') return { wanted: weightedDepth(candidateCount, head), withBottom: true };
  const plan = rrfScanPlan(candidateCount, fusion, keep, head, smallestScanLimit, true);
  return plan === null ? null : { wanted: plan.depth, withBottom: false };
}

/**
 * Rows a weighted head of `size` scans: deeper than the top needs. A listed match gets its own ceiling
 * and every other one the last listed row's, so a deeper scan leaves fewer matches whose bound reaches
 * the bar to re-score (many, when the query's words are spread over the vector list). Each listed row
 * costs the native scan about half a microsecond, so the scan stays at a small share of the candidates.
 */
function weightedDepth(candidateCount: number, size: number): number {
  return Math.max(
    SCAN_PER_RANKED * size + Math.ceil(0.3 * Math.sqrt(candidateCount)),
    Math.min(WEIGHTED_SCAN, Math.floor(candidateCount * WEIGHTED_SCAN_SHARE)),
  );
}

/**
 * The exact vector top `size`, with the most each other row can score: from an approximate scan when
 * the input has one (each listed row's own ceiling; a scan too short for the top is read once more four
 * times deeper), else from the exact head (every other row at most the head's last score).
 * @param scanned the scan of `weightedDepth(input.candidateCount, size)` rows, when it was read already.
 */
function readHead(
  input: HeadFusionInput,
  size: number,
  scanned?: VectorScan,
): { top: ScoredRef<number>[]; ceilingOf: (row: number) => number } | null {
  if (input.scan !== undefined) {
    let depth = weightedDepth(input.candidateCount, size);
    const exactScores = new Map<number, number>();
    for (let attempt = 0; attempt < 2; attempt++, depth *= 4) {
      const read = attempt === 0 && scanned !== undefined ? scanned : input.scan(input.unitQuery, depth);
      if (read === null) break;
      const ranks = new ScanRanks(read, input, exactScores);
      const top = ranks.top(size);
      if (top !== null) return { top, ceilingOf: (row) => ranks.ceilingOf(row) };
    }
  }
  const top = input.head(input.unitQuery, size);
  return top === null ? null : { top, ceilingOf: () => Number.POSITIVE_INFINITY };
}

/**
 * The least exact score among the candidates, from the scan of the negated query (each row's exact score
 * for it is exactly minus its cosine), or undefined when that scan does not prove it.
 */
function lowestFromScan(input: HeadFusionInput, bottom: VectorScan): number | undefined {
  const negated = new ScanRanks(bottom, {
    mask: input.mask,
    idOf: input.idOf,
    cosineOf: (row) => -input.cosineOf(row),
  });
  const least = negated.top(1)?.[0];
  return least === undefined ? undefined : 0 - least.score;
}

/**
 * One proof from a head of `size` rows: the fused top, or 'widen' (not proven; a head of `next` rows
 * might prove it), or 'outranked' (not proven, and the row holding it up ranks below `next` rows).
 */
type Attempt = (
  top: ScoredRef<number>[],
  size: number,
  keep: number,
  next: number | undefined,
  ceilingOf: (row: number) => number,
) => HeadFusion | 'widen' | 'outranked';

/** Rows outside the head that match no term exist (their keyword part is that of a score of 0). */
function unmatchedOutside(input: HeadFusionInput, top: ScoredRef<number>[], matchedInTop: number): boolean {
  const outside = input.candidateCount - top.length;
  return outside > input.matched.length - matchedInTop;
}

/**
 * The least cosine among the candidates: from the scan of the negated query when that proves it,
 * otherwise from the exact head of the negated query (the rows near its best are many, the bottom of the
 * cosines being crowded, and the kernel's own proof reads them for one row at the least cost). Undefined
 * when neither is available.
 */
function vectorMinimum(input: HeadFusionInput, bottom: VectorScan | undefined): number | undefined {
  const scanned = bottom === undefined ? undefined : lowestFromScan(input, bottom);
  if (scanned !== undefined) return scanned;
  const lowest = input.head(
    input.unitQuery.map((x) => -x),
    1,
  )?.[0];
  // 0 - x: minus the negated query's best score, +0 rather than -0 for a score of 0.
  return lowest === undefined ? undefined : 0 - lowest.score;
}

function weightedAttempt(
  input: HeadFusionInput,
  alpha: number,
  minVector: number | undefined,
): Attempt | null {
  const { matched, bm25, candidateCount } = input;
  if (minVector === undefined) return null;
  const nk = keywordNormaliser(bm25, matched, candidateCount);
  return (top, size, keep, _next, ceilingOf) => {
    const best = top[0];
    if (best === undefined) return 'widen';
    const nv = normaliserOf(minVector, best.score, true);
    // The very expression `fuseScores` evaluates, so the scores are equal to the last bit.
    const fusedOf = (row: number, x: number) => alpha * nv(x) + (1 - alpha) * nk(bm25[row] as number);
    const selector = new TopKSelector<number>(keep);
    const cosine = new Map<number, number>();
    let matchedInTop = 0;
    for (const hit of top) {
      cosine.set(hit.ref, hit.score);
      if ((bm25[hit.ref] as number) > 0) matchedInTop++;
      const fused = fusedOf(hit.ref, hit.score);
      if (selector.mightAccept(fused)) selector.offer(fused, hit.id, hit.ref);
    }
    if (top.length >= candidateCount) return result(selector, cosine);
    if (top.length < size) return 'widen';
    // Every row outside the head scores at most the head's last score on the vector side, and both
    // normalisations and the weighted sum are monotone, so these are upper bounds of fused scores.
    const last = (top[top.length - 1] as ScoredRef<number>).score;
    const outsideVector = alpha * nv(last);
    if (
      unmatchedOutside(input, top, matchedInTop) &&
      selector.mightAccept(outsideVector + (1 - alpha) * nk(0))
    )
      return 'widen';
    // The matches whose bound (their own vector ceiling when the scan lists them) reaches the head's
    // bar, highest bound first: the bar rises fastest, and once a bound falls under it so do all later ones.
    const boundOf = (row: number) =>
      alpha * nv(Math.min(last, ceilingOf(row))) + (1 - alpha) * nk(bm25[row] as number);
    const contenders: number[] = [];
    const bounds: number[] = [];
    for (const row of matched) {
      if (cosine.has(row) || !selector.mightAccept(outsideVector + (1 - alpha) * nk(bm25[row] as number)))
        continue;
      const bound = boundOf(row);
      if (!selector.mightAccept(bound)) continue;
      contenders.push(row);
      bounds.push(bound);
    }
    // Hundreds of contenders, of which a few dozen get scored: drawn from a heap, not sorted.
    const nextBest = largestFirst(Float64Array.from(bounds));
    for (let i = nextBest(); i >= 0; i = nextBest()) {
      if (!selector.mightAccept(bounds[i] as number)) break;
      const row = contenders[i] as number;
      const x = input.cosineOf(row);
      cosine.set(row, x);
      const fused = fusedOf(row, x);
      if (selector.mightAccept(fused)) selector.offer(fused, input.idOf(row), row);
    }
    return result(selector, cosine);
  };
}

/**
 * The indices of `keys`, largest key first, one a call (-1 once all are drawn), from a binary max-heap:
 * O(n) to build and O(log n) a draw, so drawing the first few of many costs far less than sorting them.
 */
function largestFirst(keys: Float64Array): () => number {
  const heap = new Int32Array(keys.length);
  for (let i = 0; i < heap.length; i++) heap[i] = i;
  let size = heap.length;
  const keyAt = (place: number) => keys[heap[place] as number] as number;
  const siftDown = (start: number) => {
    let place = start;
    for (;;) {
      const left = 2 * place + 1;
      if (left >= size) return;
      const right = left + 1;
      const larger = right < size && keyAt(right) > keyAt(left) ? right : left;
      if (!(keyAt(larger) > keyAt(place))) return;
      const index = heap[place] as number;
      heap[place] = heap[larger] as number;
      heap[larger] = index;
      place = larger;
    }
  };
  for (let place = (size >> 1) - 1; place >= 0; place--) siftDown(place);
  return () => {
    if (size === 0) return -1;
    const top = heap[0] as number;
    size--;
    heap[0] = heap[size] as number;
    siftDown(0);
    return top;
  };
}
