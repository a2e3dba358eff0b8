/**
 * The few candidates of a hybrid query that can reach its top `keep`, with their exact fused scores, so
 * fusion no longer ranks (sorts) every row and no longer looks up every row's id.
 *
 * Let M be the candidates that match a query term (keyword score > 0) and R the others. Every candidate in
 * R gets the same keyword contribution (rrf: none; weighted: the normalised 0), so within R the fused
 * score falls as the vector score falls: with rrf strictly (distinct vector ranks give distinct
 * 1 / (k + rank), checked below), with weighted through the very expression `fuseScores` evaluates.
 * Hence no candidate of R outside R's own best `keep` can beat all `keep` of them, and the top `keep` of
 * the full fused list lies within M plus R's best `keep`. Only those candidates need exact scores:
 * - rrf: their vector ranks over ALL candidates, by one counting pass (a binary search per candidate
 *   into the few candidates' sorted scores, no sort of the whole list); keyword ranks over M.
 * - weighted: the min-max normalisers need only the minimum and maximum of each side.
 * The result is the same list, the same scores, bit for bit, as fusing every candidate (unit-tested
 * against `fuseScores` over the full lists).
 */
import { type Fusion, normaliserOf } from './fusion';
import { TopKSelector } from './scoring';

/** Candidate rows (ascending) with their vector, keyword and fused scores, in parallel arrays. */
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
  matched: readonly number[];
  idOf: (row: number) => string;
};

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
  const matched = input.matched.filter((row) => mask === undefined || mask[row] !== 0);
  return fusion.method === 'weighted'
    ? weightedCandidates(input, matched, fusion.alpha, keep)
    : rrfCandidates(input, matched, fusion.k, keep, head);
}

/** Weighted fusion needs each side's minimum and maximum, then one selection over the fused scores. */
function weightedCandidates(
  input: HybridRows,
  matched: readonly number[],
  alpha: number,
  keep: number,
): FusedCandidates {
  const { rowCount, mask, cosine, bm25, idOf } = input;
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
  // Candidates without a match score 0 on the keyword side.
  let minKeyword = candidates > matched.length ? 0 : Number.POSITIVE_INFINITY;
  let maxKeyword = candidates > matched.length ? 0 : Number.NEGATIVE_INFINITY;
  for (const row of matched) {
    const x = bm25[row] as number;
    if (x < minKeyword) minKeyword = x;
    if (x > maxKeyword) maxKeyword = x;
  }
  const nv = normaliserOf(minVector, maxVector, true);
  const nk = normaliserOf(minKeyword, maxKeyword, false);
  // The very expression `fuseScores` evaluates, so the scores are equal to the last bit.
  const fusedOf = (row: number) => alpha * nv(cosine[row] as number) + (1 - alpha) * nk(bm25[row] as number);
  const selector = new TopKSelector<number>(Math.max(1, keep));
  for (let row = 0; row < rowCount; row++) {
    if (mask !== undefined && mask[row] === 0) continue;
    const score = fusedOf(row);
    if (selector.mightAccept(score)) selector.offer(score, idOf(row), row);
  }
  const rows = selector.sorted().map((hit) => hit.ref);
  return withScores(rows, input, Float64Array.from(rows, fusedOf));
}

/**
 * Rows ranked in the vector list's top `keep + head` get their vector rank from that top list; a matched
 * row below it scores at most 1 / (k + head + 1) from the vector side, so only the matched rows whose
 * keyword rank could still lift them into the top `keep` (the best few by BM25) get an exact vector rank,
 * by counting. Keyword ranks are counted the same way, for those rows only.
 */
export const RRF_HEAD = 256;

function rrfCandidates(
  input: HybridRows,
  matched: readonly number[],
  k: number,
  keep: number,
  extra: number,
): FusedCandidates | null {
  const { rowCount, mask, cosine, bm25, idOf } = input;
  const head = keep + extra;
  // The two populations ranked: every candidate (vector side), the matches (keyword side).
  const everyCandidate: Population = { rows: null, count: rowCount, mask };
  const everyMatch: Population = { rows: matched, count: matched.length, mask: undefined };
  const top = best(everyCandidate, cosine, idOf, head);
  // Every row below the head scores at most `below` from the vector side, every head row more.
  const below = 1 / (k + head + 1);
  if (top.length === head && !(below < 1 / (k + head))) return null;
  const isMatch = (row: number) => (bm25[row] as number) > 0;
  const headMatches = top.filter(isMatch);
  const keywordRank = new Map<number, number>();
  countRanks(everyMatch, bm25, idOf, headMatches).forEach((rank, i) => {
    keywordRank.set(headMatches[i] as number, rank);
  });
  const fusedOf = (row: number, vectorRank: number) => {
    const fromVector = 1 / (k + vectorRank);
    const rank = keywordRank.get(row);
    return rank === undefined ? fromVector : fromVector + 1 / (k + rank);
  };
  const headFused = top.map((row, i) => fusedOf(row, i + 1));
  const uncertain: number[] = [];
  if (top.length === head) {
    // A lower bound of the final keep-th best score: the keep-th best of some of the candidates. A match
    // below the head with keyword rank r scores at most below + 1 / (k + r): those under the floor
    // (strictly) have `keep` candidates ahead of them whatever their exact vector rank.
    const floor = [...headFused].sort((a, b) => b - a)[keep - 1] as number;
    let reach = 0;
    while (reach < matched.length && below + 1 / (k + reach + 1) >= floor) reach += 1;
    const inHead = new Set(top);
    best(everyMatch, bm25, idOf, reach).forEach((row, i) => {
      keywordRank.set(row, i + 1);
      if (!inHead.has(row)) uncertain.push(row);
    });
  }
  const counted = countRanks(everyCandidate, cosine, idOf, uncertain);
  const rows = [...top, ...uncertain];
  const fused = new Float64Array(rows.length);
  headFused.forEach((score, i) => {
    fused[i] = score;
  });
  uncertain.forEach((row, i) => {
    fused[top.length + i] = fusedOf(row, counted[i] as number);
  });
  return withScores(rows, input, fused);
}

/** Rows `rows[i]` (or i, when `rows` is null) for i < count, less those the mask leaves out. */
type Population = { rows: readonly number[] | null; count: number; mask: Uint8Array | undefined };

/** The best `count` rows of the population by score (ties by ascending id), best first. */
function best(
  population: Population,
  scores: Float64Array,
  idOf: (row: number) => string,
  count: number,
): number[] {
  if (count < 1) return [];
  const selector = new TopKSelector<number>(count);
  const { rows, mask } = population;
  for (let i = 0; i < population.count; i++) {
    const row = rows === null ? i : (rows[i] as number);
    if (mask !== undefined && mask[row] === 0) continue;
    const score = scores[row] as number;
    if (selector.mightAccept(score)) selector.offer(score, idOf(row), row);
  }
  return selector.sorted().map((hit) => hit.ref);
}

/**
 * The 1-based rank of each of `rows` within the population (higher score first, equal scores by
 * ascending id), as `ranksOf` over the whole population would give it, in one pass over the population
 * with a binary search into the few rows' scores (no sort of the population).
 */
function countRanks(
  population: Population,
  scores: Float64Array,
  idOf: (row: number) => string,
  rows: readonly number[],
): number[] {
  if (rows.length === 0) return [];
  const levels = Float64Array.from(rows, (row) => scores[row] as number).sort();
  // counts[j]: members scoring above levels[j - 1] and at most levels[j] (j = levels.length: above all).
  const counts = new Uint32Array(levels.length + 1);
  const ties = new Map<number, number[]>();
  const members = population.rows;
  const mask = population.mask;
  for (let i = 0; i < population.count; i++) {
    const row = members === null ? i : (members[i] as number);
    if (mask !== undefined && mask[row] === 0) continue;
    const x = scores[row] as number;
    let lo = 0;
    let hi = levels.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((levels[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    counts[lo] = (counts[lo] as number) + 1;
    if (lo < levels.length && levels[lo] === x) {
      const run = ties.get(x);
      if (run === undefined) ties.set(x, [row]);
      else run.push(row);
    }
  }
  const above = new Uint32Array(levels.length + 2);
  for (let j = levels.length; j >= 0; j--) above[j] = (above[j + 1] as number) + (counts[j] as number);
  const before = tiedBelow(rows, scores, idOf, ties);
  return rows.map((row, i) => {
    const x = scores[row] as number;
    let lo = 0;
    let hi = levels.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((levels[mid] as number) <= x) lo = mid + 1;
      else hi = mid;
    }
    // Buckets from the first level above x hold members scoring above x; equal ones come before by id.
    return (above[lo] as number) + (before[i] as number) + 1;
  });
}

/**
 * For each of `rows`, how many members with its very score have a smaller id. Runs of equal scores can be
 * long (BM25 repeats for equal tf and length) while few rows ask, so each tied member is placed among the
 * askers of its score (sorted by id) by a binary search, rather than sorting the run.
 */
function tiedBelow(
  rows: readonly number[],
  scores: Float64Array,
  idOf: (row: number) => string,
  ties: ReadonlyMap<number, number[]>,
): Uint32Array {
  const askers = new Map<number, number[]>();
  rows.forEach((row, i) => {
    const x = scores[row] as number;
    const list = askers.get(x);
    if (list === undefined) askers.set(x, [i]);
    else list.push(i);
  });
  const before = new Uint32Array(rows.length);
  for (const [x, list] of askers) {
    const ids = list.map((i) => idOf(rows[i] as number));
    const order = list.map((_, j) => j).sort((a, b) => ((ids[a] as string) < (ids[b] as string) ? -1 : 1));
    const sortedIds = order.map((j) => ids[j] as string);
    // below[p]: tied members whose id is below the p-th asker's and at least the previous asker's.
    const below = new Uint32Array(order.length + 1);
    for (const member of ties.get(x) ?? []) {
      const at = idsAtMost(sortedIds, idOf(member));
      below[at] = (below[at] as number) + 1;
    }
    let running = 0;
    order.forEach((j, p) => {
      running += below[p] as number;
      before[list[j] as number] = running;
    });
  }
  return before;
}

/** How many of the sorted `ids` are at most `id` (an asker's own id counts itself out). */
function idsAtMost(ids: readonly string[], id: string): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ids[mid] as string) <= id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function withScores(rows: number[], input: HybridRows, fused: Float64Array): FusedCandidates {
  return {
    rows,
    vector: Float64Array.from(rows, (row) => input.cosine[row] as number),
    keyword: Float64Array.from(rows, (row) => input.bm25[row] as number),
    fused,
  };
}
