import fc from 'fast-check';
import { best } from '../../src/domain/ranking/fused-candidates';
import { nthLargest } from '../../src/domain/ranking/nth-largest';

const seed = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);

/**
 * Coarse values so that long runs of equal values occur, as they do among BM25 scores (-0 made +0: the
 * two are equal as scores, and toBe tells them apart).
 */
const values = fc.array(
  fc.oneof(
    fc.integer({ min: -5, max: 5 }),
    fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((x) => x + 0),
  ),
  { minLength: 1, maxLength: 400 },
);

describe('nthLargest', () => {
  it('is the value at place r of the values sorted from largest to smallest', () => {
    console.log(`nthLargest property seed ${seed} (TEST_SEED replays it)`);
    fc.assert(
      fc.property(values, fc.nat(), (list, pick) => {
        const r = pick % list.length;
        const sorted = [...list].sort((a, b) => b - a);
        const buffer = new Float64Array(list.length + 3);
        buffer.set(list);
        expect(nthLargest(buffer, list.length, r)).toBe(sorted[r]);
        // Only reordered: the same values are there.
        expect([...buffer.subarray(0, list.length)].sort((a, b) => b - a)).toEqual(sorted);
      }),
      { seed, numRuns: 300 },
    );
  });

  it('refuses a place outside the values', () => {
    expect(() => nthLargest(new Float64Array([1, 2]), 2, 2)).toThrow(RangeError);
    expect(() => nthLargest(new Float64Array([1, 2]), 2, -1)).toThrow(RangeError);
    expect(() => nthLargest(new Float64Array([1, 2]), 3, 0)).toThrow(RangeError);
  });
});

describe('best', () => {
  it('gives the best rows by score, equal scores by ascending id, as sorting every member does', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ score: fc.integer({ min: 0, max: 6 }), passes: fc.boolean() }), {
          minLength: 0,
          maxLength: 300,
        }),
        fc.constantFrom('every row', 'listed rows'),
        fc.boolean(),
        fc.integer({ min: 1, max: 320 }),
        (rows, population, masked, count) => {
          const ids = rows.map((_, i) => `c${(i * 7919) % 1009}-${i}`);
          const scores = Float64Array.from(rows, (r) => r.score / 4);
          const mask = masked ? Uint8Array.from(rows, (r) => (r.passes ? 1 : 0)) : undefined;
          // Listed rows: every third row, in ascending order, as a query's matches come.
          const listed = rows.flatMap((_, i) => (i % 3 === 0 ? [i] : []));
          const members = population === 'every row' ? rows.map((_, i) => i) : listed;
          const expected = members
            .filter((row) => mask === undefined || mask[row] !== 0)
            .sort(
              (a, b) =>
                (scores[b] as number) - (scores[a] as number) ||
                ((ids[a] as string) < (ids[b] as string) ? -1 : 1),
            )
            .slice(0, count);
          const got = best(
            population === 'every row'
              ? { rows: null, count: rows.length, mask }
              : { rows: listed, count: listed.length, mask },
            scores,
            (row) => ids[row] as string,
            count,
          );
          expect(got).toEqual(expected);
        },
      ),
      { seed, numRuns: 300 },
    );
  });
});
