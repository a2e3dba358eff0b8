/**
 * What a search does with scored chunks after the filter: plain top-k with an offset, the best chunks per
 * document (grouping), or maximal marginal relevance over the best candidates. Both search sources (the
 * snapshot and DynamoDB) offer their chunks to one `Ranker`, so they rank alike.
 */
import { ScoreBuffer, type ScoredRef, TopKSelector } from './scoring';

export type RankPlan = {
  limit: number;
  offset: number;
  /** Group by a key (the filename): `limit` counts groups, each keeps up to groupSize chunks. */
  groupSize?: number;
  mmr?: { diversity: number; candidates: number };
};

export type RankedGroup<T> = { id: string; hits: ScoredRef<T>[] };

/** Plain or MMR results (`groups` undefined), or the groups (and `hits` their chunks in order). */
export type Ranked<T> = { hits: ScoredRef<T>[]; groups: RankedGroup<T>[] | undefined };

/** Whether (scoreA, idA) ranks above (scoreB, idB): higher score, then lower id. */
function ranksAbove(a: { score: number; id: string }, b: { score: number; id: string }): boolean {
  return a.score > b.score || (a.score === b.score && a.id < b.id);
}

/** The candidates' vectors (and the query after them), copied for MMR's pairwise dot products. */
const mmrScratch = new ScoreBuffer();

/** The dot product of rows `a` and `b` of `packed` (each `dimension` long), summed in index order. */
function packedDot(packed: Float64Array, a: number, b: number, dimension: number): number {
  let sum = 0;
  const x = a * dimension;
  const y = b * dimension;
  for (let i = 0; i < dimension; i++) sum += (packed[x + i] as number) * (packed[y + i] as number);
  return sum;
}

/**
 * Greedy maximal marginal relevance: repeatedly takes the candidate with the highest
 * `(1 - diversity) * similarity(query) - diversity * max similarity(already taken)`, the first taken being
 * the most relevant; ties go to the earlier candidate (better score, then lower id). Exact over the
 * candidates, from the unit vectors both sources share, each similarity summed in float64 in index order.
 *
 * Lazily: once every candidate has its similarity to the first pick, its max similarity only grows as more
 * are taken, so its value from the similarities it has so far is an upper bound of its value now. Each
 * later pick brings the candidate with the highest such bound (ties to the earlier one) up to date, until
 * the one with the highest bound already is: no other can then beat or tie it, and its value is the one
 * computing every similarity would give. A candidate whose bound stays under the picks never has its
 * similarity to the later picks computed.
 * @param candidates best first.
 */
export function mmrSelect<T>(
  candidates: ScoredRef<T>[],
  unitVectorOf: (ref: T) => ArrayLike<number>,
  unitQuery: ArrayLike<number>,
  count: number,
  diversity: number,
): ScoredRef<T>[] {
  const n = candidates.length;
  const dimension = unitQuery.length;
  // One float64 matrix (a float32 value and a product of two are exact in float64, so the sums are the
  // same): the pairwise loop then reads one array type only, from a buffer reused across queries.
  const packed = mmrScratch.take((n + 1) * dimension);
  for (const [i, candidate] of candidates.entries())
    packed.set(ofDimension(unitVectorOf(candidate.ref), dimension), i * dimension);
  packed.set(unitQuery, n * dimension);
  const relevance = new Float64Array(n);
  for (let i = 0; i < n; i++) relevance[i] = packedDot(packed, i, n, dimension);
  // closest[i]: the max similarity of candidate i to the first known[i] picks; value[i] its MMR value
  // from those (before the first pick, with no penalty).
  const closest = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
  const known = new Int32Array(n);
  const value = new Float64Array(n);
  const taken = new Uint8Array(n);
  const picks: number[] = [];
  const bringUpToDate = (i: number) => {
    for (let p = known[i] as number; p < picks.length; p++) {
      const similarity = packedDot(packed, i, picks[p] as number, dimension);
      if (similarity > (closest[i] as number)) closest[i] = similarity;
    }
    known[i] = picks.length;
    value[i] = (1 - diversity) * (relevance[i] as number) - diversity * (closest[i] as number);
  };
  for (let i = 0; i < n; i++) value[i] = (1 - diversity) * (relevance[i] as number);
  while (picks.length < Math.min(count, n)) {
    for (;;) {
      let best = -1;
      for (let i = 0; i < n; i++) {
        if (taken[i] === 0 && (best === -1 || (value[i] as number) > (value[best] as number))) best = i;
      }
      if (known[best] === picks.length) {
        taken[best] = 1;
        picks.push(best);
        break;
      }
      bringUpToDate(best);
    }
    // A similarity to the first pick may be negative (a value above the one without penalty), so every
    // candidate gets it before values can serve as bounds.
    if (picks.length === 1) for (let i = 0; i < n; i++) if (taken[i] === 0) bringUpToDate(i);
  }
  return picks.map((i) => candidates[i] as ScoredRef<T>);
}

/** `vector`, checked to have `dimension` numbers (each row of the packed matrix is that long). */
function ofDimension(vector: ArrayLike<number>, dimension: number): ArrayLike<number> {
  if (vector.length !== dimension) {
    throw new RangeError(`MMR needs vectors of the query's ${dimension} dimensions, got ${vector.length}`);
  }
  return vector;
}

/**
 * Collects scored chunks for one plan. Callers offer each chunk that passed the filter and the score
 * threshold to `selectorFor(group)` (asking `mightAccept` first, to skip most chunks cheaply).
 */
export class Ranker<T> {
  private readonly top: TopKSelector<T> | undefined;
  private readonly groups = new Map<string, TopKSelector<T>>();

  constructor(private readonly plan: RankPlan) {
    if (plan.groupSize === undefined) {
      const wanted = plan.offset + plan.limit;
      this.top = new TopKSelector<T>(plan.mmr === undefined ? wanted : Math.max(wanted, plan.mmr.candidates));
    }
  }

  /** Whether results are grouped (then offer each chunk to its group's selector). */
  get grouped(): boolean {
    return this.top === undefined;
  }

  /** The selector a chunk goes to: its group's when grouping, else the one top-k. */
  selectorFor(group: string): TopKSelector<T> {
    if (this.top !== undefined) return this.top;
    let selector = this.groups.get(group);
    if (selector === undefined) {
      selector = new TopKSelector<T>(this.plan.groupSize as number);
      this.groups.set(group, selector);
    }
    return selector;
  }

  /**
   * The results: for groups, the `limit` groups whose best chunk ranks highest, in that order, each with
   * its best chunks; otherwise the top `offset + limit` (re-ordered by MMR when asked), less the first
   * `offset`.
   */
  finish(unitVectorOf: (ref: T) => ArrayLike<number>, unitQuery: ArrayLike<number>): Ranked<T> {
    const { limit, offset, mmr } = this.plan;
    if (this.top === undefined) {
      const groups: RankedGroup<T>[] = [];
      for (const [id, selector] of this.groups) {
        const hits = selector.sorted();
        if (hits.length > 0) groups.push({ id, hits });
      }
      groups.sort((a, b) => (ranksAbove(a.hits[0] as ScoredRef<T>, b.hits[0] as ScoredRef<T>) ? -1 : 1));
      const kept = groups.slice(0, limit);
      return { hits: kept.flatMap((g) => g.hits), groups: kept };
    }
    const sorted = this.top.sorted();
    const ordered =
      mmr === undefined ? sorted : mmrSelect(sorted, unitVectorOf, unitQuery, offset + limit, mmr.diversity);
    return { hits: ordered.slice(offset, offset + limit), groups: undefined };
  }
}
