/**
 * Reading a whole snapshot from Redis: the meta hash, then one MULTI of every vector segment, the rows and
 * the counts, checked against each other (docs/snapshot.md, "Reads"). Split from snapshot-store.ts.
 */
import type { Cluster, Redis } from 'ioredis';
import type { Snapshot } from '../../ports';
import { float32View } from './float32-view';
import { compactSlots, decodeRowValues } from './snapshot-encoding';
import { type BotSnapshotKeys, segmentCount, segmentKey } from './snapshot-keys';

/**
 * What one read found: the snapshot; nothing; a snapshot (or orphans, version '') that fails its checks
 * and must be dropped if still at `version`; or 'moved' when a batch landed between the two round trips.
 */
export type ReadOutcome =
  | { kind: 'ok'; snapshot: Snapshot }
  | { kind: 'absent' }
  | { kind: 'broken'; version: string }
  | { kind: 'moved' };

/**
 * One read: the meta hash (to learn how many segments to fetch), then one MULTI of the meta again, every
 * segment, the rows and the counts. 'moved' when the meta differs between the two (a batch landed).
 */
export async function readSnapshotOnce(
  client: Redis | Cluster,
  botId: string,
  keys: BotSnapshotKeys,
): Promise<ReadOutcome> {
  const fields = ['dim', 'slots', 'live', 'build', 'seq', 'epoch', 'seg'] as const;
  const first = await client.hmget(keys.meta, ...fields);
  const firstSlots = Number(first[1] ?? 0);
  const firstSeg = Number(first[6] ?? 0);
  const segments =
    Number.isInteger(firstSlots) && Number.isInteger(firstSeg) && firstSeg >= 1 && firstSlots >= 0
      ? segmentCount(firstSlots, firstSeg)
      : 0;
  let multi = client.multi().hmget(keys.meta, ...fields);
  // One segment past the last must not exist (it would be an orphan of a broken snapshot).
  for (let n = 0; n <= segments; n++) multi = multi.getBuffer(segmentKey(keys.vectors, n));
  const replies = await multi.hvals(keys.rows).hlen(keys.index).hlen(keys.texts).llen(keys.free).exec();
  if (replies === null) throw new Error('Redis discarded the snapshot read transaction');
  for (const [error] of replies) if (error) throw error;
  const values = replies.map(([, value]) => value);
  const meta = values[0] as (string | null)[];
  if (meta.some((value, i) => value !== first[i])) return { kind: 'moved' };
  const blobs = values.slice(1, segments + 2) as (Buffer | null)[];
  const [rowValues, indexLength, textsLength, freeLength] = values.slice(segments + 2) as [
    string[],
    number,
    number,
    number,
  ];
  const [dimField, slotsField, liveField, build, seq, epochField] = meta;
  const anyData =
    blobs.some((blob) => blob !== null) || rowValues.length > 0 || indexLength + textsLength + freeLength > 0;
  if (dimField == null || build == null) {
    // No meta: whatever else is there is the orphan of an evicted meta hash.
    return anyData ? { kind: 'broken', version: '' } : { kind: 'absent' };
  }
  const version = `${build}:${seq ?? '0'}`;
  const dimension = Number(dimField);
  const slotCount = Number(slotsField);
  const live = Number(liveField);
  const segmentRows = firstSeg;
  // Segment n holds min(seg, slots - n*seg) vectors; the one past the last must be absent.
  const segmentsAgree = blobs.every((blob, n) =>
    n === segments
      ? blob === null
      : (blob?.byteLength ?? 0) === Math.min(segmentRows, slotCount - n * segmentRows) * dimension * 4,
  );
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
    segmentsAgree &&
    rowValues.length === live &&
    indexLength === live &&
    textsLength === live &&
    freeLength === slotCount - live &&
    epochField != null;
  const decoded = countsAgree ? decodeRowValues(rowValues, slotCount) : null;
  if (decoded === null) {
    return { kind: 'broken', version };
  }
  const all = joinSegments(blobs.slice(0, segments) as Buffer[]);
  const vectors = live === slotCount ? all : compactSlots(all, dimension, decoded.slots);
  return {
    kind: 'ok',
    snapshot: { botId, version, epoch: Number(epochField), dimension, rows: decoded.rows, vectors },
  };
}

/**
 * The segments' vectors as one Float32Array. A single segment is viewed in place (no copy); several are
 * copied once into one buffer, since the scan kernel takes one array.
 */
function joinSegments(blobs: Buffer[]): Float32Array {
  if (blobs.length === 0) return new Float32Array(0);
  if (blobs.length === 1) return float32View(blobs[0] as Buffer);
  let total = 0;
  for (const blob of blobs) total += blob.byteLength;
  const out = new Float32Array(total / 4);
  const bytes = new Uint8Array(out.buffer);
  let offset = 0;
  for (const blob of blobs) {
    bytes.set(blob, offset);
    offset += blob.byteLength;
  }
  return out;
}
