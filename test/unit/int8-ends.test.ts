import fc from 'fast-check';
import { int8Ends } from '../../src/domain/ranking/int8-ends';

/**
 * The ends of a scan listed from every row's int8 distance must be what sorting every row gives: the
 * largest dots best first, then the smallest (as the negated query's dots), ties in row order.
 */
function bySorting(distances: Float32Array, wanted: number): { rows: number[]; dots: number[] } {
  const order = Array.from(distances.keys());
  const dot = (row: number) => 1 - (distances[row] as number);
  const top = [...order].sort((a, b) => dot(b) - dot(a) || a - b).slice(0, wanted);
  const bottom = [...order].sort((a, b) => dot(a) - dot(b) || a - b).slice(0, wanted);
  return { rows: [...top, ...bottom], dots: [...top.map(dot), ...bottom.map((row) => 0 - dot(row))] };
}

describe('the ends of an int8 scan from every dot', () => {
  it.each([
    ['both ends', 2],
    ['the top alone', 1],
  ] as const)(
    'lists %s exactly as sorting gives them, at any spread of dots, with ties and repeats',
    (_, ends) => {
      fc.assert(
        fc.property(
          // Dots as the kernel gives them: integers within ±127²·384, some spread wide, some packed in a
          // few values (many ties), some all equal.
          fc.oneof(
            fc.array(fc.integer({ min: -6_193_536, max: 6_193_536 }), { minLength: 1, maxLength: 400 }),
            fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 1, maxLength: 400 }),
            fc.array(fc.constant(7), { minLength: 1, maxLength: 50 }),
          ),
          fc.double({ min: 0, max: 1, noNaN: true }),
          (dots, share) => {
            const distances = Float32Array.from(dots, (dot) => 1 - dot);
            const wanted = Math.max(1, Math.ceil(share * dots.length));
            const listed = int8Ends(distances, wanted, ends);
            const expected = bySorting(distances, wanted);
            expect(Array.from(listed.rows)).toEqual(expected.rows.slice(0, ends * wanted));
            expect(Array.from(listed.dots)).toEqual(expected.dots.slice(0, ends * wanted));
          },
        ),
        { numRuns: 400 },
      );
    },
  );

  it('lists nothing when no row is wanted', () => {
    expect(int8Ends(new Float32Array([1, 2, 3]), 0)).toEqual({
      rows: new Int32Array(0),
      dots: new Float64Array(0),
    });
  });
});
