/**
 * Reading a whole snapshot from Redis (docs/snapshot.md, "Reads"): the meta hash, one MULTI of the meta
 * again with the counts of every key, then one MULTI per segment (the meta again, the vectors and the rows).
 * Every MULTI repeats the meta: `seq` goes up with every batch that changes something and `build` with
 * every rebuild, so equal metas throughout mean every piece came from the same snapshot.
 */
import type { Cluster, Redis } from 'ioredis';
import type { Snapshot } from '../port';
import { compactSlots, decodeRowValues } from './encoding';
import { ownedFloat32 } from './float32-view';
import {
  type BotSnapshotKeys,
  bucketKey,
  codeSegmentKey,
  hashKeys,
  MAX_SEGMENTS,
  rowSegmentKey,
  type SnapshotDataKeys,
  segmentCount,
  segmentKey,
} from './keys';

/**
 * What one read found: the snapshot; nothing; a snapshot (or orphans, version '') that fails its checks
 * and must be dropped if still at `version`; or 'moved' when a batch landed between two round trips.
 */
export type ReadOutcome =
  | { kind: 'ok'; snapshot: Snapshot }
  | { kind: 'absent' }
  | { kind: 'broken'; version: string }
  | { kind: 'moved' };

const META_FIELDS = ['dim', 'slots', 'live', 'build', 'seq', 'epoch', 'seg', 'bkz'] as const;

export type Replies = [Error | null, unknown][] | null;

/** The replies of a MULTI, throwing the first error (or when Redis discarded it). */
export function valuesOf(replies: Replies): unknown[] {
  if (replies === null) throw new Error('Redis discarded the snapshot read transaction');
  for (const [error] of replies) if (error) throw error;
  return replies.map(([, value]) => value);
}

/** A meta field as a positive integer, or 0 when it is absent or not one. */
export const positiveIntegerOf = (field: string | null | undefined): number => {
  const value = Number(field ?? 0);
  return Number.isInteger(value) && value >= 1 ? value : 0;
};

/**
 * How many segments a meta read's `slots` and `seg` say the snapshot has (0 when they are not sane, or more
 * than MAX_SEGMENTS: the checks that follow then find the snapshot broken).
 */
export function layoutOf(slotsField: string | null | undefined, segField: string | null | undefined) {
  const slots = Number(slotsField ?? 0);
  const rowsPerSegment = positiveIntegerOf(segField);
  const segments =
    Number.isInteger(slots) && slots >= 0 && rowsPerSegment >= 1 ? segmentCount(slots, rowsPerSegment) : 0;
  return segments <= MAX_SEGMENTS ? segments : 0;
}

/**
 * Queues, on `multi`, the counts that prove a snapshot whole (docs/snapshot.md, invariants 1-3): whether
 * segment 0 exists, keys that must not exist (past the last segment, and the single keys of older
 * layouts), whether the first row segment or bucket exists (orphans of an evicted meta), and the HLEN of
 * every row segment, index bucket and text bucket. `countsOf` reads them back, summed per kind.
 */
function queueCounts(
  multi: ReturnType<Redis['multi']>,
  keys: SnapshotDataKeys,
  segments: number,
  buckets: number,
): void {
  const hashes = hashKeys(keys, segments, buckets);
  multi
    .exists(segmentKey(keys.vectors, 0), codeSegmentKey(keys.vectors, 0))
    .exists(
      segmentKey(keys.vectors, segments),
      codeSegmentKey(keys.vectors, segments),
      rowSegmentKey(keys.rows, segments),
      keys.vectors,
      keys.rows,
      keys.index,
      keys.texts,
    )
    .exists(rowSegmentKey(keys.rows, 0), bucketKey(keys.index, 0), bucketKey(keys.texts, 0));
  for (const key of [...hashes.rows, ...hashes.index, ...hashes.texts]) multi.hlen(key);
}

/** The counts `queueCounts` queued, from its replies starting at `values[from]`. */
function countsOf(values: unknown[], from: number, segments: number, buckets: number) {
  const at = (i: number) => values[from + i] as number;
  const sum = (start: number, count: number) => {
    let total = 0;
    for (let i = 0; i < count; i++) total += at(start + i);
    return total;
  };
  return {
    firstSegmentKeys: at(0),
    stray: at(1),
    firstHashKeys: at(2),
    rows: sum(3, segments),
    index: sum(3 + segments, buckets),
    texts: sum(3 + segments + buckets, buckets),
    /** Where the replies after the counts start. */
    next: from + 3 + segments + 2 * buckets,
  };
}

/** Whether two reads of the meta hash agree field by field. */
export const sameMeta = (a: (string | null)[], b: (string | null)[]) => a.every((value, i) => value === b[i]);

/**
 * Checks, before the counts transaction, that a meta claiming several segments has its last one (`key`).
 * That transaction grows with the segment count, so a corrupt slot count (a billion slots) would queue
 * millions of commands in one MULTI and hold Redis for every other client; this costs one round trip, and
 * only for snapshots of more than one segment (32 MiB of vectors), whose reads are large anyway.
 * @returns 'moved' when the meta changed meanwhile, 'missing' when the last segment is not there.
 */
async function lastSegmentCheck(
  client: Redis | Cluster,
  meta: { key: string; fields: readonly string[]; first: (string | null)[] },
  segments: number,
  key: string,
): Promise<'ok' | 'moved' | 'missing'> {
  if (segments <= 1) return 'ok';
  const [now, exists] = valuesOf(
    await client
      .multi()
      .hmget(meta.key, ...meta.fields)
      .exists(key)
      .exec(),
  ) as [(string | null)[], number];
  if (!sameMeta(now, meta.first)) return 'moved';
  return exists === 1 ? 'ok' : 'missing';
}

/**
 * One read. Segments are fetched one at a time and copied into the one array search scores, so the
 * process holds the vectors once plus one segment (32 MiB by default), not every segment reply and a copy.
 */
export async function readSnapshotOnce(
  client: Redis | Cluster,
  botId: string,
  keys: BotSnapshotKeys,
): Promise<ReadOutcome> {
  const first = await client.hmget(keys.meta, ...META_FIELDS);
  const segments = layoutOf(first[1], first[6]);
  const segmentRows = positiveIntegerOf(first[6]);
  const buckets = positiveIntegerOf(first[7]);
  const last = await lastSegmentCheck(
    client,
    { key: keys.meta, fields: META_FIELDS, first },
    segments,
    segmentKey(keys.vectors, segments - 1),
  );
  if (last === 'moved') return { kind: 'moved' };
  if (last === 'missing') return { kind: 'broken', version: `${first[3]}:${first[4] ?? '0'}` };
  const transaction = client
    .multi()
    .hmget(keys.meta, ...META_FIELDS)
    .llen(keys.free);
  queueCounts(transaction, keys, segments, buckets);
  // This read does not use the int8 codes, but a snapshot that lost one is broken for the cold search.
  for (let n = 0; n < segments; n++) transaction.strlen(codeSegmentKey(keys.vectors, n));
  const values = valuesOf(await transaction.exec());
  const meta = values[0] as (string | null)[];
  if (!sameMeta(meta, first)) return { kind: 'moved' };
  const freeLength = values[1] as number;
  const counts = countsOf(values, 2, segments, buckets);
  const codeLengths = values.slice(counts.next) as number[];
  const [dimField, slotsField, liveField, build, seq, epochField] = meta;
  if (dimField == null || build == null) {
    // No meta: whatever else is there is the orphan of an evicted meta hash.
    const anyData = counts.firstSegmentKeys + counts.stray + counts.firstHashKeys + freeLength > 0;
    return anyData ? { kind: 'broken', version: '' } : { kind: 'absent' };
  }
  const version = `${build}:${seq ?? '0'}`;
  const dimension = Number(dimField);
  const slotCount = Number(slotsField);
  const live = Number(liveField);
  // The counts first (cheap, and they bound slotCount before anything is sized by it), then every row.
  const countsAgree =
    Number.isInteger(dimension) &&
    Number.isInteger(slotCount) &&
    Number.isInteger(live) &&
    dimension >= 0 &&
    live >= 0 &&
    live <= slotCount &&
    (dimension > 0 || slotCount === 0) &&
    (slotCount === 0 || segmentRows >= 1) &&
    // No bkz: a layout whose texts this reader cannot vouch for (snapshot-prelude.lua), dropped whole.
    buckets >= 1 &&
    // Segment 0 exists exactly when there are slots, and the one past the last never.
    counts.firstSegmentKeys === (segments > 0 ? 2 : 0) &&
    counts.stray === 0 &&
    codeLengths.every(
      (length, n) => length === Math.min(segmentRows, slotCount - n * segmentRows) * dimension,
    ) &&
    counts.rows === live &&
    counts.index === live &&
    counts.texts === live &&
    freeLength === slotCount - live &&
    epochField != null;
  if (!countsAgree) return { kind: 'broken', version };

  let all: Float32Array = new Float32Array(0);
  const rowValues: string[] = [];
  for (let n = 0; n < segments; n++) {
    const [segmentMeta, blob, segmentRowValues] = valuesOf(
      await client
        .multi()
        .hmget(keys.meta, ...META_FIELDS)
        .getBuffer(segmentKey(keys.vectors, n))
        .hvals(rowSegmentKey(keys.rows, n))
        .exec(),
    ) as [(string | null)[], Buffer | null, string[]];
    if (!sameMeta(segmentMeta, first)) return { kind: 'moved' };
    const rows = Math.min(segmentRows, slotCount - n * segmentRows);
    if (blob === null || blob.byteLength !== rows * dimension * 4) return { kind: 'broken', version };
    for (const value of segmentRowValues) rowValues.push(value);
    if (segments === 1) {
      // One segment: the reply's own bytes when it is a buffer of its own, else a copy (ownedFloat32).
      all = ownedFloat32(blob);
    } else {
      if (n === 0) all = new Float32Array(slotCount * dimension);
      new Uint8Array(all.buffer).set(blob, n * segmentRows * dimension * 4);
    }
  }
  const decoded = rowValues.length === live ? decodeRowValues(rowValues, slotCount) : null;
  if (decoded === null) return { kind: 'broken', version };
  const vectors = live === slotCount ? all : compactSlots(all, dimension, decoded.slots);
  return {
    kind: 'ok',
    snapshot: { botId, version, epoch: Number(epochField), dimension, rows: decoded.rows, vectors },
  };
}
