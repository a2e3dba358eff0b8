/**
 * The few candidates of a hybrid query that can reach its top `keep`, with their exact fused scores, so
 * fusion neither ranks (sorts) every candidate nor looks up every candidate's id.
 * - weighted and dbsf: the normalisers need only each side's minimum and maximum (weighted) or mean and
 *   standard deviation (dbsf); then one selection of the best `keep` by the fused score itself, computed
 *   per candidate by the very expression `fuseScores` evaluates.
 * - rrf: each list (vector over every candidate, keyword over the matches) is ranked only in its head;
 *   bounds then prove which other rows cannot reach the top, and the few that might get their exact rank
 *   by counting (one pass over the list, a binary search per member into the few rows' scores).
 * The top `keep` of the result, and each of its three scores, are those of fusing every candidate, bit
 * for bit (unit-tested against a brute-force fusion of the full lists).
 */

import { distributionNormaliser, type Fusion, normaliserOf, type RrfWeights, rrfWeights } from './fusion';
import { firstAtOrAboveIn } from './level-search';
import { nthLargest } from './nth-largest';
import { orderByScore } from './score-order';
import { type DenseScores, type RowList, ScoreBuffer, TopKSelector } from './scoring';

/** Candidate rows (in no particular order) with their vector, keyword and fused scores, in parallel arrays. */
export type FusedCandidates = {
  rows: number[];
  vector: Float64Array;
  keyword: Float64Array;
  fused: Float64Array;
};

/** The rows of a hybrid query as `topFusedCandidates` takes them. */
export type HybridRows = {
  rowCount: number;
  /** Row i is a candidate when mask is absent or mask[i] !== 0. */
  mask: Uint8Array | undefined;
  /** Cosine similarity per row (read only for candidates). */
  cosine: Float64Array;
  /** BM25 per row (0: no query term). */
  bm25: Float64Array;
  /** The rows with a positive BM25, ascending. */
  matched: RowList;
  idOf: (row: number) => string;
};

/** The rows that pass `mask` (all of them, not copied, when there is none). */
export function rowsPassing(rows: RowList, mask: Uint8Array | undefined): RowList {
  if (mask === undefined) return rows;
  const passing: number[] = [];
  for (const row of rows) if (mask[row] !== 0) passing.push(row);
  return passing;
}

/**
 * The candidates (see the file comment) that hold the top `keep` of the fused list, or null when the
 * reduction cannot be proven for these scores (then the caller fuses every candidate).
 */
export function topFusedCandidates(
  input: HybridRows,
  fusion: Fusion,
  keep: number,
  head: number = RRF_HEAD,
): FusedCandidates | null {
  const { mask } = input;
  const matched = rowsPassing(input.matched, mask);
  if (fusion.method === 'weighted') return weightedCandidates(input, matched, fusion.alpha, keep);
  if (fusion.method === 'dbsf') return dbsfCandidates(input, matched, keep);
  const everyCandidate: Population = { rows: null, count: input.rowCount, mask };
  const side: VectorSide = {
    best: (count) => best(everyCandidate, input.cosine, input.idOf, count),
    ranks: (rows) => countRanks(everyCandidate, input.cosine, input.idOf, rows),
    cosine: (row) => input.cosine[row] as number,
  };
  return rrfCandidates(input, side, matched, fusion.k, rrfWeights(fusion), keep, head);
}

/**
 * RRF's vector side over every candidate: its best `count` rows (ties by ascending id), the exact ranks of
 * some rows, and a row's exact cosine. From every candidate's exact cosine (topFusedCandidates) or from a
 * dense pass's scores within a bound (dense-fusion.ts).
 */
export type VectorSide = {
  best(count: number): number[];
  ranks(rows: readonly number[]): number[];
  cosine(row: number): number;
};

/** DBSF needs each side's mean and standard deviation, then one selection over the fused scores. */
function dbsfCandidates(input: HybridRows, matched: RowList, keep: number): FusedCandidates {
  const { cosine, bm25, rowCount, mask } = input;
  // The candidates' cosines side by side (the whole array when no filter applies).
  let values = cosine.subarray(0, rowCount);
  if (mask !== undefined) {
    values = new Float64Array(rowCount);
    let count = 0;
    for (let row = 0; row < rowCount; row++) if (mask[row] !== 0) values[count++] = cosine[row] as number;
    values = values.subarray(0, count);
  }
  const nv = distributionNormaliser(values.length, (i) => values[i] as number);
  const nk = distributionNormaliser(matched.length, (j) => bm25[matched[j] as number] as number);
  const fusedOf = (row: number) => {
    const fromVector = nv(cosine[row] as number);
    return (bm25[row] as number) > 0 ? fromVector + nk(bm25[row] as number) : fromVector;
  };
  return selectBest(input, fusedOf, keep);
}

/** The best `keep` candidates by `fusedOf` (ties by ascending id), with their scores. */
function selectBest(input: HybridRows, fusedOf: (row: number) => number, keep: number): FusedCandidates {
  const { rowCount, mask } = input;
  const selector = new TopKSelector<number>(Math.max(1, keep));
  for (let row = 0; row < rowCount; row++) {
    if (mask !== undefined && mask[row] === 0) continue;
    const score = fusedOf(row);
    if (selector.mightAccept(score)) selector.offer(score, input.idOf(row), row);
  }
  const rows = selector.sorted().map((hit) => hit.ref);
  return withScores(rows, input, Float64Array.from(rows, fusedOf));
}

/**
 * The keyword side's min-max normaliser over `candidates` passing rows, of which `matched` match a term:
 * the others score 0 on that side.
 */
export function keywordNormaliser(
  bm25: ArrayLike<number>,
  matched: RowList,
  candidates: number,
): ReturnType<typeof normaliserOf> {
  let min = candidates > matched.length ? 0 : Number.POSITIVE_INFINITY;
  let max = candidates > matched.length ? 0 : Number.NEGATIVE_INFINITY;
  for (const row of matched) {
    const x = bm25[row] as number;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return normaliserOf(min, max, false);
}

/** Weighted fusion needs each side's minimum and maximum, then one selection over the fused scores. */
function weightedCandidates(
  input: HybridRows,
  matched: RowList,
  alpha: number,
  keep: number,
): FusedCandidates {
  const { rowCount, mask, cosine, bm25 } = input;
  let candidates = 0;
  let minVector = Number.POSITIVE_INFINITY;
  let maxVector = Number.NEGATIVE_INFINITY;
  for (let row = 0; row < rowCount; row++) {
    if (mask !== undefined && mask[row] === 0) continue;
    const x = cosine[row] as number;
    if (x < minVector) minVector = x;
    if (x > maxVector) maxVector = x;
    candidates += 1;
  }
  const nv = normaliserOf(minVector, maxVector, true);
  const nk = keywordNormaliser(bm25, matched, candidates);
  // The very expression `fuseScores` evaluates, so the scores are equal to the last bit.
  const fusedOf = (row: number) => alpha * nv(cosine[row] as number) + (1 - alpha) * nk(bm25[row] as number);
  return selectBest(input, fusedOf, keep);
}

/**
 * RRF ranks exactly only each list's head (its best `keep + head` rows). Beyond its head a list adds at
 * most 1 / (k + head + 1) to a row's score, so every row has a lower and an upper bound; rows whose upper
 * bound is under the `keep`-th best lower bound cannot reach the top, and only the few others with a
 * part still unknown get their exact rank in that list by counting.
 */
export const RRF_HEAD = 128;

export function rrfCandidates(
  input: Pick<HybridRows, 'bm25' | 'idOf'>,
  side: VectorSide,
  matched: RowList,
  k: number,
  weights: RrfWeights,
  keep: number,
  extra: number,
): FusedCandidates | null {
  const { bm25, idOf } = input;
  const head = keep + extra;
  // The keyword side ranks the matches; the vector side every candidate.
  const everyMatch: Population = { rows: matched, count: matched.length, mask: undefined };
  const vectorRank = new Map(side.best(head).map((row, i) => [row, i + 1]));
  const keywordRank = new Map(best(everyMatch, bm25, idOf, head).map((row, i) => [row, i + 1]));
  // A full head leaves rows out of its list's ranking; each of those gets at most weight * `below` from it.
  const below = 1 / (k + head + 1);
  if (!(below < 1 / (k + head))) return null;
  const belowVector = weights.vector * below;
  const belowKeyword = weights.keyword * below;
  const vectorCut = vectorRank.size === head;
  const keywordCut = keywordRank.size === head;
  const rows = [...new Set([...vectorRank.keys(), ...keywordRank.keys()])];
  const part = (weight: number, rank: number | undefined) => (rank === undefined ? 0 : weight / (k + rank));
  const lower = rows.map(
    (row) => part(weights.vector, vectorRank.get(row)) + part(weights.keyword, keywordRank.get(row)),
  );
  const unknownVector = (row: number) => !vectorRank.has(row);
  const unknownKeyword = (row: number) => !keywordRank.has(row) && (bm25[row] as number) > 0;
  const upper = rows.map(
    (row, i) =>
      (lower[i] as number) +
      (unknownVector(row) ? belowVector : 0) +
      (unknownKeyword(row) ? belowKeyword : 0),
  );
  const floor = rows.length >= keep ? ([...lower].sort((x, y) => y - x)[keep - 1] as number) : -Infinity;
  // Rows in neither head: vector part at most `belowVector`, keyword part at most `belowKeyword` (or none).
  if (vectorCut && belowVector + (keywordCut ? belowKeyword : 0) >= floor) return null;
  const kept = rows.filter((_, i) => (upper[i] as number) >= floor);
  const needVector = kept.filter(unknownVector);
  const needKeyword = kept.filter(unknownKeyword);
  side.ranks(needVector).forEach((rank, i) => {
    vectorRank.set(needVector[i] as number, rank);
  });
  countRanks(everyMatch, bm25, idOf, needKeyword).forEach((rank, i) => {
    keywordRank.set(needKeyword[i] as number, rank);
  });
  // Summed as `fuseScores` sums: the vector part, then the keyword part.
  const fused = Float64Array.from(kept, (row) => {
    const fromVector = weights.vector / (k + (vectorRank.get(row) as number));
    const rank = keywordRank.get(row);
    return rank === undefined ? fromVector : fromVector + weights.keyword / (k + rank);
  });
  return {
    rows: kept,
    vector: Float64Array.from(kept, (row) => side.cosine(row)),
    keyword: Float64Array.from(kept, (row) => bm25[row] as number),
    fused,
  };
}

/** Rows `rows[i]` (or i, when `rows` is null) for i < count, less those the mask leaves out. */
export type Population = { rows: RowList | null; count: number; mask: Uint8Array | undefined };

/**
 * The best `count` rows of the population by score (ties by ascending id), best first. The count-th best
 * score is selected first (nth-largest.ts); only the rows above it are sorted, and only the rows at it
 * compete by id, so a row under the bar costs a copy and a comparison.
 */
export function best(
  population: Population,
  scores: Float64Array,
  idOf: (row: number) => string,
  count: number,
): number[] {
  if (count < 1) return [];
  const { rows, mask } = population;
  const values = selectionScratch.take(population.count);
  let n = 0;
  for (let i = 0; i < population.count; i++) {
    const row = rows === null ? i : (rows[i] as number);
    if (mask !== undefined && mask[row] === 0) continue;
    values[n++] = scores[row] as number;
  }
  if (n === 0) return [];
  const bar = n > count ? nthLargest(values, n, count - 1) : Number.NEGATIVE_INFINITY;
  const above: number[] = [];
  const atBar: number[] = [];
  for (let i = 0; i < population.count; i++) {
    const row = rows === null ? i : (rows[i] as number);
    if (mask !== undefined && mask[row] === 0) continue;
    const score = scores[row] as number;
    if (score > bar) above.push(row);
    else if (score === bar) atBar.push(row);
  }
  orderByScore(above, scores, idOf);
  const room = count - above.length;
  if (room > 0 && atBar.length > 0) {
    // Every row at the bar has the same score: the smallest ids win.
    const ties = new TopKSelector<number>(Math.min(room, atBar.length));
    for (const row of atBar) ties.offer(bar, idOf(row), row);
    for (const hit of ties.sorted()) above.push(hit.ref);
  }
  return above;
}

/**
 * Scores copied for selection, reused across queries so a warm container does not allocate (and
 * first-touch) a buffer per query; selection is synchronous, so one per process is safe.
 */
const selectionScratch = new ScoreBuffer();

/**
 * The 1-based rank of each of `rows` within the population (higher score first, equal scores by
 * ascending id), as `ranksOf` over the whole population would give it, in one pass over the population
 * with a binary search into the few rows' scores (no sort of the population). A member whose score
 * equals an asking row's is compared by id with the askers of that score only (runs of equal BM25 scores
 * are long, askers few).
 */
export function countRanks(
  population: Population,
  scores: Float64Array,
  idOf: (row: number) => string,
  rows: readonly number[],
): number[] {
  return countRanksWithin(
    population,
    { approx: scores, error: 0 },
    (row) => scores[row] as number,
    idOf,
    rows,
  );
}

/**
 * `countRanks` from scores known within a bound: a member whose approximate score lies farther than
 * `error` from every asked score is placed by it, and only the others are scored exactly by `exactOf`
 * (with error 0, `exactOf` is the approximate score itself, and this is `countRanks`).
 */
export function countRanksWithin(
  population: Population,
  scores: DenseScores,
  exactOf: (row: number) => number,
  idOf: (row: number) => string,
  rows: readonly number[],
): number[] {
  if (rows.length === 0) return [];
  const { approx, error } = scores;
  const exact = rows.map(exactOf);
  const levels = Float64Array.from(exact).sort();
  const lowest = levels[0] as number;
  const firstAtOrAbove = firstAtOrAboveIn(levels, population.count);
  // The askers of each score, under the index of its first level.
  const askersAt: (number[] | undefined)[] = new Array(levels.length);
  const askerIds = rows.map(idOf);
  rows.forEach((_, i) => {
    const at = firstAtOrAbove(exact[i] as number);
    const list = askersAt[at];
    if (list === undefined) askersAt[at] = [i];
    else list.push(i);
  });
  // counts[j]: members scoring above levels[j - 1] and at most levels[j] (j = levels.length: above all).
  const counts = new Uint32Array(levels.length + 1);
  const before = new Uint32Array(rows.length);
  const members = population.rows;
  const mask = population.mask;
  let below = 0;
  for (let m = 0; m < population.count; m++) {
    const member = members === null ? m : (members[m] as number);
    if (mask !== undefined && mask[member] === 0) continue;
    const near = approx[member] as number;
    // Under every level: no search, no tie (the common case for askers near the top).
    if (near + error < lowest) {
      below++;
      continue;
    }
    // No level within the bound: the approximate score places the member, and it ties with no asker.
    const from = firstAtOrAbove(near - error);
    if (from === levels.length || (levels[from] as number) > near + error) {
      counts[from] = (counts[from] as number) + 1;
      continue;
    }
    const x = error === 0 ? near : exactOf(member);
    const at = error === 0 ? from : firstAtOrAbove(x);
    counts[at] = (counts[at] as number) + 1;
    if (at < levels.length && levels[at] === x) {
      const id = idOf(member);
      for (const i of askersAt[at] as number[])
        if (id < (askerIds[i] as string)) before[i] = (before[i] as number) + 1;
    }
  }
  counts[0] = (counts[0] as number) + below;
  const above = new Uint32Array(levels.length + 2);
  for (let j = levels.length; j >= 0; j--) above[j] = (above[j + 1] as number) + (counts[j] as number);
  return rows.map((_, i) => {
    const x = exact[i] as number;
    // Levels up to x hold members scoring at most x; the buckets after them, members scoring above.
    let lo = 0;
    let hi = levels.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((levels[mid] as number) <= x) lo = mid + 1;
      else hi = mid;
    }
    return (above[lo] as number) + (before[i] as number) + 1;
  });
}

function withScores(rows: number[], input: HybridRows, fused: Float64Array): FusedCandidates {
  return {
    rows,
    vector: Float64Array.from(rows, (row) => input.cosine[row] as number),
    keyword: Float64Array.from(rows, (row) => input.bm25[row] as number),
    fused,
  };
}
