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
 *   its exact vector rank is needed: the first scan reads a few thousand rows (costing little more than
 *   a few dozen), and when the match lies below them its rank is estimated from an evenly spread sample
 *   and one scan reaching past it is read. When that scan would exceed an eighth of the candidates the
 *   caller scores every row at once.
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
import { ScanRanks } from './scan-ranks';
import { type ScoredRef, TopKSelector, type VectorScan } from './scoring';

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
  /** The best `wanted` candidates of an approximate scan (RRF's ranks); absent or null: not available. */
  scan?: (unitQuery: Float64Array, wanted: number) => VectorScan | null;
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
 * Rows beyond `keep` in the first head (weighted) or each side's first top (rrf); a failed weighted proof
 * widens the head once, by WIDEN.
 */
export const HEAD_SLACK = 16;
const WIDEN = 8;
const MAX_WIDENINGS = 1;
/** A head or scan wider than this share of the candidates costs about what scoring every candidate does. */
const LARGEST_HEAD_SHARE = 1 / 8;
/**
 * Candidates sampled to estimate a keyword match's vector rank (estimateVectorRank): about 0.4 ms of
 * exact cosines at 384-d, against a scan of 100k rows that costs 1.5 ms. The estimate's spread, about
 * √(rank · (1 − rank / candidates) · candidates / RANK_SAMPLE), is covered by DEEP_HEAD_MARGIN.
 */
export const RANK_SAMPLE = 1024;
/**
 * A deep scan reads this many times the best match's estimated vector rank, plus the first top's rows:
 * one int8 scan for 2,000 rows costs 1.6x one for 26 (usearch at 100k rows), while a scan that proves
 * too short costs a second one.
 */
const DEEP_HEAD_MARGIN = 2.5;
/**
 * Keyword ranks known at once: a longer keyword head lowers the bound of every match outside it, so fewer
 * rows need their keyword rank counted (a pass over every match each time).
 */
const KEYWORD_HEAD = 256;
/** A vector top this short that leaves the best match out is read without estimating its rank. */
const SHORT_TOP = 256;
/** Rows scanned per row ranked exactly on the vector side, before any estimate asks for more. */
const SCAN_PER_RANKED = 4;
/** Rows weighted fusion scans (at most an eighth of the candidates): 2,048 cost about 1.6x 26 at 100k. */
const WEIGHTED_SCAN = 2048;
/** Rows RRF scans first when it needs the best match's vector rank (at most an eighth of the candidates). */
const RRF_SCAN = 2048;
/** Deeper scans or wider tops RRF tries after its first proof fails. */
const MAX_RRF_RETRIES = 2;
/** The deepest scan RRF reads is at least this many rows, an eighth of the candidates when that is more. */
const SMALLEST_SCAN_LIMIT = 1024;

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
  const plan = { attempt: weightedAttempt(input, fusion.alpha), from: 0, sizes };
  if (plan.attempt === null) {
    stats.fellBack++;
    return null;
  }
  for (let round = plan.from; round < plan.sizes.length; round++) {
    if (round > 0) stats.widenings++;
    if (round > 0 && (round === plan.from || round === 1)) stats.widened++;
    const size = plan.sizes[round] as number;
    const read = readHead(input, size);
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
 * The exact vector top `size`, with the most each other row can score: from an approximate scan when
 * the input has one (each listed row's own ceiling; a scan too short for the top is read once more four
 * times deeper), else from the exact head (every other row at most the head's last score).
 */
function readHead(
  input: HeadFusionInput,
  size: number,
): { top: ScoredRef<number>[]; ceilingOf: (row: number) => number } | null {
  if (input.scan !== undefined) {
    // Deeper than the top needs: a match the scan lists gets its own ceiling, and every other one the
    // last listed row's, so a deeper scan leaves fewer matches whose bound reaches the bar to re-score.
    let depth = Math.max(
      SCAN_PER_RANKED * size + Math.ceil(0.3 * Math.sqrt(input.candidateCount)),
      Math.min(WEIGHTED_SCAN, Math.floor(input.candidateCount * LARGEST_HEAD_SHARE)),
    );
    const exactScores = new Map<number, number>();
    for (let attempt = 0; attempt < 2; attempt++, depth *= 4) {
      const read = input.scan(input.unitQuery, depth);
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
 * RRF's fused top from one approximate vector scan (scan-ranks.ts) and the exact keyword ranks.
 * With R rows ranked exactly on each side (the vector top R and the keyword top R), a row in neither
 * scores at most w_v / (k + R + 1) plus, if it matches a term, w_k / (k + R + 1): when that is strictly
 * under the keep-th fused score of the rows in either top, those rows hold the fused top. Each such row
 * needs both exact ranks only when its bound can reach the keep-th lower bound; a vector rank comes from
 * the scan (re-scoring only the rows near its score), a keyword rank from counting the matches. A scan
 * too short for a rank is read again four times deeper; a failed proof ranks four times more rows on
 * each side (at most MAX_RRF_RETRIES times in all). When the best match's exact vector rank is needed
 * (see the file comment) and the first scan stops above it, the next reaches its estimated rank; a scan
 * deeper than LARGEST_HEAD_SHARE of the candidates is not read: null, and the caller scores every
 * candidate. `stats` counts deeper scans and wider tops as widenings, and an estimate past the limit as
 * outranked.
 */
function rrfFromScan(
  input: HeadFusionInput,
  fusion: Extract<Fusion, { method: 'rrf' }>,
  keep: number,
  stats: HeadFusionStats,
  firstHead: number,
  smallestScanLimit: number,
): HeadFusion | null {
  const { matched, bm25, idOf, candidateCount, scan } = input;
  if (scan === undefined) return null;
  const weights = rrfWeights(fusion);
  const k = fusion.k;
  // A scan of a thousand rows is worth reading however few the candidates: scoring them all costs as much.
  const cap = Math.max(smallestScanLimit, firstHead, Math.floor(candidateCount * LARGEST_HEAD_SHARE));
  // The best match (keyword rank 1), found in one pass.
  let first = -1;
  for (const row of matched) {
    const x = bm25[row] as number;
    const leader = first < 0 ? -1 : (bm25[first] as number);
    if (x > leader || (x === leader && idOf(row) < idOf(first))) first = row;
  }
  // Rows in neither top score at most (w_v + w_k) / (k + R + 1); the keep-th fused score is at least the
  // vector part of rank keep, w_v / (k + keep). So R past (w_v + w_k)(k + keep) / w_v - k - 1 proves
  // the top whenever the rows of both tops are ranked, and is the first R tried (when not too large).
  const enough = Math.floor(((weights.vector + weights.keyword) * (k + keep)) / weights.vector - k) + 1;
  let ranked = Math.max(1, firstHead, Number.isFinite(enough) && enough <= cap ? enough : 0);
  // Rows near the R-th score are re-scored to order the top: a scan of 4R covers them on 384-d data.
  let depth = SCAN_PER_RANKED * ranked + Math.ceil(0.3 * Math.sqrt(candidateCount));
  // The best match's fused score beats the vector part of rank keep whenever its own vector part can
  // (a vector weight not too small next to the keyword weight): then either a vector top long enough to
  // leave it out under that bar (w_v / (k + R + 1) < w_v / (k + keep) - w_k / (k + 1)) or its exact
  // vector rank is needed. A short such top is taken; else the scan reads RRF_SCAN rows (an eighth of
  // the candidates at most), which on a query whose words and meaning agree holds the best match, and
  // only when it does not is the match's rank estimated to read the one scan that reaches it.
  let needsLeader = false;
  if (
    first >= 0 &&
    weights.vector / (k + ranked + 1) + weights.keyword / (k + 1) >= weights.vector / (k + keep)
  ) {
    const room = weights.vector / (k + keep) - weights.keyword / (k + 1);
    const leavesOut = room > 0 ? Math.floor(weights.vector / room - k) : Number.POSITIVE_INFINITY;
    if (leavesOut <= SHORT_TOP && leavesOut <= cap) ranked = Math.max(ranked, leavesOut);
    else {
      needsLeader = true;
      depth = Math.max(depth, Math.min(RRF_SCAN, Math.floor(candidateCount * LARGEST_HEAD_SHARE)));
    }
  }
  depth = Math.max(depth, SCAN_PER_RANKED * ranked + Math.ceil(0.3 * Math.sqrt(candidateCount)));
  if (Math.min(depth, candidateCount) > cap) return null;
  const everyMatch: Population = { rows: matched, count: matched.length, mask: undefined };
  let keywordHead: number[] = [];
  let ranks: ScanRanks | null = null;
  // Exact cosines outlive a scan that proves too short: a deeper one needs many of them again.
  const exactScores = new Map<number, number>();
  for (let round = 0; ; round++) {
    if (round > 0) stats.widenings++;
    if (round === 1) stats.widened++;
    if (ranks === null) {
      const read = scan(input.unitQuery, depth);
      if (read === null) return null;
      ranks = new ScanRanks(read, input, exactScores);
    }
    if (needsLeader && round === 0 && ranks.rankAtMost(first) === null) {
      // The scan stops above the best match: read one that reaches its estimated rank, if not too deep.
      const reach = Math.ceil(estimateVectorRank(input, first) * DEEP_HEAD_MARGIN) + ranked;
      if (Math.min(reach, candidateCount) > cap) {
        stats.outranked++;
        return null;
      }
      depth = Math.max(depth * 2, reach);
      ranks = null;
      continue;
    }
    const outcome = rrfProof(ranks, ranked);
    if (typeof outcome !== 'string') return outcome;
    // A proof that fails twice is mostly held up by a match far down the vector list: scoring every
    // candidate then costs less than scanning deeper again.
    if (round >= MAX_RRF_RETRIES) return null;
    if (outcome === 'deeper') {
      depth *= 4;
      ranks = null;
    } else ranked *= 4;
    if (Math.min(depth, candidateCount) > cap || ranked > cap) return null;
  }

  /** The fused top from the top `r` of each side, or what to read next. */
  function rrfProof(ranks: ScanRanks, r: number): HeadFusion | 'deeper' | 'wider' {
    const vectorTop = ranks.top(r);
    if (vectorTop === null) return 'deeper';
    const keywordLength = Math.max(r, KEYWORD_HEAD);
    if (keywordHead.length < Math.min(keywordLength, matched.length))
      keywordHead = best(everyMatch, bm25, idOf, keywordLength);
    const vectorRank = new Map(vectorTop.map((hit, i) => [hit.ref, i + 1]));
    const keywordRank = new Map(keywordHead.map((row, i) => [row, i + 1]));
    const inKeywordHead = new Set(keywordHead);
    const rows = [...new Set([...vectorRank.keys(), ...keywordHead])];
    // A side's part for a rank not known exactly: at most that of the first rank past the top, at least
    // that of the last rank there can be.
    const vectorPart = (rank: number) => weights.vector / (k + rank);
    const keywordPart = (rank: number) => weights.keyword / (k + rank);
    const vectorBeyond = vectorPart(vectorTop.length + 1);
    const keywordBeyond = keywordPart(keywordHead.length + 1);
    const lower = rows.map((row) => {
      const v = vectorRank.get(row);
      const fromVector =
        v !== undefined ? vectorPart(v) : vectorPart(ranks.rankAtMost(row) ?? candidateCount);
      if (!((bm25[row] as number) > 0)) return fromVector;
      return fromVector + keywordPart(keywordRank.get(row) ?? matched.length);
    });
    const upper = rows.map((row) => {
      const v = vectorRank.get(row);
      const fromVector =
        v !== undefined ? vectorPart(v) : vectorPart(Math.max(vectorTop.length + 1, ranks.rankAtLeast(row)));
      if (!((bm25[row] as number) > 0)) return fromVector;
      const w = keywordRank.get(row);
      return fromVector + (w !== undefined ? keywordPart(w) : keywordBeyond);
    });
    const floor = rows.length >= keep ? ([...lower].sort((x, y) => y - x)[keep - 1] as number) : -Infinity;
    // The rows that can reach the top get both exact ranks; the others score under the floor.
    const contenders = rows.filter((_, i) => (upper[i] as number) >= floor);
    const needKeyword = contenders.filter((row) => (bm25[row] as number) > 0 && !keywordRank.has(row));
    countRanks(everyMatch, bm25, idOf, needKeyword).forEach((rank, i) => {
      keywordRank.set(needKeyword[i] as number, rank);
    });
    const selector = new TopKSelector<number>(keep);
    const cosine = new Map<number, number>();
    for (const row of contenders) {
      let v = vectorRank.get(row);
      if (v === undefined) {
        const counted = ranks.rankOf(row);
        if (counted === null) return 'deeper';
        v = counted;
      }
      cosine.set(row, ranks.exact(row));
      // Summed as `fuseScores` sums: the vector part, then the keyword part.
      const fromVector = vectorPart(v);
      const w = keywordRank.get(row);
      const fused = w === undefined ? fromVector : fromVector + keywordPart(w);
      if (selector.mightAccept(fused)) selector.offer(fused, idOf(row), row);
    }
    // Every candidate is in the vector top: nothing lies outside.
    if (vectorTop.length >= candidateCount) return result(selector, cosine);
    // A row in neither top: its vector part is at most `vectorBeyond`; a match's keyword part at most
    // `keywordBeyond` (only when some match lies outside both tops).
    let matchesInEither = keywordHead.length;
    for (const hit of vectorTop)
      if ((bm25[hit.ref] as number) > 0 && !inKeywordHead.has(hit.ref)) matchesInEither++;
    const outside = vectorBeyond + (matched.length > matchesInEither ? keywordBeyond : 0);
    if (process.env.DBG)
      console.log(
        'outside',
        outside,
        'bar',
        selector.sorted()[keep - 1]?.score,
        'contenders',
        contenders.length,
        'vtop',
        vectorTop.length,
        'khead',
        keywordHead.length,
        'floor',
        floor,
        vectorTop.slice(0, 3).map((h) => h.score),
      );
    return selector.mightAccept(outside) ? 'wider' : result(selector, cosine);
  }
}

function weightedAttempt(input: HeadFusionInput, alpha: number): Attempt | null {
  const { matched, bm25, unitQuery, candidateCount } = input;
  // The exact head of the negated query: the rows near its best are many (the bottom of the cosines is
  // crowded), and the kernel's own proof reads them for one row at the least cost.
  const lowest = input.head(
    unitQuery.map((x) => -x),
    1,
  )?.[0];
  if (lowest === undefined) return null;
  // 0 - x: minus the negated query's best score, +0 rather than -0 for a score of 0.
  const minVector = 0 - lowest.score;
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
    const bounds = new Map<number, number>();
    for (const row of matched) {
      if (cosine.has(row) || !selector.mightAccept(outsideVector + (1 - alpha) * nk(bm25[row] as number)))
        continue;
      const bound = boundOf(row);
      if (!selector.mightAccept(bound)) continue;
      contenders.push(row);
      bounds.set(row, bound);
    }
    contenders.sort((a, b) => (bounds.get(b) as number) - (bounds.get(a) as number));
    for (const row of contenders) {
      if (!selector.mightAccept(bounds.get(row) as number)) break;
      const x = input.cosineOf(row);
      cosine.set(row, x);
      const fused = fusedOf(row, x);
      if (selector.mightAccept(fused)) selector.offer(fused, input.idOf(row), row);
    }
    return result(selector, cosine);
  };
}
