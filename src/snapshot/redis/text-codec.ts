/**
 * How a chunk's text is stored in the snapshot's text buckets (docs/snapshot.md, "What a chunk costs in
 * Redis"): when that is shorter than the text, one 0xFF byte, varint(UTF-8 bytes of the text), then the
 * text as raw DEFLATE from a fresh compressor, ended by a sync flush rather than a final block; else the
 * text's UTF-8 bytes as they are. No UTF-8 sequence starts with 0xFF, so the first byte tells the two
 * apart. A snapshot holding texts in this form names its bucket count `bkz` (keys.ts), which readers
 * that do not know the form never find: they drop such a snapshot rather than hand out its texts.
 *
 * Each compressed text refers back only into itself and ends on a byte boundary with no final block, so
 * the compressed texts of one read, laid end to end, are one DEFLATE stream: one inflate call decodes
 * them all (a call costs about 8 µs besides the decoding, which takes about 4 µs a 500-character text).
 */
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { MAX_ITEM_BYTES } from '../../contracts/dynamo-limits';
import { ByteReader, ByteWriter } from './keyword-postings-codec';

/** First byte of a compressed text. */
const COMPRESSED = 0xff;

/**
 * Texts shorter than this are stored as they are: DEFLATE's block header and code tables outweigh what
 * it saves on a few words, and the call costs about 20 µs whatever the length.
 */
const COMPRESS_MIN_BYTES = 64;

const SEGMENT = { finishFlush: constants.Z_SYNC_FLUSH } as const;

/** The stored form of `text`: a Buffer when compressed, else the text itself. */
export function storedText(text: string): Buffer | string {
  // A UTF-16 code unit is at most 3 UTF-8 bytes.
  if (text.length * 3 < COMPRESS_MIN_BYTES) return text;
  const raw = Buffer.from(text, 'utf8');
  if (raw.length < COMPRESS_MIN_BYTES) return text;
  const packed = deflateRawSync(raw, SEGMENT);
  const header = new ByteWriter();
  header.varint(raw.length);
  const head = header.take();
  if (1 + head.length + packed.length >= raw.length) return text;
  return Buffer.concat([Buffer.from([COMPRESSED]), head, packed]);
}

/** A compressed text's declared UTF-8 length and where its DEFLATE bytes start; null when malformed. */
function compressedHead(value: Buffer): { length: number; start: number } | null {
  const reader = new ByteReader(value);
  reader.pos = 1;
  const length = reader.varint();
  if (!Number.isInteger(length) || length > MAX_ITEM_BYTES || reader.pos > value.length) return null;
  return { length, start: reader.pos };
}

/** Most bytes one inflate call gives: a read of many texts is decoded in calls of about this much. */
const JOINED_MAX_BYTES = 1 << 20;

type Compressed = { index: number; length: number; start: number };

/**
 * Texts from their stored forms, in order; null for one that is compressed and does not inflate to its
 * declared length (then the snapshot cannot be trusted, as when the text is missing).
 */
export function textsOfStored(values: readonly Buffer[]): (string | null)[] {
  const out: (string | null)[] = new Array(values.length);
  let group: Compressed[] = [];
  let groupBytes = 0;
  for (const [index, value] of values.entries()) {
    if (value.length === 0 || value[0] !== COMPRESSED) {
      out[index] = value.toString('utf8');
      continue;
    }
    const head = compressedHead(value);
    if (head === null) {
      out[index] = null;
      continue;
    }
    if (group.length > 0 && groupBytes + head.length > JOINED_MAX_BYTES) {
      inflateGroup(values, group, groupBytes, out);
      group = [];
      groupBytes = 0;
    }
    group.push({ index, ...head });
    groupBytes += head.length;
  }
  if (group.length > 0) inflateGroup(values, group, groupBytes, out);
  return out;
}

/**
 * Writes the texts of `group` into `out`: their DEFLATE bytes end to end in one inflate call, or one
 * at a time when that does not give exactly `total` bytes (a malformed text then says null for itself).
 */
function inflateGroup(
  values: readonly Buffer[],
  group: readonly Compressed[],
  total: number,
  out: (string | null)[],
): void {
  if (group.length > 1) {
    const joined = inflateExactly(
      Buffer.concat(group.map(({ index, start }) => (values[index] as Buffer).subarray(start))),
      total,
    );
    if (joined !== null) {
      let at = 0;
      for (const { index, length } of group) {
        out[index] = joined.toString('utf8', at, at + length);
        at += length;
      }
      return;
    }
  }
  for (const { index, length, start } of group) {
    out[index] = inflateExactly((values[index] as Buffer).subarray(start), length)?.toString('utf8') ?? null;
  }
}

/** `deflated` inflated, or null when it is not DEFLATE or does not give exactly `length` bytes. */
function inflateExactly(deflated: Buffer, length: number): Buffer | null {
  try {
    const out = inflateRawSync(deflated, { ...SEGMENT, maxOutputLength: length + 1 });
    return out.length === length ? out : null;
  } catch {
    return null;
  }
}
