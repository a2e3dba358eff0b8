/**
 * Both ends of one int8 query's scan from every row's integer dot product: the `wanted` rows with the
 * largest dots, best first, then the `wanted` rows with the smallest, smallest first (the negated query's
 * best), as `Int8TopScan` lays out two queries' lists. One native pass over the codes gives every row's
 * dot once, where a scan for the query and its negation computes each dot twice and keeps two sorted
 * lists of `wanted` rows as it goes; here only the rows at either end are sorted.
 *
 * A sorted sample of the dots gives a cut at each end that about `wanted` rows (and a margin) pass; one
 * pass over the rows collects those, and a cut that let too few through is moved outward and the pass
 * repeated (the last cut lets every row through, so it ends). The rows collected are sorted as one number
 * each (the distance and the row packed, exact below 2^53), so the sort needs no comparator. Ties are
 * listed in row order; any rows of equal dot serve a scan's bound alike. `bothEnds` chooses between this
 * and one native scan of the query and its negation.
 */

import type { Int8Distances, Int8TopScan } from './int8-codes';

/**
 * Where listing both ends from every row's dot beats scanning the query and its negation as two queries
 * (`QuantisedScanner.approximate`). Measured on the bench's 384-d clustered data, a 128th of the rows at
 * each end, three runs each on the 2-core machine: 0.65-0.81x at 100k rows, 0.67-0.83x at 30k, 0.70x at
 * 20k, about 1x at 10k.
 */
export const DENSE_ENDS_MIN_ROWS = 20_000;

/** Rows are packed below the distance: a row number must be under this. */
export const INT8_ENDS_MAX_ROWS = 2 ** 21;

const SAMPLE = 1024;

/**
 * Reused between calls (search is synchronous, one query at a time per process): the key buffers hold a
 * row each, 16 bytes a row of the largest matrix searched.
 */
const sample = new Float64Array(SAMPLE);
let topKeys = new Float64Array(0);
let bottomKeys = new Float64Array(0);

/**
 * The distance at `rank` (0 = smallest) among `taken` sampled ones, stretched to all `n` rows, with a
 * margin: a cut that about rank·n/taken rows, and some more, fall within. `widen` moves it outward.
 */
function cutAt(taken: number, n: number, wanted: number, widen: number, fromTop: boolean): number {
  const rank = Math.ceil(((wanted * taken) / n) * 1.25 * widen) + 4 * widen;
  if (rank >= taken) return fromTop ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  return (fromTop ? sample[rank] : sample[taken - 1 - rank]) as number;
}

/**
 * @param distances every row's usearch inner-product distance to the query, 1 − its integer dot product
 *   (row order; integers below 2^23 in magnitude, fewer than INT8_ENDS_MAX_ROWS rows).
 * @param wanted rows at each end, at most `distances.length`.
 */
export function int8Ends(distances: Float32Array, wanted: number): { rows: Int32Array; dots: Float64Array } {
  const n = distances.length;
  const rows = new Int32Array(2 * wanted);
  const values = new Float64Array(2 * wanted);
  if (wanted < 1) return { rows, dots: values };
  const step = Math.max(1, Math.floor(n / SAMPLE));
  let taken = 0;
  for (let i = 0; i < n && taken < SAMPLE; i += step) sample[taken++] = distances[i] as number;
  sample.subarray(0, taken).sort();
  if (topKeys.length < n) topKeys = new Float64Array(n);
  if (bottomKeys.length < n) bottomKeys = new Float64Array(n);
  let tops = 0;
  let bottoms = 0;
  for (let widen = 1; tops < wanted || bottoms < wanted; widen *= 4) {
    // Smallest distances are the largest dots (the top); largest distances the smallest dots.
    const topCut = tops < wanted ? cutAt(taken, n, wanted, widen, true) : Number.NEGATIVE_INFINITY;
    const bottomCut = bottoms < wanted ? cutAt(taken, n, wanted, widen, false) : Number.POSITIVE_INFINITY;
    const redoTop = tops < wanted;
    const redoBottom = bottoms < wanted;
    if (redoTop) tops = 0;
    if (redoBottom) bottoms = 0;
    for (let i = 0; i < n; i++) {
      const distance = distances[i] as number;
      // Largest dot first: ascending distance, then row. Smallest dot first: descending distance, then row.
      if (redoTop && distance <= topCut) topKeys[tops++] = distance * INT8_ENDS_MAX_ROWS + i;
      if (redoBottom && distance >= bottomCut) bottomKeys[bottoms++] = -distance * INT8_ENDS_MAX_ROWS + i;
    }
  }
  const top = topKeys.subarray(0, tops).sort();
  const bottom = bottomKeys.subarray(0, bottoms).sort();
  for (let i = 0; i < wanted; i++) {
    const t = top[i] as number;
    const topRow = t - Math.floor(t / INT8_ENDS_MAX_ROWS) * INT8_ENDS_MAX_ROWS;
    rows[i] = topRow;
    values[i] = 1 - (distances[topRow] as number);
    const m = bottom[i] as number;
    const bottomRow = m - Math.floor(m / INT8_ENDS_MAX_ROWS) * INT8_ENDS_MAX_ROWS;
    rows[wanted + i] = bottomRow;
    values[wanted + i] = (distances[bottomRow] as number) - 1;
  }
  return { rows, dots: values };
}

/** The query's codes, then their negation (reused, as the buffers above). */
let bothEndsCodes = new Int8Array(0);

/**
 * Both ends of `query`'s int8 scan over `codes`, `wanted` rows each, as `Int8TopScan` lays out two
 * queries' lists: from every row's dot when `distances` is given, else from one scan of the query and
 * its negation. The negated query's codes are the query's negated (they lie within ±127, so exactly):
 * its integer dots are exactly minus the query's, and the scan's bound holds for them as for these.
 */
export function bothEnds(
  scan: Int8TopScan,
  distances: Int8Distances | null,
  codes: Int8Array,
  query: Int8Array,
  dimension: number,
  wanted: number,
): { rows: ArrayLike<number>; dots: ArrayLike<number> } {
  if (distances !== null) return int8Ends(distances(codes, query, dimension), wanted);
  if (bothEndsCodes.length !== 2 * dimension) bothEndsCodes = new Int8Array(2 * dimension);
  for (let i = 0; i < dimension; i++) {
    const code = query[i] as number;
    bothEndsCodes[i] = code;
    bothEndsCodes[dimension + i] = -code;
  }
  return scan(codes, bothEndsCodes, dimension, wanted);
}
