import fc from 'fast-check';
import { storedText, textsOfStored } from '../../src/snapshot/redis/text-codec';

/** The bytes Redis keeps for a stored text: a string goes over the wire as its UTF-8. */
const bytesOf = (stored: Buffer | string) =>
  typeof stored === 'string' ? Buffer.from(stored, 'utf8') : stored;
const readBack = (value: Buffer) => textsOfStored([value])[0];
/** What a reader can expect back: a JS string is sent to Redis as UTF-8 (lone surrogates become U+FFFD). */
const asSent = (text: string) => Buffer.from(text, 'utf8').toString('utf8');

const prose =
  'A chunk of a manual: the stream handler claims each record in the same transaction as its count, so ' +
  'a record delivered twice is counted once. Deliveries may split, retry and bisect; the claim follows ' +
  'from the record alone, never from the delivery it came in. Ünïcødé, 漢字 and ✓ are kept as written.';

const anyText = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 3000 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc
    .array(fc.constantFrom('stream ', 'shard ', 'record ', 'ÿ', '\uffff', '漢字 ', prose), { maxLength: 300 })
    .map((words) => words.join('')),
);

describe('stored texts of the snapshot', () => {
  it('reads back every text exactly, whatever its length, script or first character', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        expect(readBack(bytesOf(storedText(text)))).toBe(asSent(text));
      }),
      { numRuns: 400 },
    );
  });

  it('reads back a read of many texts in order, compressed and plain alike', () => {
    fc.assert(
      fc.property(fc.array(anyText, { maxLength: 40 }), (texts) => {
        expect(textsOfStored(texts.map((text) => bytesOf(storedText(text))))).toEqual(texts.map(asSent));
      }),
      { numRuns: 200 },
    );
  });

  it('says null for exactly the texts that do not decode, among others that do', () => {
    const good = [prose, `${prose} again`, 'plain', `${prose} once more`].map((t) => bytesOf(storedText(t)));
    const cut = good[0]?.subarray(0, (good[0]?.length ?? 0) - 20) as Buffer;
    const lying = Buffer.from(good[1] as Buffer);
    lying[1] = (lying[1] as number) + 1; // one byte more declared than it inflates to
    const junk = Buffer.concat([Buffer.from([0xff, 10]), Buffer.from('not deflate')]);
    const values = [good[0], cut, good[1], lying, good[2], junk, good[3]] as Buffer[];
    expect(textsOfStored(values)).toEqual([
      prose,
      null,
      `${prose} again`,
      null,
      'plain',
      null,
      `${prose} once more`,
    ]);
  });

  it('keeps prose in well under its UTF-8 bytes', () => {
    const stored = bytesOf(storedText(prose));
    expect(stored.length).toBeLessThan(Buffer.byteLength(prose) * 0.75);
    expect(readBack(stored)).toBe(prose);
  });

  it('stores a text as it is when compressing would not make it shorter', () => {
    for (const text of ['', 'short', 'x'.repeat(20), prose.slice(0, 60)]) {
      expect(storedText(text)).toBe(text);
    }
  });

  it('reads a text written as a plain string unchanged', () => {
    for (const text of [prose, 'ÿ starts with U+00FF', '\uffff', '']) {
      expect(readBack(Buffer.from(text, 'utf8'))).toBe(text);
    }
  });
});
