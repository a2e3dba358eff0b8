/**
 * The sum of `count` numbers (`valueAt(i)`), correctly rounded: the exact sum is kept as non-overlapping
 * partials (Shewchuk's algorithm, as Python's `math.fsum`), so the result does not depend on the order
 * the numbers come in. Both search sources visit a bot's chunks in different orders; statistics summed
 * this way are equal to the last bit whichever order they used.
 */
export function exactSum(count: number, valueAt: (i: number) => number): number {
  const partials: number[] = [];
  for (let n = 0; n < count; n++) {
    let x = valueAt(n);
    let used = 0;
    for (let p = 0; p < partials.length; p++) {
      let y = partials[p] as number;
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) partials[used++] = lo;
      x = hi;
    }
    partials.length = used;
    partials.push(x);
  }
  // Add the partials from the largest down; stop at the first rounding, then settle a half-way case.
  let i = partials.length;
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
  return hi;
}
