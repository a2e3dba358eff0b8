/**
 * RRF's fused top from one approximate vector scan, for the threshold algorithm (threshold-fusion.ts). How
 * it proves the top is said at rrfFromScan.
 */

import { best, countRanks, type Population } from './fused-candidates';
import { type Fusion, rrfWeights } from './fusion';
import {
  estimateVectorRank,
  type HeadFusion,
  type HeadFusionInput,
  type HeadFusionStats,
  LARGEST_HEAD_SHARE,
  result,
  SCAN_PER_RANKED,
} from './head-fusion';
import { nthLargest } from './nth-largest';
import { ScanRanks } from './scan-ranks';
import { TopKSelector } from './scoring';

/**
 * A deep scan reads this many times the best match's estimated vector rank, plus the first top's rows:
 * one int8 scan for 2,000 rows costs 1.6x one for 26 (usearch at 100k rows), while a scan that proves
 * too short costs a second one.
 */
const DEEP_HEAD_MARGIN = 2.5;
/**
 * Keyword ranks known at once: a longer keyword head lowers the bound of every match outside it, so fewer
 * rows need their keyword rank counted (a pass over every match each time). A head is sorted, ties by
 * chunk id, so it is at most a quarter of the matches: with few matches a pass over them all costs less
 * than sorting most of them (on the bench's 10k-chunk bot, about 380 matches a query, `rrf` took 0.51 ms
 * with a head of 96 against 0.59-0.61 ms with 256; its 100k-chunk bot, about 3,800 matches, keeps 256).
 */
const KEYWORD_HEAD = 256;
const KEYWORD_HEAD_SHARE = 1 / 4;
/** A vector top this short that leaves the best match out is read without estimating its rank. */
const SHORT_TOP = 256;
/**
 * Share of the candidates RRF scans first when it needs the best match's vector rank. The native scan
 * costs about half a microsecond more for each row it lists, so a 64th of the candidates costs about
 * half of a pass over them (at 384-d): a first scan much deeper than the match's usual rank costs more
 * than the rare second scan it saves, and one that stops above the match costs a whole second pass. The
 * match's rank grows with the bot (at 1M chunks it lies past 2,000 in most queries), so the share has no
 * cap in rows.
 */
const RRF_SCAN_SHARE = 1 / 64;
/** Deeper scans or wider tops RRF tries after its first proof fails. */
const MAX_RRF_RETRIES = 2;
/** The deepest scan RRF reads is at least this many rows, an eighth of the candidates when that is more. */
export const SMALLEST_SCAN_LIMIT = 1024;

/** The first scan RRF reads: its depth, the rows ranked exactly on each side, and the deepest scan allowed. */
export type RrfScanPlan = { ranked: number; depth: number; needsLeader: boolean; cap: number };

/**
 * RRF's first scan for `candidateCount` candidates, from the query's shape alone (no score is read), so a
 * caller may read it before the keyword scores arrive; `hasMatch`: some candidate matches a query term.
 * Null when that scan would exceed the deepest allowed (the caller scores every candidate).
 */
export function rrfScanPlan(
  candidateCount: number,
  fusion: Extract<Fusion, { method: 'rrf' }>,
  keep: number,
  firstHead: number,
  smallestScanLimit: number,
  hasMatch: boolean,
): RrfScanPlan | null {
  const weights = rrfWeights(fusion);
  const k = fusion.k;
  // A scan of a thousand rows is worth reading however few the candidates: scoring them all costs as much.
  const cap = Math.max(smallestScanLimit, firstHead, Math.floor(candidateCount * LARGEST_HEAD_SHARE));
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
  // vector rank is needed. A short such top is taken; else the scan reads RRF_SCAN_SHARE of the
  // candidates, which on a query whose words and meaning agree holds the best
  // match, and only when it does not is the match's rank estimated to read the one scan that reaches it.
  let needsLeader = false;
  if (
    hasMatch &&
    weights.vector / (k + ranked + 1) + weights.keyword / (k + 1) >= weights.vector / (k + keep)
  ) {
    const room = weights.vector / (k + keep) - weights.keyword / (k + 1);
    const leavesOut = room > 0 ? Math.floor(weights.vector / room - k) : Number.POSITIVE_INFINITY;
    if (leavesOut <= SHORT_TOP && leavesOut <= cap) ranked = Math.max(ranked, leavesOut);
    else {
      needsLeader = true;
      depth = Math.max(depth, Math.floor(candidateCount * RRF_SCAN_SHARE));
    }
  }
  depth = Math.max(depth, SCAN_PER_RANKED * ranked + Math.ceil(0.3 * Math.sqrt(candidateCount)));
  return Math.min(depth, candidateCount) > cap ? null : { ranked, depth, needsLeader, cap };
}

/**
 * RRF's fused top from one approximate vector scan (scan-ranks.ts) and the exact keyword ranks.
 * With R rows ranked exactly on each side (the vector top R and the keyword top, at least R), a row in neither
 * scores at most w_v / (k + R + 1) plus, if it matches a term, w_k / (k + R + 1): when that is strictly
 * under the keep-th fused score of the rows in either top, those rows hold the fused top. Each such row
 * needs both exact ranks only when its bound can reach the keep-th lower bound; a vector rank comes from
 * the scan (re-scoring only the rows near its score), a keyword rank from counting the matches. A scan
 * too short for a rank is read again four times deeper; a failed proof ranks four times more rows on
 * each side (at most MAX_RRF_RETRIES times in all). When the best match's exact vector rank is needed
 * (see threshold-fusion.ts) and the first scan stops above it, the next reaches its estimated rank; a scan
 * deeper than LARGEST_HEAD_SHARE of the candidates is not read: null, and the caller scores every
 * candidate. `stats` counts deeper scans and wider tops as widenings, and an estimate past the limit as
 * outranked.
 */
export function rrfFromScan(
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
  // The best match (keyword rank 1), found in one pass.
  let first = -1;
  for (const row of matched) {
    const x = bm25[row] as number;
    const leader = first < 0 ? -1 : (bm25[first] as number);
    if (x > leader || (x === leader && idOf(row) < idOf(first))) first = row;
  }
  const plan = rrfScanPlan(candidateCount, fusion, keep, firstHead, smallestScanLimit, first >= 0);
  if (plan === null) return null;
  const { cap, needsLeader } = plan;
  let { ranked, depth } = plan;
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
    const keywordLength = Math.max(r, Math.min(KEYWORD_HEAD, Math.ceil(matched.length * KEYWORD_HEAD_SHARE)));
    if (keywordHead.length < Math.min(keywordLength, matched.length))
      keywordHead = best(everyMatch, bm25, idOf, keywordLength);
    const vectorRank = new Map(vectorTop.map((hit, i) => [hit.ref, i + 1]));
    const keywordRank = new Map(keywordHead.map((row, i) => [row, i + 1]));
    // The rows of either top, each once: the keyword head, then the vector top's rows outside it.
    const rows = [...keywordHead];
    for (const hit of vectorTop) if (!keywordRank.has(hit.ref)) rows.push(hit.ref);
    // A side's part for a rank not known exactly: at most that of the first rank past the top, at least
    // that of the last rank there can be.
    const vectorPart = (rank: number) => weights.vector / (k + rank);
    const keywordPart = (rank: number) => weights.keyword / (k + rank);
    const vectorBeyond = vectorPart(vectorTop.length + 1);
    const keywordBeyond = keywordPart(keywordHead.length + 1);
    const withKeyword = (row: number, fromVector: number, keywordIfUnranked: number) => {
      if (!((bm25[row] as number) > 0)) return fromVector;
      const w = keywordRank.get(row);
      return fromVector + (w !== undefined ? keywordPart(w) : keywordIfUnranked);
    };
    const keywordLast = keywordPart(matched.length);
    // Bounds from the tops alone first: a row outside the vector top ranks after it, and at worst last.
    const lower = rows.map((row) =>
      withKeyword(row, vectorPart(vectorRank.get(row) ?? candidateCount), keywordLast),
    );
    const upper = rows.map((row) =>
      withKeyword(row, vectorPart(vectorRank.get(row) ?? vectorTop.length + 1), keywordBeyond),
    );
    const floorOf = () =>
      rows.length >= keep ? nthLargest(Float64Array.from(lower), rows.length, keep - 1) : -Infinity;
    // Only a row whose bound reaches that floor has its vector rank bounded from the scan (an exact
    // cosine each). Every other row's bounds from the scan would lie under this floor too, so the floor
    // and the contenders are what bounding every row from the scan gives.
    const roughFloor = floorOf();
    for (const [i, row] of rows.entries()) {
      if (vectorRank.has(row) || (upper[i] as number) < roughFloor) continue;
      lower[i] = withKeyword(row, vectorPart(ranks.rankAtMost(row) ?? candidateCount), keywordLast);
      upper[i] = withKeyword(
        row,
        vectorPart(Math.max(vectorTop.length + 1, ranks.rankAtLeast(row))),
        keywordBeyond,
      );
    }
    const floor = floorOf();
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
    for (let i = keywordHead.length; i < rows.length; i++)
      if ((bm25[rows[i] as number] as number) > 0) matchesInEither++;
    const outside = vectorBeyond + (matched.length > matchesInEither ? keywordBeyond : 0);
    return selector.mightAccept(outside) ? 'wider' : result(selector, cosine);
  }
}
