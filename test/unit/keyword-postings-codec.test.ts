import fc from 'fast-check';
import {
  ByteWriter,
  decodeBucketPostings,
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
        const bytes = writer.take();
        // Decoded after `at` postings already held, into arrays with exactly the room they need.
        const at = b % 3;
        const decodedNumbers = new Uint32Array(at + postings.length);
        const decodedTfs = new Uint32Array(at + postings.length);
        const end = decodeBucketPostings(bytes, start, size, decodedNumbers, decodedTfs, at);
        expect(end).toBe(at + postings.length);
        expect([...decodedNumbers.subarray(at)]).toEqual(postings.map(([low]) => start + low));
        expect([...decodedTfs.subarray(at)]).toEqual(postings.map(([, tf]) => tf));
        // One posting more than the arrays hold is refused, not cut.
        if (postings.length > 0) {
          const short = new Uint32Array(at + postings.length - 1);
          expect(decodeBucketPostings(bytes, start, size, short, short.slice(), at)).toBe(-1);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('refuses bytes that are not a bucket of postings', () => {
    const writer = new ByteWriter();
    writer.bucket([5, 9], [1, 3], 0, 2, 0, 16);
    const bytes = writer.take();
    const room = () => [new Uint32Array(8), new Uint32Array(8)] as const;
    // Cut inside the last posting's tf.
    expect(decodeBucketPostings(bytes.subarray(0, bytes.length - 1), 0, 16, ...room(), 0)).toBe(-1);
    // The same bytes read as a smaller bucket: 9 lies outside [0, 8).
    expect(decodeBucketPostings(bytes, 0, 8, ...room(), 0)).toBe(-1);
    expect(decodeBucketPostings(bytes, 0, 16, ...room(), 0)).toBe(2);
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
