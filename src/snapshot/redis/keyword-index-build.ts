/**
 * The bulk write of a keyword index build (docs/snapshot.md, "The keyword index"): the whole build is
 * numbered and packed in process (document numbers 0 .. n - 1 in order, term ids 1 .. terms in order of
 * first use, each term's postings packed per bucket of document numbers), then sent as whole hash fields
 * to a write script that HSETs them, in calls of bounded size with one in flight while the next is
 * packed. The claim and the publish script keep it exact.
 */
import { createHash } from 'node:crypto';
import type { KeywordDocument } from '../port';
import { ByteWriter, KEYWORD_ID_GROUP } from './keyword-postings-codec';

/** Bytes a write call carries at most: bounds each call's time in Redis (other clients wait) and our memory. */
const BYTES_PER_CALL = 1 << 18;
/** Arguments a write call carries at most (Lua's unpack takes a few thousand values at a time). */
const ARGS_PER_CALL = 4000;
/** Fields a hash is written with at most per part of a call. */
const PAIRS_PER_PART = 1000;

/**
 * How an index lays its keys out: document numbers per bucket, buckets of docs entries, and groups of
 * docs entries per bucket (a hash field each).
 */
export type KeywordLayout = { bucketSize: number; docsBuckets: number; docsGroups: number };

/**
 * The docs bucket and group of a chunk id: its SHA-1's first 32 bits modulo `buckets` (the snapshot's
 * `bucketOf`) and next 32 bits modulo `groups` (`docs_place` in lua/includes/keyword-prelude.lua).
 */
export function docsPlace(
  chunkId: string,
  buckets: number,
  groups: number,
): { bucket: number; group: number } {
  const sha = createHash('sha1').update(chunkId, 'utf8').digest('hex');
  return {
    bucket: buckets <= 1 ? 0 : Number.parseInt(sha.slice(0, 8), 16) % buckets,
    group: groups <= 1 ? 0 : Number.parseInt(sha.slice(8, 16), 16) % groups,
  };
}

/** What the publish script checks the written build against, and what dropping it must reach. */
export type BuildTotals = { n: number; total: number; terms: number; termIds: number; numbers: number };

/** Sends one write call (ARGV after base and gen); false: claim lost. */
export type WriteCall = (args: (string | Buffer)[]) => Promise<boolean>;

/** A chunk's change as the stream update script takes it: "length term tf term tf ..." (terms hold no whitespace). */
export function keywordEntry(terms: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1);
  let entry = String(terms.length);
  for (const [term, tf] of counts) entry += ` ${term} ${tf}`;
  return entry;
}

/** One hash's fields and values, as the write script takes them. */
type HashPart = { part: string; flat: (string | Buffer)[] };

/** A build numbered and packed, ready to be written. */
export type KeywordBuildPlan = { totals: BuildTotals; parts: HashPart[] };

/**
 * Numbers and packs `documents` (the last of a chunk id wins) as the build's `terms`, `p:<id>`, `ids:<b>`
 * and `docs:<k>` hashes.
 */
export function planKeywordBuild(
  documents: readonly KeywordDocument[],
  layout: KeywordLayout,
): KeywordBuildPlan {
  const { bucketSize, docsBuckets, docsGroups } = layout;
  const byId = new Map<string, readonly string[]>();
  for (const document of documents) byId.set(document.chunkId, document.terms);
  const termIds = new Map<string, number>();
  // Per term (index id - 1): numbers and tfs, ascending by number as the documents are numbered.
  const numbers: number[][] = [];
  const tfs: number[][] = [];
  const parts: HashPart[] = [];
  // Per docs bucket: group -> its chunks' ids and entries, packed as they come.
  const docs: Map<number, ByteWriter>[] = Array.from({ length: docsBuckets }, () => new Map());
  const docCounts = new Array<number>(docsBuckets).fill(0);
  const writer = new ByteWriter();
  // The id group being packed (the numbers since the last group boundary) and its bucket's fields.
  const group = new ByteWriter();
  let idsFlat: (string | Buffer)[] = ['#', '0'];
  let total = 0;
  let number = 0;
  // A chunk's tf per term id, zero between chunks (one array, not a Map per chunk: the hot loop).
  let tfOf = new Uint32Array(1024);
  for (const [chunkId, terms] of byId) {
    const held: number[] = [];
    for (const term of terms) {
      let id = termIds.get(term);
      if (id === undefined) {
        id = termIds.size + 1;
        termIds.set(term, id);
        numbers.push([]);
        tfs.push([]);
        if (id >= tfOf.length) {
          const grown = new Uint32Array(tfOf.length * 2);
          grown.set(tfOf);
          tfOf = grown;
        }
      }
      if (tfOf[id] === 0) held.push(id);
      tfOf[id] = (tfOf[id] as number) + 1;
    }
    // A chunk's few dozen ids: an insertion sort, no allocation (the loop runs once per chunk).
    for (let i = 1; i < held.length; i++) {
      const id = held[i] as number;
      let j = i - 1;
      while (j >= 0 && (held[j] as number) > id) {
        held[j + 1] = held[j] as number;
        j--;
      }
      held[j + 1] = id;
    }
    const ids = held;
    const idTfs: number[] = new Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      idTfs[i] = tfOf[id] as number;
      tfOf[id] = 0;
      (numbers[id - 1] as number[]).push(number);
      (tfs[id - 1] as number[]).push(idTfs[i] as number);
    }
    writer.varint(number);
    writer.varint(terms.length);
    writer.postings(ids, idTfs, 0, ids.length, 1);
    const entry = writer.take();
    const place = docsPlace(chunkId, docsBuckets, docsGroups);
    const groups = docs[place.bucket] as Map<number, ByteWriter>;
    let packed = groups.get(place.group);
    if (packed === undefined) {
      packed = new ByteWriter();
      groups.set(place.group, packed);
    }
    packed.docsEntry(chunkId, entry);
    docCounts[place.bucket] = (docCounts[place.bucket] as number) + 1;
    group.idEntry(chunkId, terms.length);
    total += terms.length;
    const low = number % bucketSize;
    number++;
    const bucketEnds = low + 1 === bucketSize;
    if (bucketEnds || (low + 1) % KEYWORD_ID_GROUP === 0) {
      idsFlat.push(String(Math.floor(low / KEYWORD_ID_GROUP)), group.take());
    }
    if (bucketEnds) {
      parts.push({ part: `ids:${number / bucketSize - 1}`, flat: idsFlat });
      idsFlat = ['#', '0'];
    }
  }
  const low = number % bucketSize;
  if (low !== 0) {
    if (low % KEYWORD_ID_GROUP !== 0) idsFlat.push(String(Math.floor(low / KEYWORD_ID_GROUP)), group.take());
    parts.push({ part: `ids:${Math.floor(number / bucketSize)}`, flat: idsFlat });
  }
  const termsFlat: string[] = [];
  for (const [term, id] of termIds) {
    termsFlat.push(term, String(id));
    const list = numbers[id - 1] as number[];
    const listTfs = tfs[id - 1] as number[];
    const flat: (string | Buffer)[] = ['t', term, 'd', String(list.length)];
    let from = 0;
    while (from < list.length) {
      const bucket = Math.floor((list[from] as number) / bucketSize);
      let to = from + 1;
      while (to < list.length && Math.floor((list[to] as number) / bucketSize) === bucket) to++;
      writer.bucket(list, listTfs, from, to, bucket * bucketSize, bucketSize);
      flat.push(String(bucket), writer.take());
      from = to;
    }
    parts.push({ part: `p:${id}`, flat });
  }
  if (termsFlat.length > 0) parts.push({ part: 'terms', flat: termsFlat });
  // Every docs bucket, an empty one too: its `#` count is how a read tells it was not lost.
  docs.forEach((groups, k) => {
    const flat: (string | Buffer)[] = ['#', String(docCounts[k])];
    for (const [group, packed] of groups) flat.push(String(group), packed.take());
    parts.push({ part: `docs:${k}`, flat });
  });
  return {
    totals: { n: number, total, terms: termIds.size, termIds: termIds.size, numbers: number },
    parts,
  };
}

/**
 * Writes a planned build through `write`, in calls of bounded size, one in flight while the next is
 * packed. Returns false when the claim was lost meanwhile.
 * @throws whatever Redis throws
 */
export async function writeKeywordBuild(write: WriteCall, plan: KeywordBuildPlan): Promise<boolean> {
  let args: (string | Buffer)[] = [];
  let bytes = 0;
  let inFlight: Promise<boolean> = Promise.resolve(true);
  const send = async (): Promise<boolean> => {
    const sending = args;
    args = [];
    bytes = 0;
    if (!(await inFlight)) return false;
    inFlight = write(sending);
    // Never an unhandled rejection: the next send or the last await takes it.
    inFlight.catch(() => undefined);
    return true;
  };
  for (const { part, flat } of plan.parts) {
    for (let from = 0; from < flat.length; from += 2 * PAIRS_PER_PART) {
      const pairs = flat.slice(from, from + 2 * PAIRS_PER_PART);
      if (args.length + pairs.length + 2 > ARGS_PER_CALL && args.length > 0 && !(await send())) return false;
      args.push(part, String(pairs.length / 2));
      for (const value of pairs) {
        args.push(value);
        bytes += value.length;
      }
      if (bytes >= BYTES_PER_CALL && !(await send())) return false;
    }
  }
  if (args.length > 0 && !(await send())) return false;
  return inFlight;
}
