import fc from 'fast-check';
import {
  ByteWriter,
  forEachBucketPosting,
  forEachIdEntry,
  KEYWORD_POSTING_BLOCKS,
} from '../../src/snapshot/redis/keyword-postings-codec';

/** Ascending distinct numbers within [start, start + size) with tfs, as a bucket holds them. */
const bucket = (size: number) =>
  fc
    .uniqueArray(fc.tuple(fc.nat({ max: size - 1 }), fc.integer({ min: 1, max: 100_000 })), {
      selector: ([low]) => low,
      maxLength: Math.min(size, 300),
    })
    .map((postings) => postings.sort((a, b) => a[0] - b[0]));

describe('keyword postings codec', () => {
  it('decodes a bucket of postings into the numbers and tfs it was packed from', () => {
    const buckets = fc
      .integer({ min: 1, max: 5000 })
      .chain((size) => fc.tuple(fc.constant(size), fc.nat({ max: 1000 }), bucket(size)));
    fc.assert(
      fc.property(buckets, ([size, b, postings]) => {
        const start = b * size;
        const writer = new ByteWriter();
        const numbers = postings.map(([low]) => start + low);
        const tfs = postings.map(([, tf]) => tf);
        writer.bucket(numbers, tfs, 0, numbers.length, start, size);
        const decoded: [number, number][] = [];
        const count = forEachBucketPosting(writer.take(), start, size, (number, tf) => {
          decoded.push([number, tf]);
        });
        expect(count).toBe(postings.length);
        expect(decoded).toEqual(postings.map(([low, tf]) => [start + low, tf]));
      }),
      { numRuns: 200 },
    );
  });

  it('packs a posting of tf 1 close to the previous one in one byte, after the block lengths', () => {
    const writer = new ByteWriter();
    const numbers = Array.from({ length: 100 }, (_, i) => 2 * i);
    writer.bucket(numbers, new Array(100).fill(1), 0, 100, 0, 4096);
    expect(writer.take().length).toBe(KEYWORD_POSTING_BLOCKS + 100);
  });

  it('decodes an id group into the chunk ids and lengths it was packed from, free numbers skipped', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.tuple(fc.string({ unit: 'binary', maxLength: 200 }), fc.nat({ max: 1e6 }))), {
          maxLength: 16,
        }),
        fc.nat({ max: 1e6 }),
        (entries, first) => {
          const writer = new ByteWriter();
          // A free number packs as varint(0), as the stream update script writes it.
          for (const entry of entries) {
            if (entry === null) writer.varint(0);
            else writer.idEntry(entry[0], entry[1]);
          }
          const decoded: [number, string, number][] = [];
          const whole = forEachIdEntry(writer.take(), first, (number, id, length) => {
            decoded.push([number, id, length]);
          });
          expect(whole).toBe(true);
          const expected = entries.flatMap((entry, i) =>
            entry === null ? [] : [[first + i, Buffer.from(entry[0]).toString('utf8'), entry[1]]],
          );
          expect(decoded).toEqual(expected);
        },
      ),
    );
  });
});
