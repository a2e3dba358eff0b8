import { decodeRead } from '../../src/snapshot/redis/keyword-index-read';
import { ByteWriter } from '../../src/snapshot/redis/keyword-postings-codec';

/** Numbers per bucket in these replies: two id groups of 16 numbers, 16 postings blocks of 2. */
const BUCKET_SIZE = 32;

/** Chunk ids and lengths of numbers 0..31 (null: a free number), as one id bucket's HGETALL. */
function idBucketFields(entries: ([string, number] | null)[]): Buffer[] {
  const fields: Buffer[] = [Buffer.from('#'), Buffer.from('tag-1')];
  for (let group = 0; group * 16 < entries.length; group++) {
    const writer = new ByteWriter();
    for (const entry of entries.slice(group * 16, group * 16 + 16)) {
      if (entry === null) writer.varint(0);
      else writer.idEntry(entry[0], entry[1]);
    }
    fields.push(Buffer.from(String(group)), writer.take());
  }
  return fields;
}

/** One term's HGETALL: its text, its count `d`, and its postings in bucket 0. */
function termFields(df: number, numbers: number[], tfs: number[]): Buffer[] {
  const writer = new ByteWriter();
  writer.bucket(numbers, tfs, 0, numbers.length, 0, BUCKET_SIZE);
  return [
    Buffer.from('t'),
    Buffer.from('word'),
    Buffer.from('d'),
    Buffer.from(String(df)),
    Buffer.from('0'),
    writer.take(),
  ];
}

/** A read script's 'ok' reply: counts, generation, layout, the id bucket sent, then the terms. */
function reply(ids: ([string, number] | null)[], terms: Buffer[][]): unknown[] {
  return [
    Buffer.from('ok'),
    Buffer.from('3'),
    Buffer.from('30'),
    Buffer.from('gen-1'),
    Buffer.from(String(BUCKET_SIZE)),
    1,
    [0, idBucketFields(ids)],
    ...terms,
  ];
}

const ids: ([string, number] | null)[] = Array.from({ length: BUCKET_SIZE }, (_, n) =>
  n === 3 || n === 17 || n === 30 ? [`chunk-${n}`, 10 + n] : null,
);

describe('decoding a keyword index read', () => {
  it('gives each posting its number, tf and the length its id bucket holds', () => {
    const decoded = decodeRead(reply(ids, [termFields(3, [3, 17, 30], [1, 4, 2])]), null);
    expect(decoded).not.toBeNull();
    const [term] = decoded?.postings.postings ?? [];
    expect([...(term?.numbers ?? [])]).toEqual([3, 17, 30]);
    expect([...(term?.tfs ?? [])]).toEqual([1, 4, 2]);
    expect([...(term?.lengths ?? [])]).toEqual([13, 27, 40]);
    expect(decoded?.postings.ids.buckets[0]?.[17]).toBe('chunk-17');
  });

  it('refuses a read whose posting names a number no chunk holds', () => {
    expect(decodeRead(reply(ids, [termFields(3, [3, 17, 29], [1, 1, 1])]), null)).toBeNull();
  });

  it('refuses a read whose term holds another count of postings than its d', () => {
    expect(decodeRead(reply(ids, [termFields(2, [3, 17, 30], [1, 1, 1])]), null)).toBeNull();
    expect(decodeRead(reply(ids, [termFields(4, [3, 17, 30], [1, 1, 1])]), null)).toBeNull();
  });
});
