/**
 * The top of one int8 query's scan, or both ends of it, from every row's integer dot product: the
 * `wanted` rows with the largest dots, best first, then (with both ends) the `wanted` rows with the
 * smallest, smallest first (the negated query's best), as `Int8TopScan` lays out one or two queries'
 * lists. One native pass over the codes gives every row's dot once, where the native scan selects its
 * `wanted` rows with a heap of that size over every row's distance (for both ends, one heap for the query
 * and one for its negation, each dot computed twice); here only the rows listed are sorted.
 *
 * A sample of the dots gives a cut at each end that about `wanted` rows (and a margin) pass; one
 * pass over the rows collects those, and a cut that let too few through is moved outward and the pass
 * repeated (the last cut lets every row through, so it ends). The rows collected are sorted as one number
 * each (the distance and the row packed, exact below 2^53), so the sort needs no comparator. Ties are
 * listed in row order; any rows of equal dot serve a scan's bound alike. `scanEnds` chooses between this
 * and the native scan.
 */

import type { Int8Distances, Int8TopScan } from './int8-codes';
import { nthLargest } from './nth-largest';

/**
 * Rows from which both ends of a hybrid query's vector side are listed from every row's dot
 * (`QuantisedScanner.approximate`), rather than scanned as the query and its negation. Measured as whole
 * weighted-fusion searches on the bench's 384-d clustered data (the product's search in process, native
 * kernel, medians of 3,000 queries, two runs each on the 2-core machine): 0.86-0.91x the time at 500 and
 * 1k rows, 0.78x at 2k, 0.70-0.75x at 5k and 10k, and 0.65-0.81x of the scan alone at 100k.
 *
 * The bench's features suite agrees (one run each, this way against both ends scanned, `weighted` over
 * vector search): 1.45x against 2.06x at 10k and 1.67x against 2.10x at 100k in process, 1.60x against
 * 2.04x and 1.85x against 2.09x on the deployed path. The pass's time depends on the process's memory more
 * than the scan's does: it returns 20 bytes a row (row numbers, distances and counts in three new arrays)
 * that only V8's collector frees, so pages glibc handed back meanwhile are touched afresh, where the scan
 * returns only its list and frees its 16-byte-a-row work buffer at once. In one script running four kinds
 * of search in turn at 100k, the pass took 12.5 ms a call (3.5 ms with glibc keeping freed memory), and
 * `weighted` 4.2-4.4x a vector search against 2.3-2.4x with both ends scanned.
 */
export const DENSE_ENDS_MIN_ROWS = 500;

/**
 * Rows up to which that pass is used; above them both ends, and a long top, are scanned as at fewer than
 * DENSE_ENDS_MIN_ROWS rows. The pass's 20 bytes a row of new arrays are memory outside V8's heap that
 * only its collector frees, and the collections they bring on grow with the heap a large bot's copy
 * fills. Measured on the deployed path (snapshot and keyword index in a local Redis, the copy held,
 * medians of 40 to 150 queries of each kind in one round robin, one run per size): `weighted` took
 * 0.79x the time of scanning both ends at 100k, 0.84x at 300k, 1.08x at 600k and 1.16x at 1M (where the
 * collector took a fifth of an `rrf` search's time), and `rrf` 1.06x, 1.02x, 1.01x and 1.15x: the
 * crossing lies near 500k.
 */
export const DENSE_ENDS_MAX_ROWS = 500_000;

/**
 * The share of the rows from which a top alone is listed from every row's dot rather than scanned: the
 * native scan selects its list with a heap as large as the list, which costs more the longer the list
 * (on the bench's data at 10k rows, a scan listing 354 rows took 1.5x one listing 50).
 */
export const DENSE_TOP_MIN_SHARE = 1 / 64;

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
 * margin: a cut that about rank·n/taken rows, and some more, fall within. `widen` moves it outward. The
 * sample is selected from, not sorted: a sort of 1,024 numbers costs about 33 µs, more than the pass over
 * 10k rows it serves; a selection reorders the sample, which leaves the next selection right.
 */
function cutAt(taken: number, n: number, wanted: number, widen: number, fromTop: boolean): number {
  const rank = Math.ceil(((wanted * taken) / n) * 1.25 * widen) + 4 * widen;
  if (rank >= taken) return fromTop ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  // nthLargest counts from the largest: the rank-th smallest is the (taken − 1 − rank)-th largest.
  return nthLargest(sample, taken, fromTop ? taken - 1 - rank : rank);
}

/**
 * @param distances every row's usearch inner-product distance to the query, 1 − its integer dot product
 *   (row order; integers below 2^23 in magnitude, fewer than INT8_ENDS_MAX_ROWS rows).
 * @param wanted rows at each end, at most `distances.length`.
 * @param ends 2: the top, then the bottom; 1: the top alone.
 */
export function int8Ends(
  distances: Float32Array,
  wanted: number,
  ends: 1 | 2 = 2,
): { rows: Int32Array; dots: Float64Array } {
  const n = distances.length;
  const rows = new Int32Array(ends * wanted);
  const values = new Float64Array(ends * wanted);
  if (wanted < 1) return { rows, dots: values };
  const step = Math.max(1, Math.floor(n / SAMPLE));
  let taken = 0;
  for (let i = 0; i < n && taken < SAMPLE; i += step) sample[taken++] = distances[i] as number;
  if (topKeys.length < n) topKeys = new Float64Array(n);
  if (ends === 2 && bottomKeys.length < n) bottomKeys = new Float64Array(n);
  let tops = 0;
  // With the top alone, the bottom counts as complete from the start.
  let bottoms = ends === 2 ? 0 : wanted;
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
  for (let i = 0; i < wanted; i++) {
    const t = top[i] as number;
    const topRow = t - Math.floor(t / INT8_ENDS_MAX_ROWS) * INT8_ENDS_MAX_ROWS;
    rows[i] = topRow;
    values[i] = 1 - (distances[topRow] as number);
  }
  if (ends === 1) return { rows, dots: values };
  const bottom = bottomKeys.subarray(0, bottoms).sort();
  for (let i = 0; i < wanted; i++) {
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
 * One or both ends of `query`'s int8 scan over `codes`, `wanted` rows each, as `Int8TopScan` lays out one
 * or two queries' lists. From every row's dot when `distances` is given, for both ends always and for the
 * top alone when `wanted` is at least DENSE_TOP_MIN_SHARE of the rows; else from the native scan, of the
 * query and its negation for both ends. The negated query's codes are the query's negated (they lie
 * within ±127, so exactly): its integer dots are exactly minus the query's, and the scan's bound holds
 * for them as for these.
 */
export function scanEnds(
  scan: Int8TopScan,
  distances: Int8Distances | null,
  codes: Int8Array,
  query: Int8Array,
  dimension: number,
  wanted: number,
  ends: 1 | 2,
): { rows: ArrayLike<number>; dots: ArrayLike<number> } {
  const rowCount = codes.length / dimension;
  if (distances !== null && (ends === 2 || wanted >= rowCount * DENSE_TOP_MIN_SHARE)) {
    return int8Ends(distances(codes, query, dimension), wanted, ends);
  }
  if (ends === 1) return scan(codes, query, dimension, wanted);
  if (bothEndsCodes.length !== 2 * dimension) bothEndsCodes = new Int8Array(2 * dimension);
  for (let i = 0; i < dimension; i++) {
    const code = query[i] as number;
    bothEndsCodes[i] = code;
    bothEndsCodes[dimension + i] = -code;
  }
  return scan(codes, bothEndsCodes, dimension, wanted);
}
