/**
 * The top of a hybrid query's fused list from the vector side's head only (Fagin's threshold algorithm
 * over two sorted sources), so no row outside that head is scored: the vector head comes from the exact
 * top-k kernel (the native int8 scan with its proof, quantised-scan.ts), the keyword side is known
 * exactly from the postings (only matching rows score above 0).
 * - `rrf`: a row outside the vector top C has a vector rank above C, so its vector part is at most
 *   w_v / (k + C + 1); its keyword part is exact. The top C's fused scores are exact. When every row
 *   outside the head has a bound strictly under the keep-th fused score of the head (strictly: an equal
 *   score could still win on its id), the head holds the fused top. Otherwise C grows. The best match
 *   usually holds the proof up: it belongs in the fused top, and only a head that reaches its vector rank
 *   gives its exact score. So before reading any head its rank is estimated from an evenly spread sample,
 *   and when that lies beyond the first head (and its bound outside that head reaches the least value
 *   the bar can take, the vector part of rank keep) the first head read reaches past it: one int8 scan
 *   for a few thousand rows costs little more than one for a few dozen. When that head would exceed an
 *   eighth of the candidates the caller scores every row at once. Reading any head is always safe: only a
 *   proven top is returned.
 * - `weighted`: the vector side's maximum is the head's best score and its minimum the best score of the
 *   negated query (the dot product of a row with -u is exactly minus its dot product with u), so the
 *   normalisers are exact. A matching row outside the head gets its exact cosine when its bound (its exact
 *   keyword part plus the vector part of the head's last score) can reach the keep-th fused score;
 *   a row matching nothing must have its bound under it, or C grows.
 * - `dbsf` needs the mean and standard deviation of every candidate's cosine, summed exactly: no head
 *   gives those, so it is not offered here (the caller scores every candidate).
 * Every score is computed by the very expression `fuseScores` evaluates, so the top `keep` and its three
 * scores equal fusing every candidate, bit for bit (unit-tested against a brute-force fusion).
 */

import { best, countRanks, keywordNormaliser, type Population } from './fused-candidates';
import { type Fusion, normaliserOf, rrfWeights } from './fusion';
import { type ScoredRef, TopKSelector } from './scoring';

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
  matched: readonly number[];
  idOf: (row: number) => string;
  /** The exact cosine of one row (the function every path scores with). */
  cosineOf: (row: number) => number;
  head: VectorHead;
};

/**
 * How often the proof held at once, read a wider head, or gave up (the caller then scores every row),
 * and how often it gave up because the match holding it up was shown to rank below every head left.
 */
export type HeadFusionStats = {
  searches: number;
  widened: number;
  widenings: number;
  fellBack: number;
  outranked: number;
};

export function emptyHeadFusionStats(): HeadFusionStats {
  return { searches: 0, widened: 0, widenings: 0, fellBack: 0, outranked: 0 };
}

/** The fused top `keep` (rows best first) with each row's cosine and fused score. */
export type HeadFusion = { rows: number[]; vector: Float64Array; fused: Float64Array };

/**
 * Head rows beyond `keep` in the first attempt; a failed proof widens the head once, by WIDEN. A second
 * widening rarely pays: a proof that fails twice is mostly held up by a keyword match ranked far down
 * the vector list.
 */
export const HEAD_SLACK = 16;
const WIDEN = 8;
const MAX_WIDENINGS = 1;
/** A head wider than this share of the candidates costs about what scoring every candidate does. */
const LARGEST_HEAD_SHARE = 1 / 8;
/**
 * Candidates sampled to estimate a keyword match's vector rank (estimateVectorRank): about 0.4 ms of
 * exact cosines at 384-d, against a scan of 100k rows that costs 1.5 ms. The estimate's spread, about
 * √(rank · (1 − rank / candidates) · candidates / RANK_SAMPLE), is covered by DEEP_HEAD_MARGIN.
 */
export const RANK_SAMPLE = 1024;
/**
 * A deep head reads this many times the estimated rank of the match holding the proof up, plus the first
 * head's rows: one int8 scan for 2,000 rows costs 1.6x one for 26 (usearch at 100k rows), while a head
 * that proves too short costs a second scan.
 */
const DEEP_HEAD_MARGIN = 1.5;

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
  const plan =
    fusion.method === 'rrf'
      ? rrfAttempt(input, fusion, keep, sizes)
      : { attempt: weightedAttempt(input, fusion.alpha), from: 0, sizes };
  if (plan === 'outranked') stats.outranked++;
  if (plan === 'outranked' || plan.attempt === null) {
    stats.fellBack++;
    return null;
  }
  for (let round = plan.from; round < plan.sizes.length; round++) {
    if (round > 0) stats.widenings++;
    if (round > 0 && (round === plan.from || round === 1)) stats.widened++;
    const size = plan.sizes[round] as number;
    const top = input.head(input.unitQuery, size);
    if (top === null) break;
    const next = plan.sizes[round + 1];
    const outcome = plan.attempt(top, size, keep, next);
    if (outcome === 'outranked') stats.outranked++;
    if (typeof outcome !== 'string') return outcome;
    if (outcome !== 'widen') break;
  }
  stats.fellBack++;
  return null;
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
) => HeadFusion | 'widen' | 'outranked';

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

function result(selector: TopKSelector<number>, cosine: Map<number, number>): HeadFusion {
  const hits = selector.sorted();
  return {
    rows: hits.map((hit) => hit.ref),
    vector: Float64Array.from(hits, (hit) => cosine.get(hit.ref) as number),
    fused: Float64Array.from(hits, (hit) => hit.score),
  };
}

/** Rows outside the head that match no term exist (their keyword part is that of a score of 0). */
function unmatchedOutside(input: HeadFusionInput, top: ScoredRef<number>[], matchedInTop: number): boolean {
  const outside = input.candidateCount - top.length;
  return outside > input.matched.length - matchedInTop;
}

/**
 * The RRF proof and the heads to read. When the best match's bound outside the first head reaches the
 * least value the bar can take and its estimated vector rank lies beyond that head, the first head read
 * is a deep one: DEEP_HEAD_MARGIN times that rank (or, when smaller, the least head that leaves the best
 * match out with its bound under the bar), then twice that; 'outranked' when that head would exceed
 * LARGEST_HEAD_SHARE of the candidates (checked before any head is read).
 */
function rrfAttempt(
  input: HeadFusionInput,
  fusion: Extract<Fusion, { method: 'rrf' }>,
  keep: number,
  sizes: readonly number[],
): { attempt: Attempt; from: number; sizes: readonly number[] } | 'outranked' {
  const { matched, bm25, idOf } = input;
  const weights = rrfWeights(fusion);
  const k = fusion.k;
  // The best match (keyword rank 1), found in one pass: most failed proofs fail on it.
  let first = -1;
  for (const row of matched) {
    const x = bm25[row] as number;
    const leader = first < 0 ? -1 : (bm25[first] as number);
    if (x > leader || (x === leader && idOf(row) < idOf(first))) first = row;
  }
  // Every head row's fused score is at least its vector part, so the keep-th is at least that of rank keep.
  const leastBar = (headRows: number) =>
    headRows >= keep ? weights.vector / (k + keep) : Number.NEGATIVE_INFINITY;
  const outsideBound = (size: number, keywordRank: number) =>
    weights.vector / (k + size + 1) + weights.keyword / (k + keywordRank);
  const cap = input.candidateCount * LARGEST_HEAD_SHARE;
  const firstSize = sizes[0] as number;
  // The least head C whose outside bound for the best match is under the bar's least value:
  // w_v / (k + C + 1) < w_v / (k + keep) - w_k / (k + 1) =: room.
  const room = weights.vector / (k + keep) - weights.keyword / (k + 1);
  const leavesOut = room > 0 ? Math.floor(weights.vector / room - k) : Number.POSITIVE_INFINITY;
  // When the best match can reach the top from outside the first head and ranks below it, the first head
  // read is one deep enough to hold it (or to leave it out under the bar), found by estimating its rank.
  let schedule: readonly number[] = sizes;
  let from = 0;
  if (first >= 0 && firstSize < input.candidateCount && outsideBound(firstSize, 1) >= leastBar(firstSize)) {
    const rank = estimateVectorRank(input, first);
    if (rank >= firstSize) {
      const deep = Math.ceil(rank * DEEP_HEAD_MARGIN) + firstSize;
      const reach = leavesOut >= keep && leavesOut < deep ? leavesOut : deep;
      if (reach > cap) return 'outranked';
      schedule = reach * 2 <= cap ? [firstSize, reach, reach * 2] : [firstSize, reach];
      from = 1;
    }
  }
  // The keyword side is ranked in its head only (the best matches by BM25); a head row outside it gets
  // its exact keyword rank by counting (fused-candidates.ts).
  const everyMatch: Population = { rows: matched, count: matched.length, mask: undefined };
  let keywordHead: number[] = [];
  const keywordHeadOf = (length: number): number[] => {
    if (keywordHead.length < Math.min(length, matched.length))
      keywordHead = best(everyMatch, bm25, idOf, length);
    return keywordHead;
  };
  // Not proven from this head: a wider one can prove it only if `blocker` (a match outside the head whose
  // bound reaches the bar) gets in, or its bound outside the wider head falls under the bar.
  const widenFor = (blocker: number, keywordRank: number, bar: number, next: number | undefined) => {
    if (next === undefined) return 'widen';
    return outsideBound(next, keywordRank) >= bar && estimateVectorRank(input, blocker) >= next
      ? 'outranked'
      : 'widen';
  };
  const attempt: Attempt = (top, size, keep, next) => {
    if (first >= 0 && top.length < input.candidateCount && top.every((hit) => hit.ref !== first)) {
      // Every head row's fused score is at most its vector part plus the keyword part of rank 1; when
      // even that keep-th best cannot beat the best match's bound, no ranking of the keywords can help.
      const optimistic = new TopKSelector<number>(keep);
      top.forEach((hit, i) => {
        const fromVector = weights.vector / (k + (i + 1));
        const score = (bm25[hit.ref] as number) > 0 ? fromVector + weights.keyword / (k + 1) : fromVector;
        if (optimistic.mightAccept(score)) optimistic.offer(score, hit.id, hit.ref);
      });
      if (optimistic.mightAccept(weights.vector / (k + size + 1) + weights.keyword / (k + 1))) {
        return widenFor(first, 1, leastBar(top.length), next);
      }
    }
    let byRank = keywordHeadOf(keep + HEAD_SLACK);
    const keywordRank = new Map(byRank.map((row, i) => [row, i + 1]));
    // A head row matching a term outside the keyword head has a keyword part of at most `beyondHead`;
    // only those whose bound with it reaches the keep-th lower bound need their exact keyword rank.
    const beyondHead = weights.keyword / (k + byRank.length + 1);
    const lowest = new TopKSelector<number>(keep);
    top.forEach((hit, i) => {
      const fromVector = weights.vector / (k + (i + 1));
      const rank = keywordRank.get(hit.ref);
      const lower = rank === undefined ? fromVector : fromVector + weights.keyword / (k + rank);
      if (lowest.mightAccept(lower)) lowest.offer(lower, hit.id, hit.ref);
    });
    const floor = lowest.sorted()[keep - 1]?.score ?? Number.NEGATIVE_INFINITY;
    const unranked = top.filter(
      (hit, i) =>
        (bm25[hit.ref] as number) > 0 &&
        !keywordRank.has(hit.ref) &&
        weights.vector / (k + (i + 1)) + beyondHead >= floor,
    );
    countRanks(
      everyMatch,
      bm25,
      idOf,
      unranked.map((hit) => hit.ref),
    ).forEach((rank, i) => {
      keywordRank.set((unranked[i] as ScoredRef<number>).ref, rank);
    });
    const selector = new TopKSelector<number>(keep);
    const cosine = new Map<number, number>();
    let matchedInTop = 0;
    top.forEach((hit, i) => {
      cosine.set(hit.ref, hit.score);
      // Summed as `fuseScores` sums: the vector part, then the keyword part.
      const fromVector = weights.vector / (k + (i + 1));
      const matches = (bm25[hit.ref] as number) > 0;
      if (matches) matchedInTop++;
      const rank = keywordRank.get(hit.ref);
      // A match left unranked scores under the floor, which the top `keep` all reach.
      if (matches && rank === undefined) return;
      const fused = rank === undefined ? fromVector : fromVector + weights.keyword / (k + rank);
      if (selector.mightAccept(fused)) selector.offer(fused, hit.id, hit.ref);
    });
    if (top.length >= input.candidateCount) return result(selector, cosine);
    if (top.length < size) return 'widen';
    const outsideVector = weights.vector / (k + size + 1);
    if (unmatchedOutside(input, top, matchedInTop) && selector.mightAccept(outsideVector)) return 'widen';
    // Later matches have a larger keyword rank, so a smaller bound: the first under the bar ends it.
    const reaches = (rank: number) => selector.mightAccept(outsideVector + weights.keyword / (k + rank));
    for (let r = 0; r < matched.length; r++) {
      // The keyword head grows (four times longer) only when the matches it holds all sit in the vector head.
      if (r === byRank.length) byRank = keywordHeadOf(byRank.length * 4);
      if (cosine.has(byRank[r] as number)) continue;
      if (!reaches(r + 1)) return result(selector, cosine);
      const bar = selector.sorted()[keep - 1]?.score ?? Number.NEGATIVE_INFINITY;
      return widenFor(byRank[r] as number, r + 1, bar, next);
    }
    // Every match is in the vector head.
    return result(selector, cosine);
  };
  return { attempt, from, sizes: schedule };
}

function weightedAttempt(input: HeadFusionInput, alpha: number): Attempt | null {
  const { matched, bm25, unitQuery, candidateCount } = input;
  const lowest = input.head(
    unitQuery.map((x) => -x),
    1,
  )?.[0];
  if (lowest === undefined) return null;
  // 0 - x: minus the negated query's best score, +0 rather than -0 for a score of 0.
  const minVector = 0 - lowest.score;
  const nk = keywordNormaliser(bm25, matched, candidateCount);
  return (top, size, keep) => {
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
    // The matches whose bound reaches the head's bar, best keyword score first: the bar rises fastest,
    // and once a bound falls under it so do all later ones.
    const contenders = matched.filter(
      (row) =>
        !cosine.has(row) && selector.mightAccept(outsideVector + (1 - alpha) * nk(bm25[row] as number)),
    );
    contenders.sort((a, b) => (bm25[b] as number) - (bm25[a] as number));
    for (const row of contenders) {
      if (!selector.mightAccept(outsideVector + (1 - alpha) * nk(bm25[row] as number))) break;
      const x = input.cosineOf(row);
      cosine.set(row, x);
      const fused = fusedOf(row, x);
      if (selector.mightAccept(fused)) selector.offer(fused, input.idOf(row), row);
    }
    return result(selector, cosine);
  };
}
