/**
 * The cold search's reads (docs/snapshot.md, "Scan reads"): the int8 codes of every slot with the
 * bound's terms and the rows (for which versions of documents search shows), and later the float32
 * vectors of only the candidate slots. No float32 segment is read whole, so a cold search reads about a
 * quarter of the vector bytes. Every MULTI repeats the meta (build and seq change with every change), so
 * equal metas prove that all pieces belong to one snapshot version.
 */
import type { Cluster, Redis } from 'ioredis';
import { visibilityMask } from '../../domain/document-version';
import type { ScanCandidates, ScanSnapshot } from '../port';
import { decodeRowValues } from './encoding';
import { type BotSnapshotKeys, codeSegmentKey, rowSegmentKey, segmentKey } from './keys';
import {
  type HeadRead,
  layoutOf,
  META_FIELDS,
  positiveIntegerOf,
  sameMeta,
  valuesOf,
  versionOf,
} from './read';
import { VisibilityRowDecoder } from './row-visibility';

/**
 * What one scan read found (the same outcomes as the whole read of read.ts, but for absent: the head
 * tells that). `hidden` is present when the read found no kept visibility at its version and worked it
 * out from the rows: the slots search hides, for `keepVisibility`.
 */
export type ScanReadOutcome =
  | { kind: 'ok'; scan: ScanSnapshot; hidden?: Uint32Array }
  | { kind: 'broken'; version: string }
  | { kind: 'moved' };

/** Code bytes per GETRANGE: small replies are parsed without assembling one large buffer per segment. */
const CODE_PIECE_BYTES = 64 * 1024;

/**
 * Reads the codes of every slot into one Int8Array (its own buffer, offset 0, as the native scan needs),
 * segment by segment, from `head` on: every segment's MULTI repeats the meta, so a snapshot that moved
 * since the head was read is reported moved.
 */
export async function readScanOnce(
  client: Redis | Cluster,
  botId: string,
  keys: BotSnapshotKeys,
  head: HeadRead,
): Promise<ScanReadOutcome> {
  const { meta: first, free } = head;
  const slotCount = Number(first[1] ?? 0);
  const segmentRows = positiveIntegerOf(first[6]);
  const segments = layoutOf(first[1], first[6]);
  const [dimField, , liveField, build, , epochField] = first;
  if (dimField == null || build == null) return { kind: 'broken', version: '' };
  const version = versionOf(first);
  const dimension = Number(dimField);
  const live = Number(liveField);
  const [scale, maxCodeNorm, maxResidualNorm] = [Number(first[7]), Number(first[8]), Number(first[9])];
  // The script checked every key's length against the meta; these are what this read sizes by it.
  const sane =
    Number.isInteger(dimension) &&
    Number.isInteger(live) &&
    dimension >= 0 &&
    live >= 0 &&
    live <= slotCount &&
    (dimension > 0 || slotCount === 0) &&
    (slotCount === 0 || (segmentRows >= 1 && scale > 0 && maxCodeNorm >= 0 && maxResidualNorm >= 0)) &&
    free.length === slotCount - live &&
    epochField != null;
  const liveMask = sane ? liveMaskOf(free, slotCount) : null;
  if (liveMask === null) return { kind: 'broken', version };

  const codes = new Int8Array(slotCount * dimension);
  const target = new Uint8Array(codes.buffer);
  // The rows are read for one thing: which slots hold chunks of a version their document does not show
  // (document-version.ts). Those are masked out like free slots, so no search returns them. A reader that
  // worked them out at this version kept them, and then no row is read.
  const kept = keptHiddenSlots(head.kept, version, slotCount);
  const visibility = kept === null ? new VisibilityRowDecoder(slotCount) : null;
  const segmentRead = (n: number) => {
    const bytes = Math.min(segmentRows, slotCount - n * segmentRows) * dimension;
    const codeKey = codeSegmentKey(keys.vectors, n);
    const multi = client.multi().hmget(keys.meta, ...META_FIELDS);
    if (visibility !== null) multi.hvals(rowSegmentKey(keys.rows, n));
    multi.strlen(codeKey);
    for (let at = 0; at < bytes; at += CODE_PIECE_BYTES)
      multi.getrangeBuffer(codeKey, at, Math.min(bytes, at + CODE_PIECE_BYTES) - 1);
    const reply = multi.exec();
    // A read left in flight by an early return must not fail unhandled; an awaited one still throws.
    reply.catch(() => undefined);
    return reply;
  };
  // The next segment is asked for before this one is decoded, so Redis sends it meanwhile; only two
  // segments' replies are in memory at once.
  let next = segments > 0 ? segmentRead(0) : null;
  for (let n = 0; n < segments; n++) {
    const reply = await (next as ReturnType<typeof segmentRead>);
    next = n + 1 < segments ? segmentRead(n + 1) : null;
    const values = valuesOf(reply);
    if (!sameMeta(values[0] as (string | null)[], first)) return { kind: 'moved' };
    const codesAt = visibility === null ? 2 : 3;
    const rows = Math.min(segmentRows, slotCount - n * segmentRows);
    if (values[codesAt - 1] !== rows * dimension) return { kind: 'broken', version };
    let at = n * segmentRows * dimension;
    for (let i = codesAt; i < values.length; i++) {
      const piece = values[i] as Buffer;
      target.set(piece, at);
      at += piece.byteLength;
    }
    if (visibility !== null && !visibility.add(values[1] as string[])) return { kind: 'broken', version };
  }
  let hidden: Uint32Array;
  if (visibility === null) hidden = kept as Uint32Array;
  else {
    if (visibility.slots.length !== live) return { kind: 'broken', version };
    hidden = hiddenSlotsOf(visibilityMask(visibility.chunks), visibility.slots);
  }
  let mask = liveMask;
  if (hidden.length > 0) {
    mask ??= new Uint8Array(slotCount).fill(1);
    for (const slot of hidden) mask[slot] = 0;
  }
  return {
    kind: 'ok',
    ...(visibility === null ? {} : { hidden }),
    scan: {
      botId,
      version,
      epoch: Number(epochField),
      dimension,
      live,
      matrix: { codes, dimension, rowCount: slotCount, scale, maxCodeNorm, maxResidualNorm },
      segmentRows,
      ...(mask === undefined ? {} : { liveMask: mask }),
    },
  };
}

/** The slots of the rows a visibility mask hides (`slots[i]` is row i's slot), ascending. */
function hiddenSlotsOf(mask: Uint8Array | undefined, slots: readonly number[]): Uint32Array {
  if (mask === undefined) return new Uint32Array(0);
  const hidden: number[] = [];
  mask.forEach((shown, i) => {
    if (shown === 0) hidden.push(slots[i] as number);
  });
  return Uint32Array.from(hidden).sort();
}

/** The value `keepVisibility` keeps: the version, a newline, and the hidden slots as uint32 little-endian. */
export function visibilityValue(version: string, hidden: Uint32Array): Buffer {
  const head = Buffer.from(`${version}\n`, 'latin1');
  const value = Buffer.allocUnsafe(head.byteLength + hidden.length * 4);
  head.copy(value, 0);
  hidden.forEach((slot, i) => {
    value.writeUInt32LE(slot, head.byteLength + i * 4);
  });
  return value;
}

/**
 * The hidden slots a kept value holds for `version`; null when none is kept for it (absent, another
 * version, or not a value `visibilityValue` makes for this snapshot's slots: then the rows are read).
 */
function keptHiddenSlots(value: Buffer | null, version: string, slotCount: number): Uint32Array | null {
  if (value === null) return null;
  const head = Buffer.byteLength(version, 'latin1') + 1;
  if (value.byteLength < head || (value.byteLength - head) % 4 !== 0) return null;
  if (value.toString('latin1', 0, head) !== `${version}\n`) return null;
  const hidden = new Uint32Array((value.byteLength - head) / 4);
  for (let i = 0; i < hidden.length; i++) {
    const slot = value.readUInt32LE(head + i * 4);
    if (slot >= slotCount) return null;
    hidden[i] = slot;
  }
  return hidden;
}

/** 1 for the slots a chunk holds; undefined when none is free; null when the free list is not canonical. */
function liveMaskOf(free: string[], slotCount: number): Uint8Array | undefined | null {
  if (free.length === 0) return undefined;
  const mask = new Uint8Array(slotCount).fill(1);
  for (const field of free) {
    const slot = Number(field);
    if (!Number.isInteger(slot) || slot < 0 || slot >= slotCount || String(slot) !== field) return null;
    if (mask[slot] === 0) return null;
    mask[slot] = 0;
  }
  return mask;
}

/**
 * The float32 vectors and rows of the given slots at `version`, in one MULTI (a GETRANGE per slot and an
 * HMGET of the rows of each row segment they fall in). Null when the snapshot is no longer at that version, or a slot holds no row (the
 * caller then reads the snapshot again or falls back).
 */
export async function readCandidates(
  client: Redis | Cluster,
  keys: BotSnapshotKeys,
  scan: ScanSnapshot,
  slots: readonly number[],
): Promise<ScanCandidates | null> {
  const { dimension, segmentRows: rowsPerSegment } = scan;
  const { version } = scan;
  const slotCount = scan.matrix.rowCount;
  if (slots.length === 0) return { rows: [], vectors: new Float32Array(0) };
  const bytes = dimension * 4;
  const multi = client.multi().hmget(keys.meta, 'build', 'seq');
  const bySegment = new Map<number, number[]>();
  for (const slot of slots) {
    const n = Math.floor(slot / rowsPerSegment);
    const group = bySegment.get(n);
    if (group === undefined) bySegment.set(n, [slot]);
    else group.push(slot);
  }
  for (const [n, group] of bySegment) multi.hmget(rowSegmentKey(keys.rows, n), ...group.map(String));
  for (const slot of slots) {
    const n = Math.floor(slot / rowsPerSegment);
    const offset = (slot - n * rowsPerSegment) * bytes;
    multi.getrangeBuffer(segmentKey(keys.vectors, n), offset, offset + bytes - 1);
  }
  const values = valuesOf(await multi.exec());
  const [build, seq] = values[0] as (string | null)[];
  if (build == null || `${build}:${seq ?? '0'}` !== version) return null;
  const rowValues = values.slice(1, 1 + bySegment.size).flat() as (string | null)[];
  if (rowValues.some((value) => value === null)) return null;
  const decoded = decodeRowValues(rowValues as string[], slotCount);
  if (decoded === null) return null;
  // decodeRowValues sorts by slot: put the rows back in the order asked.
  const rowOfSlot = new Map<number, (typeof decoded.rows)[number]>();
  decoded.slots.forEach((slot, i) => {
    rowOfSlot.set(slot, decoded.rows[i] as (typeof decoded.rows)[number]);
  });
  const vectors = new Float32Array(slots.length * dimension);
  const target = new Uint8Array(vectors.buffer);
  for (let i = 0; i < slots.length; i++) {
    const piece = values[i + 1 + bySegment.size] as Buffer;
    if (piece.byteLength !== bytes) return null;
    target.set(piece, i * bytes);
  }
  return { rows: slots.map((slot) => rowOfSlot.get(slot) as (typeof decoded.rows)[number]), vectors };
}
