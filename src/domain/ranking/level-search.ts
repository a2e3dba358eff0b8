/**
 * Where a score falls among a few sorted levels, asked once per member of a large population (counting
 * ranks over every candidate, fused-candidates.ts). A binary search costs about log2(levels) steps a member;
 * with a guide (the answer at evenly spaced scores between the lowest and the highest level) most members
 * read their answer from the guide at once, and the rest search only between the answers at the edges of
 * their guide cell's neighbours. Every answer is checked against the levels themselves before it is
 * returned, so it is the binary search's answer whatever the rounding of the guide's arithmetic.
 */

/** Guide cells per level: enough that most cells hold no level. */
const CELLS_PER_LEVEL = 8;
/** Lookups per guide cell below which the guide costs more to build than it saves. */
const LOOKUPS_PER_CELL = 8;

/**
 * For `levels` sorted ascending (finite, at least one), a function giving the index of the first level
 * at or above x (levels.length when every level is under x; NaN compares as under none: index 0).
 * @param lookups about how many times the function will be called; a guide is built only when that
 *   many calls repay it.
 */
export function firstAtOrAboveIn(levels: Float64Array, lookups: number): (x: number) => number {
  const n = levels.length;
  const lowest = levels[0] as number;
  const highest = levels[n - 1] as number;
  const search = (x: number, from: number, to: number): number => {
    let lo = from;
    let hi = to;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((levels[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  // Most members score under every level or over every one: no search for those.
  const plain = (x: number): number => {
    if (!(x > lowest)) return 0;
    if (x > highest) return n;
    return search(x, 1, n - 1);
  };
  const cells = CELLS_PER_LEVEL * n;
  const width = (highest - lowest) / cells;
  if (n < 4 || lookups < LOOKUPS_PER_CELL * cells || !(width > 0) || !Number.isFinite(width)) return plain;
  // guide[c]: the answer for the score lowest + c * width (as computed), non-decreasing in c.
  const guide = new Int32Array(cells + 1);
  for (let c = 0; c <= cells; c++) guide[c] = search(lowest + c * width, 0, n);
  return (x: number): number => {
    if (!(x > lowest)) return 0;
    if (x > highest) return n;
    const c = Math.floor((x - lowest) / width);
    // x lies between the scores of cells c - 1 and c + 2, so its answer between theirs.
    const lo = c >= 1 && c - 1 <= cells ? (guide[c - 1] as number) : 0;
    const hi = c + 2 <= cells ? (guide[c + 2] as number) : n;
    // The answer lies in [lo, hi] exactly when these hold; otherwise search everything.
    if ((lo > 0 && !((levels[lo - 1] as number) < x)) || (hi < n && !((levels[hi] as number) >= x)))
      return search(x, 0, n);
    return lo === hi ? lo : search(x, lo, hi);
  };
}
