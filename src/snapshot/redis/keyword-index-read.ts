/**
 * Decoding a keyword index read (lua/keyword-read.lua) into the postings search scores: each posting keeps
 * its document number and gets its chunk's length from the index's id buckets, which a store holds per bot
 * between reads (`HeldIds`) and the read script sends again only when their tag changed (a stream update
 * rewrote them), so a query carries its terms' packed postings and rarely an id. The held buckets' ids
 * turn numbers into chunk ids (`DocumentIds`).
 */
import type { KeywordPostings } from '../port';
import { decodeBucketPostings, forEachIdEntry, KEYWORD_ID_GROUP } from './keyword-postings-codec';

/** One id bucket as held: chunk id and length per document number within the bucket, and its tag. */
export type IdBucket = { tag: string; ids: (string | undefined)[]; lengths: Uint32Array; bytes: number };

/** A bot's id buckets of one index generation, as held between reads. */
export type HeldIds = { gen: string; buckets: IdBucket[]; bytes: number };

/** A JS string's cost besides its UTF-16 characters, and an id slot's (for the held copy's size). */
const STRING_OVERHEAD = 40;

const latin1 = (value: Buffer) => value.toString('latin1');

/** An id bucket from its HGETALL (Buffers): `#` -> tag, group g -> the packed ids and lengths of its numbers. */
function idBucket(flat: readonly Buffer[], bucketSize: number): IdBucket | null {
  const ids: (string | undefined)[] = new Array(bucketSize);
  const lengths = new Uint32Array(bucketSize);
  let tag: string | undefined;
  let bytes = lengths.byteLength + 8 * bucketSize;
  let whole = true;
  for (let i = 0; i + 1 < flat.length && whole; i += 2) {
    const field = latin1(flat[i] as Buffer);
    const value = flat[i + 1] as Buffer;
    if (field === '#') {
      tag = latin1(value);
      continue;
    }
    const group = Number(field);
    if (!Number.isInteger(group) || group < 0) return null;
    const parsed = forEachIdEntry(value, group * KEYWORD_ID_GROUP, (low, id, length) => {
      if (low >= bucketSize) {
        whole = false;
        return;
      }
      ids[low] = id;
      lengths[low] = length;
      bytes += STRING_OVERHEAD + 2 * id.length;
    });
    whole &&= parsed;
  }
  return tag === undefined || !whole ? null : { tag, ids, lengths, bytes };
}

/** A decoded read: the postings, and the id buckets to hold for the next read. */
export type DecodedRead = { postings: KeywordPostings; held: HeldIds };

/**
 * Decodes an 'ok' reply of the read script (Buffers, as the script returns them) given the id buckets the
 * read was asked with (`held`, or null). Null when the reply disagrees with itself: a posting names a
 * number no chunk holds, or a term holds another count of postings than its `d` (its postings hash was
 * lost): then the index is not to be used.
 */
export function decodeRead(reply: readonly unknown[], held: HeldIds | null): DecodedRead | null {
  const docCount = Number(latin1(reply[1] as Buffer));
  const totalLength = Number(latin1(reply[2] as Buffer));
  const gen = latin1(reply[3] as Buffer);
  const bucketSize = Number(latin1(reply[4] as Buffer));
  const bucketCount = Number(reply[5]);
  const changed = reply[6] as unknown[];
  const buckets: IdBucket[] = new Array(bucketCount);
  if (held !== null && held.gen === gen) {
    for (let b = 0; b < bucketCount && b < held.buckets.length; b++) buckets[b] = held.buckets[b] as IdBucket;
  }
  for (let i = 0; i + 1 < changed.length; i += 2) {
    const b = Number(changed[i]);
    const bucket = idBucket(changed[i + 1] as Buffer[], bucketSize);
    if (bucket === null || !(b >= 0 && b < bucketCount)) return null;
    buckets[b] = bucket;
  }
  let bytes = 0;
  for (let b = 0; b < bucketCount; b++) {
    const bucket = buckets[b];
    if (bucket === undefined) return null;
    bytes += bucket.bytes;
  }
  const postings: KeywordPostings['postings'] = [];
  for (const term of reply.slice(7) as Buffer[][]) {
    // The term's count of postings (its `d` field) sizes its arrays: its buckets are decoded straight into them.
    let df = 0;
    for (let i = 0; i + 1 < term.length; i += 2) {
      if (latin1(term[i] as Buffer) === 'd') df = Number(latin1(term[i + 1] as Buffer));
    }
    if (!(Number.isSafeInteger(df) && df >= 0)) return null;
    const numbers = new Uint32Array(df);
    const tfs = new Uint32Array(df);
    const lengths = new Uint32Array(df);
    let count = 0;
    for (let i = 0; i + 1 < term.length; i += 2) {
      const field = latin1(term[i] as Buffer);
      if (field === 't' || field === 'd') continue;
      const b = Number(field);
      const bucket = buckets[b];
      if (bucket === undefined) return null;
      const start = b * bucketSize;
      const from = count;
      count = decodeBucketPostings(term[i + 1] as Buffer, start, bucketSize, numbers, tfs, from);
      if (count < 0) return null;
      // Every number decoded lies within the bucket; one that no chunk holds means the read disagrees.
      for (let j = from; j < count; j++) {
        const low = (numbers[j] as number) - start;
        if (bucket.ids[low] === undefined) return null;
        lengths[j] = bucket.lengths[low] as number;
      }
    }
    if (count !== df) return null;
    postings.push({ numbers, tfs, lengths });
  }
  const ids = { bucketSize, buckets: buckets.map((bucket) => bucket.ids) };
  return { postings: { docCount, totalLength, ids, postings }, held: { gen, buckets, bytes } };
}
