/**
 * Exact vector-side answers from one approximate scan (`VectorScan`: rows best first by a score within
 * `error` of the exact one), re-scoring only the rows whose place the bound leaves open:
 * - `top(m)`: the exact best m candidates, re-scored in scan order until the next row's ceiling
 *   (approximate + error) falls strictly under the m-th exact score;
 * - `rankOf(row)`: the row's exact 1-based rank among the candidates (higher score first, equal scores by
 *   ascending id, as `countRanks` and full fusion rank). Rows whose floor (approximate − error) lies
 *   strictly above its exact score s rank above it, rows whose ceiling lies strictly under s rank below,
 *   and only the rows between are re-scored. Every row outside the scan has a ceiling at most the last
 *   row's, so when that lies strictly under s they all rank below it; otherwise the rank is unknown (null)
 *   and the caller scans deeper.
 * Exact scores come from `cosineOf` (the function every path scores with), each computed once.
 */

import { type ScoredRef, TopKSelector, type VectorScan } from './scoring';

export type ScanRankInput = {
  /** Row i is a candidate when mask is absent or mask[i] !== 0. */
  mask: Uint8Array | undefined;
  idOf: (row: number) => string;
  cosineOf: (row: number) => number;
};

export class ScanRanks {
  /** candidatesBefore[j]: candidates among the first j listed rows (made on first need, with a mask). */
  private candidatesBefore: Int32Array | null = null;
  /** Each listed row's place in the scan (made on first need). */
  private listedAt: Map<number, number> | null = null;

  /** @param exactScores exact cosines already computed for this query (shared with a shallower scan's reader). */
  constructor(
    private readonly scan: VectorScan,
    private readonly input: ScanRankInput,
    private readonly exactScores: Map<number, number> = new Map(),
  ) {}

  /** How many rows the scan lists. */
  get depth(): number {
    return this.scan.rows.length;
  }

  exact(row: number): number {
    const known = this.exactScores.get(row);
    if (known !== undefined) return known;
    const score = this.input.cosineOf(row);
    this.exactScores.set(row, score);
    return score;
  }

  private isCandidate(row: number): boolean {
    const { mask } = this.input;
    return mask === undefined || mask[row] !== 0;
  }

  /** The ceiling of every row the scan left out (none when it is complete). */
  private outsideCeiling(): number {
    const { approx, error, complete } = this.scan;
    if (complete || approx.length === 0)
      return complete ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    return (approx[approx.length - 1] as number) + error;
  }

  /** The exact best `m` candidates, best first (ties by ascending id); null when the scan is too short. */
  top(m: number): ScoredRef<number>[] | null {
    const { rows, approx, error } = this.scan;
    const selector = new TopKSelector<number>(Math.max(1, m));
    let held = 0;
    for (let j = 0; j < rows.length; j++) {
      const ceiling = (approx[j] as number) + error;
      // Later rows and rows outside the scan have no larger ceiling: none of them can enter.
      if (held >= m && !selector.mightAccept(ceiling)) return selector.sorted();
      const row = rows[j] as number;
      if (!this.isCandidate(row)) continue;
      const score = this.exact(row);
      held++;
      if (selector.mightAccept(score)) selector.offer(score, this.input.idOf(row), row);
    }
    if (this.scan.complete) return selector.sorted();
    return held >= m && !selector.mightAccept(this.outsideCeiling()) ? selector.sorted() : null;
  }

  /** The row's exact rank among the candidates, or null when rows outside the scan could rank above it. */
  rankOf(row: number): number | null {
    const { rows, approx, error } = this.scan;
    const s = this.exact(row);
    if (!(this.outsideCeiling() < s)) return null;
    // approx is non-increasing: rows before `above` have floors strictly over s, rows from `below` on
    // have ceilings strictly under s.
    const above = firstIndex(approx, (a) => !(a - error > s));
    const below = Math.max(
      above,
      firstIndex(approx, (a) => a + error < s),
    );
    let count = this.candidatesAmongFirst(above);
    const id = this.input.idOf(row);
    for (let j = above; j < below; j++) {
      const other = rows[j] as number;
      if (other === row || !this.isCandidate(other)) continue;
      const score = this.exact(other);
      if (score > s || (score === s && this.input.idOf(other) < id)) count++;
    }
    return count + 1;
  }

  /** The most the row's exact score can be, from the scan alone (no re-score). */
  ceilingOf(row: number): number {
    if (this.listedAt === null) {
      const listedAt = new Map<number, number>();
      const { rows } = this.scan;
      for (let j = 0; j < rows.length; j++) listedAt.set(rows[j] as number, j);
      this.listedAt = listedAt;
    }
    const at = this.listedAt.get(row);
    return at === undefined ? this.outsideCeiling() : (this.scan.approx[at] as number) + this.scan.error;
  }

  /** Lower bound of the row's rank from the bound alone: one past the candidates whose floor lies over its score. */
  rankAtLeast(row: number): number {
    const { approx, error } = this.scan;
    const s = this.exact(row);
    return this.candidatesAmongFirst(firstIndex(approx, (a) => !(a - error > s))) + 1;
  }

  /** Upper bound of the row's rank from the bound alone (no re-score); null when the scan is too short. */
  rankAtMost(row: number): number | null {
    const { approx, error } = this.scan;
    const s = this.exact(row);
    if (!(this.outsideCeiling() < s)) return null;
    // The others that may rank above it, plus itself (counted apart: its own listing may fall either side).
    const below = firstIndex(approx, (a) => a + error < s);
    return this.candidatesAmongFirst(below) + 1;
  }

  private candidatesAmongFirst(j: number): number {
    if (this.input.mask === undefined) return j;
    if (this.candidatesBefore === null) {
      const { rows } = this.scan;
      const before = new Int32Array(rows.length + 1);
      for (let i = 0; i < rows.length; i++)
        before[i + 1] = (before[i] as number) + (this.isCandidate(rows[i] as number) ? 1 : 0);
      this.candidatesBefore = before;
    }
    return this.candidatesBefore[j] as number;
  }
}

/** The first index whose value satisfies `test` (false then true along the array), or its length. */
function firstIndex(values: ArrayLike<number>, test: (value: number) => boolean): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (test(values[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
