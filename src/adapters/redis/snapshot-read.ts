/**
 * Reading a whole snapshot from Redis (docs/snapshot.md, "Reads"): the meta hash, one MULTI of the meta
 * again with the rows and the counts, then one MULTI per vector segment (the meta again and the segment).
 * Every MULTI repeats the meta: `seq` goes up with every batch that changes something and `build` with
 * every rebuild, so equal metas throughout mean every piece came from the same snapshot. Split from
 * snapshot-store.ts.
 */
import type { Cluster, Redis } from 'ioredis';
import type { Snapshot } from '../../ports';
import { float32View } from './float32-view';
import { compactSlots, decodeRowValues } from './snapshot-encoding';
import { type BotSnapshotKeys, codeSegmentKey, segmentCount, segmentKey } from './snapshot-keys';

/**
 * What one read found: the snapshot; nothing; a snapshot (or orphans, version '') that fails its checks
 * and must be dropped if still at `version`; or 'moved' when a batch landed between two round trips.
 */
export type ReadOutcome =
  | { kind: 'ok'; snapshot: Snapshot }
  | { kind: 'absent' }
  | { kind: 'broken'; version: string }
  | { kind: 'moved' };

const META_FIELDS = ['dim', 'slots', 'live', 'build', 'seq', 'epoch', 'seg'] as const;

export type Replies = [Error | null, unknown][] | null;

/** The replies of a MULTI, throwing the first error (or when Redis discarded it). */
export function valuesOf(replies: Replies): unknown[] {
  if (replies === null) throw new Error('Redis discarded the snapshot read transaction');
  for (const [error] of replies) if (error) throw error;
  return replies.map(([, value]) => value);
}

/** Whether two reads of the meta hash agree field by field. */
export const sameMeta = (a: (string | null)[], b: (string | null)[]) => a.every((value, i) => value === b[i]);

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
  const firstSlots = Number(first[1] ?? 0);
  const segmentRows = Number(first[6] ?? 0);
  const segments =
    Number.isInteger(firstSlots) && Number.isInteger(segmentRows) && segmentRows >= 1 && firstSlots >= 0
      ? segmentCount(firstSlots, segmentRows)
      : 0;
  const transaction = client
    .multi()
    .hmget(keys.meta, ...META_FIELDS)
    // The first segment tells whether vector data exists at all; one past the last must not exist.
    .exists(segmentKey(keys.vectors, 0), segmentKey(keys.vectors, segments))
    .hvals(keys.rows)
    .hlen(keys.index)
    .hlen(keys.texts)
    .llen(keys.free)
    .exists(codeSegmentKey(keys.vectors, segments));
  // This read does not use the int8 codes, but a snapshot that lost one is broken for the cold search.
  for (let n = 0; n < segments; n++) transaction.strlen(codeSegmentKey(keys.vectors, n));
  const values = valuesOf(await transaction.exec());
  const meta = values[0] as (string | null)[];
  if (!sameMeta(meta, first)) return { kind: 'moved' };
  const [, segmentsFound, rowValues, indexLength, textsLength, freeLength, strayCodes] = values as [
    unknown,
    number,
    string[],
    number,
    number,
    number,
    number,
  ];
  const codeLengths = values.slice(7) as number[];
  const [dimField, slotsField, liveField, build, seq, epochField] = meta;
  if (dimField == null || build == null) {
    // No meta: whatever else is there is the orphan of an evicted meta hash.
    const anyData = segmentsFound > 0 || rowValues.length > 0 || indexLength + textsLength + freeLength > 0;
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
    // Segment 0 exists exactly when there are slots, and the one past the last never.
    segmentsFound === (segments > 0 ? 1 : 0) &&
    strayCodes === 0 &&
    codeLengths.every(
      (length, n) => length === Math.min(segmentRows, slotCount - n * segmentRows) * dimension,
    ) &&
    rowValues.length === live &&
    indexLength === live &&
    textsLength === live &&
    freeLength === slotCount - live &&
    epochField != null;
  const decoded = countsAgree ? decodeRowValues(rowValues, slotCount) : null;
  if (decoded === null) return { kind: 'broken', version };

  let all: Float32Array = new Float32Array(0);
  for (let n = 0; n < segments; n++) {
    const [segmentMeta, blob] = valuesOf(
      await client
        .multi()
        .hmget(keys.meta, ...META_FIELDS)
        .getBuffer(segmentKey(keys.vectors, n))
        .exec(),
    ) as [(string | null)[], Buffer | null];
    if (!sameMeta(segmentMeta, first)) return { kind: 'moved' };
    const rows = Math.min(segmentRows, slotCount - n * segmentRows);
    if (blob === null || blob.byteLength !== rows * dimension * 4) return { kind: 'broken', version };
    if (segments === 1) {
      // One segment: a view over the reply's own bytes, no copy.
      all = float32View(blob);
    } else {
      if (n === 0) all = new Float32Array(slotCount * dimension);
      new Uint8Array(all.buffer).set(blob, n * segmentRows * dimension * 4);
    }
  }
  const vectors = live === slotCount ? all : compactSlots(all, dimension, decoded.slots);
  return {
    kind: 'ok',
    snapshot: { botId, version, epoch: Number(epochField), dimension, rows: decoded.rows, vectors },
  };
}
