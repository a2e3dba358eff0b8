import fc from 'fast-check';
import { bucketOf, groupByBucket } from '../../src/snapshot/redis/keys';

describe('snapshot id buckets', () => {
  it('puts every id in one bucket below the count, the same one every time', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.integer({ min: 1, max: 1024 }), (id, buckets) => {
        const b = bucketOf(id, buckets);
        expect(Number.isInteger(b) && b >= 0 && b < buckets).toBe(true);
        expect(bucketOf(id, buckets)).toBe(b);
      }),
    );
  });

  it('spreads sequential chunk ids evenly, so no bucket holds much more than its share', () => {
    const counts = new Array<number>(32).fill(0);
    for (let i = 0; i < 32_000; i++) {
      const b = bucketOf(`doc-${i % 97}.pdf#${i}`, 32);
      counts[b] = (counts[b] as number) + 1;
    }
    // Expected 1,000 each; a binomial's standard deviation here is about 31.
    expect(Math.max(...counts)).toBeLessThan(1_150);
    expect(Math.min(...counts)).toBeGreaterThan(850);
  });

  it('groups ids by bucket: every position once, each in the bucket of its id', () => {
    fc.assert(
      fc.property(fc.array(fc.string()), fc.integer({ min: 1, max: 64 }), (ids, buckets) => {
        const groups = groupByBucket(ids, buckets);
        const seen = [...groups.values()].flat().sort((a, b) => a - b);
        expect(seen).toEqual(ids.map((_, i) => i));
        for (const [b, positions] of groups) {
          for (const i of positions) expect(bucketOf(ids[i] as string, buckets)).toBe(b);
        }
      }),
    );
  });
});
