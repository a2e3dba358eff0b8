/**
 * Reading a snapshot from Redis (docs/snapshot.md, "Reads"). Both reads start from the head: one script
 * that checks every key against the meta, as the version check does, and returns the meta, the free slots
 * and the kept visibility. The whole read then takes one MULTI per segment (the meta again, the vectors
 * and the rows). Every MULTI repeats the meta: `seq` goes up with every batch that changes something and
 * `build` with every rebuild, so equal metas throughout mean every piece came from the same snapshot.
 */
import type { Cluster, Redis } from 'ioredis';
import type { ReadHead, Snapshot } from '../port';
import { compactSlots, decodeRowValues } from './encoding';
import { ownedFloat32 } from './float32-view';
import {
  type BotSnapshotKeys,
  dataKeyList,
  MAX_SEGMENTS,
  rowSegmentKey,
  segmentCount,
  segmentKey,
} from './keys';
import type { ScriptArg } from './scripts';

/**
 * What one read found: the snapshot; a snapshot that fails its checks and must be dropped if still at
 * `version`; or 'moved' when a batch landed between two round trips. (The head tells an absent one.)
 */
export type ReadOutcome =
  | { kind: 'ok'; snapshot: Snapshot }
  | { kind: 'broken'; version: string }
  | { kind: 'moved' };

/** The meta fields a head holds and every later MULTI repeats, in this order. */
export const META_FIELDS = [
  'dim',
  'slots',
  'live',
  'build',
  'seq',
  'epoch',
  'seg',
  'qs',
  'qc',
  'qr',
  'bkz',
] as const;

/** The version a meta read (META_FIELDS) names: `build:seq`. */
export const versionOf = (meta: (string | null)[]) => `${meta[3]}:${meta[4] ?? '0'}`;

/**
 * What a read starts from: the meta, the free slots and the kept visibility, read by one script
 * (`vsSnapshotReadHead`) after it checked every key of the snapshot against the meta, as the version
 * check does. So a head is also a version check, and a search whose version check brought the head reads
 * the snapshot's data next.
 */
export class HeadRead implements ReadHead {
  constructor(
    /** The meta's META_FIELDS, in order. */
    readonly meta: (string | null)[],
    readonly free: string[],
    /** The kept visibility value, if any (scan-read.ts, `visibilityValue`). */
    readonly kept: Buffer | null,
  ) {}

  get version(): string {
    return versionOf(this.meta);
  }

  get epoch(): number | null {
    const epoch = this.meta[5];
    return epoch == null ? null : Number(epoch);
  }
}

/**
 * Reads the head of the bot's snapshot through the Buffer form of `vsSnapshotReadHead`: 'absent', or
 * 'dropped' when the script found the snapshot broken (or orphans of an evicted meta) and deleted it.
 */
export async function readHead(
  readHeadScript: (...args: ScriptArg[]) => Promise<unknown>,
  keys: BotSnapshotKeys,
): Promise<HeadRead | 'absent' | 'dropped'> {
  const reply = await readHeadScript(...dataKeyList(keys), keys.visibility, ...META_FIELDS);
  if (!Array.isArray(reply)) return String(reply) === 'dropped' ? 'dropped' : 'absent';
  const [meta, free, kept] = reply as [(Buffer | null)[], Buffer[], Buffer | null];
  return new HeadRead(
    meta.map((value) => (value === null ? null : value.toString('utf8'))),
    free.map((value) => value.toString('utf8')),
    kept,
  );
}

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
  head: HeadRead,
): Promise<ReadOutcome> {
  const { meta: first } = head;
  const segments = layoutOf(first[1], first[6]);
  const segmentRows = positiveIntegerOf(first[6]);
  const [dimField, slotsField, liveField, build, , epochField] = first;
  if (dimField == null || build == null) return { kind: 'broken', version: '' };
  const version = versionOf(first);
  const dimension = Number(dimField);
  const slotCount = Number(slotsField);
  const live = Number(liveField);
  // The script checked every key's length against the meta; these are what this read sizes by it.
  const sane =
    Number.isInteger(dimension) &&
    Number.isInteger(slotCount) &&
    Number.isInteger(live) &&
    dimension >= 0 &&
    live >= 0 &&
    live <= slotCount &&
    (dimension > 0 || slotCount === 0) &&
    (slotCount === 0 || segmentRows >= 1) &&
    head.free.length === slotCount - live &&
    epochField != null;
  if (!sane) return { kind: 'broken', version };

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
