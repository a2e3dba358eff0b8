import fc from 'fast-check';
import { orderByScore } from '../../src/domain/ranking/score-order';

/** The order every ranked list uses, by a plain comparator sort. */
function byComparator(rows: number[], scores: readonly number[], idOf: (row: number) => string): number[] {
  return [...rows].sort((a, b) => {
    const x = scores[a] as number;
    const y = scores[b] as number;
    if (x !== y) return y - x;
    return idOf(a) < idOf(b) ? -1 : 1;
  });
}

describe('orderByScore', () => {
  it('orders rows highest score first, equal scores by ascending id, as a comparator sort does', () => {
    const score = fc.oneof(
      fc.integer({ min: -3, max: 3 }),
      fc.constantFrom(0, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-300, -1e-300),
      fc.double({ noNaN: true }),
    );
    fc.assert(
      fc.property(fc.array(score, { maxLength: 300 }), fc.integer({ min: 0, max: 1000 }), (scores, salt) => {
        // Rows name their scores in a shuffled order; ids are not in row order.
        const rows = scores.map((_, i) => (i * 7 + salt) % scores.length);
        const unique = [...new Set(rows)];
        const idOf = (row: number) => `id-${(row * 31 + salt) % 997}-${row}`;
        const ordered = [...unique];
        orderByScore(ordered, scores, idOf);
        expect(ordered).toEqual(byComparator(unique, scores, idOf));
      }),
      { numRuns: 500 },
    );
  });

  it('orders a long list after a short one (its buffers grow and are reused)', () => {
    const scores = Array.from({ length: 5000 }, (_, i) => Math.round(Math.sin(i) * 50) / 7);
    const idOf = (row: number) => String(row).padStart(5, '0');
    for (const length of [3, 5000, 10]) {
      const rows = Array.from({ length }, (_, i) => (i * 13) % 5000);
      const ordered = [...rows];
      orderByScore(ordered, scores, idOf);
      expect(ordered).toEqual(byComparator(rows, scores, idOf));
    }
  });
});
