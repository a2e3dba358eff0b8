/**
 * The r-th largest of n finite numbers in O(n) expected time (quickselect with a three-way partition, so
 * long runs of equal values, common among BM25 scores, cost one pass). Selecting a bar and then keeping
 * the rows above it costs no string comparison and no heap per row, which a top-k heap pays for every
 * row that enters it.
 */

/**
 * The value at 0-based place `r` when `values[0..n)` is sorted from largest to smallest. Reorders those
 * values in place. Every value must be finite (NaN compares as neither larger nor smaller).
 * @throws RangeError when r is not a place in [0, n).
 */
export function nthLargest(values: Float64Array, n: number, r: number): number {
  if (!Number.isInteger(r) || r < 0 || r >= n || n > values.length)
    throw new RangeError(`place ${r} is not among the ${n} values`);
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = medianOfThree(
      values[lo] as number,
      values[(lo + hi) >>> 1] as number,
      values[hi] as number,
    );
    // [lo, larger) > pivot, [larger, i) = pivot, (smaller, hi] < pivot; [i, smaller] not yet seen.
    let larger = lo;
    let i = lo;
    let smaller = hi;
    while (i <= smaller) {
      const x = values[i] as number;
      if (x > pivot) {
        values[i] = values[larger] as number;
        values[larger] = x;
        larger++;
        i++;
      } else if (x < pivot) {
        values[i] = values[smaller] as number;
        values[smaller] = x;
        smaller--;
      } else i++;
    }
    if (r < larger) hi = larger - 1;
    else if (r > smaller) lo = smaller + 1;
    else return pivot;
  }
  return values[lo] as number;
}

function medianOfThree(a: number, b: number, c: number): number {
  return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
}
