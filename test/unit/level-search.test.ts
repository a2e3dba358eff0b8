import fc from 'fast-check';
import { firstAtOrAboveIn } from '../../src/domain/ranking/level-search';

const seed = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);

/** The first index whose level is at or above x, by looking at every level. */
function bruteForce(levels: readonly number[], x: number): number {
  const at = levels.findIndex((level) => level >= x);
  return at < 0 ? levels.length : at;
}

/**
 * Sorted levels as ranking asks them: spread over a range, packed in clusters, with exact repeats, and
 * at scales where a guide cell is a few units in the last place.
 */
const levels = fc
  .tuple(
    fc.array(
      fc.oneof(
        fc.double({ min: -1, max: 1, noNaN: true }),
        fc.integer({ min: -8, max: 8 }).map((x) => x / 8),
        fc.integer({ min: 0, max: 6 }).map((x) => 0.3 + x * 2 ** -50),
      ),
      { minLength: 1, maxLength: 60 },
    ),
    fc.constantFrom(1, 1e-6, 1e6),
  )
  .map(([values, scale]) => Float64Array.from(values, (x) => x * scale + 0).sort());

describe('firstAtOrAboveIn', () => {
  it('finds the first level at or above any score, with a guide or without one', () => {
    console.log(`level search property seed ${seed} (TEST_SEED replays it)`);
    fc.assert(
      fc.property(
        levels,
        fc.array(fc.double({ noNaN: true, noDefaultInfinity: false }), { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.constantFrom(0, 1_000_000),
        (sorted, free, picks, lookups) => {
          const find = firstAtOrAboveIn(sorted, lookups);
          const list = Array.from(sorted);
          // Scores at the levels, just beside them, midway between neighbours, and anywhere.
          const near = picks.flatMap((pick) => {
            const level = list[pick % list.length] as number;
            const next = list[(pick % list.length) + 1] ?? level + 1;
            return [level, level - 2 ** -52, level + 2 ** -52, (level + next) / 2, level * (1 + 2 ** -40)];
          });
          for (const x of [...near, ...free, list[0] as number, list[list.length - 1] as number]) {
            expect(find(x)).toBe(bruteForce(list, x));
          }
        },
      ),
      { seed, numRuns: 400 },
    );
  });

  it('answers every score of a large population as the binary search does', () => {
    // Levels crowded at the top of the scores, as exact ranks asked near a query's best are.
    const sorted = Float64Array.from(
      { length: 200 },
      (_, i) => 0.9 - (i % 50) * 1e-4 - Math.floor(i / 50) * 0.2,
    ).sort();
    const find = firstAtOrAboveIn(sorted, 1_000_000);
    const list = Array.from(sorted);
    const wrong: number[] = [];
    for (let i = 0; i <= 100_000; i++) {
      const x = -1 + (2 * i) / 100_000;
      if (find(x) !== bruteForce(list, x)) wrong.push(x);
    }
    expect(wrong).toEqual([]);
  });
});
