/**
 * The sum of `count` numbers (`valueAt(i)`), correctly rounded: the exact sum is kept as non-overlapping
 * partials (Shewchuk's algorithm, as Python's `math.fsum`), so the result does not depend on the order
 * the numbers come in. Both search sources visit a bot's chunks in different orders; statistics summed
 * this way are equal to the last bit whichever order they used.
 */
export function exactSum(count: number, valueAt: (i: number) => number): number {
  // A typed buffer and no destructuring swap: about three times faster than an array that grows.
  let partials = new Float64Array(64);
  let length = 0;
  for (let n = 0; n < count; n++) {
    let x = valueAt(n);
    let used = 0;
    for (let p = 0; p < length; p++) {
      let y = partials[p] as number;
      if (Math.abs(x) < Math.abs(y)) {
        const larger = y;
        y = x;
        x = larger;
      }
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) partials[used++] = lo;
      x = hi;
    }
    if (used === partials.length) {
      const grown = new Float64Array(2 * used);
      grown.set(partials);
      partials = grown;
    }
    partials[used++] = x;
    length = used;
  }
  // Add the partials from the largest down; stop at the first rounding, then settle a half-way case.
  let i = length;
  if (i === 0) return 0;
  let hi = partials[--i] as number;
  let lo = 0;
  while (i > 0) {
    const x = hi;
    const y = partials[--i] as number;
    hi = x + y;
    const rounded = hi - x;
    lo = y - rounded;
    if (lo !== 0) break;
  }
  if (i > 0 && ((lo < 0 && (partials[i - 1] as number) < 0) || (lo > 0 && (partials[i - 1] as number) > 0))) {
    const y = lo * 2;
    const x = hi + y;
    if (y === x - hi) hi = x;
  }
  // A zero total is +0 whatever the signs of the zeros summed (as the exact sum, an integer, has none).
  return hi === 0 ? 0 : hi;
}
