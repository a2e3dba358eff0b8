/**
 * Pure parts of the Redis snapshot: how vectors and rows are encoded, and how a read snapshot is checked
 * and compacted. No Redis here, so all of it is unit-tested.
 */

import type { VersionedChunk } from '../../domain/document-version';
import { writeUnitVector } from '../../domain/ranking/scoring';
import type { ChunkVersion } from '../../domain/types';
import type { SnapshotRow } from '../port';

export { writeUnitVector };

/** The unit vector as float32 little-endian bytes, or null when it holds a non-finite value. */
export function unitVectorBytes(vector: ArrayLike<number>): Buffer | null {
  const out = new Float32Array(vector.length);
  if (!writeUnitVector(vector, out, 0)) return null;
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * The rows hash value of a chunk: a JSON array of its fields by position, `[chunk_id, filename,
 * chunk_index, version as [id, chunks, at] or null, metadata, created_at or null, expires_at or null]`,
 * trailing nulls left out. Positions instead of names keep about 90 bytes a row out of Redis. The fields
 * a document's visibility reads come before the metadata, so `VisibilityRowDecoder` reads them without
 * parsing the rest.
 */
export function encodeRow(row: SnapshotRow): string {
  const fields: unknown[] = [
    row.chunk_id,
    row.filename,
    row.chunk_index,
    row.version === undefined ? null : [row.version.id, row.version.chunks, row.version.at],
    row.metadata,
    row.created_at ?? null,
    row.expires_at ?? null,
  ];
  while (fields.length > ROW_FIELDS_REQUIRED && fields[fields.length - 1] === null) fields.pop();
  return JSON.stringify(fields);
}

/** Positions a stored row always has (chunk_id up to metadata); created_at and expires_at may follow. */
const ROW_FIELDS_REQUIRED = 5;
const ROW_FIELDS_MOST = 7;

/**
 * A rows hash value back as a row, or null when it is not one (then the snapshot cannot be trusted).
 * Reads both layouts: `encodeRow`'s array, and an object of named fields, as snapshots written before
 * rows were kept by position still hold until their next rebuild.
 */
export function decodeRow(json: string): SnapshotRow | null {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  if (Array.isArray(value)) return rowOfFields(value);
  if (typeof value !== 'object' || value === null) return null;
  const { chunk_id, filename, chunk_index, metadata, created_at, version, expires_at } = value as Record<
    string,
    unknown
  >;
  if (typeof chunk_id !== 'string' || typeof filename !== 'string' || typeof chunk_index !== 'number')
    return null;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) return null;
  return {
    chunk_id,
    filename,
    chunk_index,
    metadata: metadata as SnapshotRow['metadata'],
    ...(typeof created_at === 'string' ? { created_at } : {}),
    ...(isVersion(version) ? { version } : {}),
    ...(typeof expires_at === 'number' ? { expires_at } : {}),
  };
}

/** A row from `encodeRow`'s array, or null when the array is not one. */
function rowOfFields(fields: unknown[]): SnapshotRow | null {
  if (fields.length < ROW_FIELDS_REQUIRED || fields.length > ROW_FIELDS_MOST) return null;
  const [chunk_id, filename, chunk_index, versionFields, metadata, created_at = null, expires_at = null] =
    fields;
  if (typeof chunk_id !== 'string' || typeof filename !== 'string' || typeof chunk_index !== 'number')
    return null;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) return null;
  if (created_at !== null && typeof created_at !== 'string') return null;
  if (expires_at !== null && typeof expires_at !== 'number') return null;
  const version = versionFields === null ? undefined : versionOfFields(versionFields);
  if (versionFields !== null && version === undefined) return null;
  return {
    chunk_id,
    filename,
    chunk_index,
    metadata: metadata as SnapshotRow['metadata'],
    ...(created_at === null ? {} : { created_at }),
    ...(version === undefined ? {} : { version }),
    ...(expires_at === null ? {} : { expires_at }),
  };
}

function isVersion(value: unknown): value is ChunkVersion {
  if (typeof value !== 'object' || value === null) return false;
  const { id, chunks, at } = value as Record<string, unknown>;
  return typeof id === 'string' && typeof chunks === 'number' && typeof at === 'string';
}

/** A version from its `[id, chunks, at]` array; undefined when the value is not one. */
function versionOfFields(value: unknown): ChunkVersion | undefined {
  if (!Array.isArray(value) || value.length !== 3) return undefined;
  const [id, chunks, at] = value as unknown[];
  if (typeof id !== 'string' || typeof chunks !== 'number' || typeof at !== 'string') return undefined;
  return { id, chunks, at };
}

/**
 * The dimension a rebuilt snapshot keeps: the most common one among the chunks (ties: the first met), so
 * that a stray chunk of another model does not decide for the bot. 0 when there are no vectors.
 */
export function chooseDimension(vectors: Iterable<{ embedding: ArrayLike<number> }>): number {
  const counts = new Map<number, number>();
  for (const { embedding } of vectors) {
    if (embedding.length > 0) counts.set(embedding.length, (counts.get(embedding.length) ?? 0) + 1);
  }
  let best = 0;
  let bestCount = 0;
  // A Map iterates in insertion order, so on a tie the dimension met first wins.
  for (const [dim, count] of counts) {
    if (count > bestCount) {
      best = dim;
      bestCount = count;
    }
  }
  return best;
}

/** Rows of a snapshot in slot order, with the slot each one occupies. */
export type DecodedRows = { rows: SnapshotRow[]; slots: Uint32Array };

/**
 * A rows hash value: the slot, a space, the row's JSON. The slot is also the hash field; repeating it in
 * the value lets a reader fetch the rows with HVALS alone, about twice as fast at 100k rows as HGETALL.
 */
export function encodeRowValue(slot: number, rowJson: string): string {
  return `${slot} ${rowJson}`;
}

/**
 * Decodes the values of the rows hash of a snapshot with `slotCount` slots, in ascending slot order.
 * Returns null when any value does not start with a canonical slot number below `slotCount`, two values
 * claim one slot, or any row is not a row (the snapshot then cannot be trusted).
 */
export function decodeRowValues(values: readonly string[], slotCount: number): DecodedRows | null {
  const slots = new Uint32Array(values.length);
  const rows: SnapshotRow[] = new Array(values.length);
  const taken = new Uint8Array(slotCount);
  let sorted = true;
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as string;
    const space = value.indexOf(' ');
    const slot = takeSlot(value, space, slotCount, taken);
    if (slot === null) return null;
    const row = decodeRow(value.slice(space + 1));
    if (row === null) return null;
    slots[i] = slot;
    rows[i] = row;
    if (i > 0 && slot < (slots[i - 1] as number)) sorted = false;
  }
  if (sorted) return { rows, slots };
  // A large hash comes back in hash order: sort by slot so that vectors can be compacted in place.
  const order = Array.from({ length: values.length }, (_, i) => i).sort(
    (a, b) => (slots[a] as number) - (slots[b] as number),
  );
  return {
    rows: order.map((i) => rows[i] as SnapshotRow),
    slots: Uint32Array.from(order, (i) => slots[i] as number),
  };
}

/**
 * The slot a rows hash value starts with (its text before `space`), marked in `taken`; null when it is
 * not a canonical slot number below `slotCount` or another value already claimed it.
 */
function takeSlot(value: string, space: number, slotCount: number, taken: Uint8Array): number | null {
  const field = value.slice(0, space);
  const slot = Number(field);
  if (space <= 0 || !Number.isInteger(slot) || slot < 0 || slot >= slotCount || String(slot) !== field)
    return null;
  if (taken[slot] === 1) return null;
  taken[slot] = 1;
  return slot;
}

/**
 * The visibility fields (filename, chunk_index, version) of the values of a rows hash, as
 * `decodeRowValues` reads them and with its checks of the slots, without parsing the metadata and the
 * fields after it: at 100k rows this is what a cold scan reads the rows for, and a whole parse costs
 * twice as much. The rest of a row is checked where it is read whole (a hit's row, a whole read).
 *
 * Values are added a segment at a time, so a reader can drop each segment's strings before the next
 * arrives: a filename is kept as one string per document, never as a slice holding its row's value.
 */
export class VisibilityRowDecoder {
  /** The fields of each row added, in the order added. */
  readonly chunks: VersionedChunk[] = [];
  /** The slot of each row added. */
  readonly slots: number[] = [];
  private readonly taken: Uint8Array;
  /** One string per filename, and one object per version (by its JSON): rows share them. */
  private readonly filenames = new Map<string, string>();
  private readonly versions = new Map<string, ChunkVersion>();

  constructor(private readonly slotCount: number) {
    this.taken = new Uint8Array(slotCount);
  }

  /** Adds rows hash values; false when a slot is wrong or a row's fields up to its metadata are not a row's. */
  add(values: readonly string[]): boolean {
    for (const value of values) {
      const space = value.indexOf(' ');
      const slot = takeSlot(value, space, this.slotCount, this.taken);
      if (slot === null) return false;
      const fields =
        value.charCodeAt(space + 1) === OPEN_BRACKET
          ? positionalVisibilityFieldsOf(value, space + 1, this)
          : namedVisibilityFieldsOf(value, space + 1, this);
      const chunk = fields ?? this.fieldsOfWhole(value.slice(space + 1));
      if (chunk === null) return false;
      this.chunks.push(chunk);
      this.slots.push(slot);
    }
    return true;
  }

  /** The one string kept for a filename (the first met, copied out of its row's value). */
  filenameOf(name: string): string {
    let kept = this.filenames.get(name);
    if (kept === undefined) {
      kept = flatCopy(name);
      this.filenames.set(kept, kept);
    }
    return kept;
  }

  /** The one object kept for a version, by its JSON text; undefined when the text is not a version. */
  versionOf(json: string): ChunkVersion | undefined {
    let kept = this.versions.get(json);
    if (kept === undefined) {
      kept = parsedVersion(json);
      if (kept !== undefined) this.versions.set(flatCopy(json), kept);
    }
    return kept;
  }

  /** The visibility fields of a row parsed whole, without keeping the rest of it. */
  private fieldsOfWhole(json: string): VersionedChunk | null {
    const row = decodeRow(json);
    if (row === null) return null;
    const filename = this.filenameOf(row.filename);
    return row.version === undefined
      ? { filename, chunk_index: row.chunk_index }
      : { filename, chunk_index: row.chunk_index, version: row.version };
  }
}

/**
 * A string with its own characters, not a slice of a longer one (which would keep that one alive). JSON
 * keeps every UTF-16 unit, lone surrogates included, where a UTF-8 round trip would replace them.
 */
function flatCopy(text: string): string {
  return JSON.parse(JSON.stringify(text)) as string;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/**
 * Where the JSON string opened by the quote at `openAt` closes: the next quote not escaped (preceded by
 * an even number of backslashes); -1 when none does.
 */
function stringEnd(value: string, openAt: number): number {
  let from = openAt + 1;
  for (;;) {
    const quote = value.indexOf('"', from);
    if (quote < 0) return -1;
    let backslashes = 0;
    while (value.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
    from = quote + 1;
  }
}

/** The string a JSON string literal holds (`json` with its quotes), parsed only when it escapes something. */
function stringOf(json: string): string | undefined {
  return json.includes('\\') ? parsedString(json) : json.slice(1, -1);
}

/**
 * The visibility fields of the row array starting at `from` (`encodeRow`'s layout), read up to the
 * version, before the metadata; undefined when the array is not laid out as `encodeRow` writes it (the
 * caller parses it whole).
 */
function positionalVisibilityFieldsOf(
  value: string,
  from: number,
  kept: Pick<VisibilityRowDecoder, 'filenameOf' | 'versionOf'>,
): VersionedChunk | undefined {
  if (value.charCodeAt(from + 1) !== QUOTE) return undefined;
  const idEnd = stringEnd(value, from + 1);
  if (idEnd < 0 || value.charCodeAt(idEnd + 1) !== COMMA || value.charCodeAt(idEnd + 2) !== QUOTE)
    return undefined;
  const nameEnd = stringEnd(value, idEnd + 2);
  if (nameEnd < 0 || value.charCodeAt(nameEnd + 1) !== COMMA) return undefined;
  const indexEnd = value.indexOf(',', nameEnd + 2);
  if (indexEnd < 0) return undefined;
  const indexText = value.slice(nameEnd + 2, indexEnd);
  const chunkIndex = Number(indexText);
  const filename = stringOf(value.slice(idEnd + 2, nameEnd + 1));
  if (filename === undefined || indexText === '' || !Number.isFinite(chunkIndex)) return undefined;
  if (value.startsWith('null,', indexEnd + 1))
    return { filename: kept.filenameOf(filename), chunk_index: chunkIndex };
  // The version: ["id",chunks,"at"].
  const versionAt = indexEnd + 1;
  if (value.charCodeAt(versionAt) !== OPEN_BRACKET || value.charCodeAt(versionAt + 1) !== QUOTE)
    return undefined;
  const versionIdEnd = stringEnd(value, versionAt + 1);
  if (versionIdEnd < 0 || value.charCodeAt(versionIdEnd + 1) !== COMMA) return undefined;
  const chunksEnd = value.indexOf(',', versionIdEnd + 2);
  if (chunksEnd < 0 || value.charCodeAt(chunksEnd + 1) !== QUOTE) return undefined;
  const versionAtEnd = stringEnd(value, chunksEnd + 1);
  if (versionAtEnd < 0 || value.charCodeAt(versionAtEnd + 1) !== CLOSE_BRACKET) return undefined;
  const version = kept.versionOf(value.slice(versionAt, versionAtEnd + 2));
  if (version === undefined) return undefined;
  return { filename: kept.filenameOf(filename), chunk_index: chunkIndex, version };
}

const FILENAME_KEY = ',"filename":';
const CHUNK_INDEX_KEY = ',"chunk_index":';
const VERSION_KEY = ',"version":';
const METADATA_KEY = ',"metadata":';

/**
 * The visibility fields of a row object of named fields starting at `from`, read at the keys' places when
 * they come in the order chunk_id, filename, chunk_index, version, metadata; undefined when the row is
 * laid out otherwise (the caller parses it whole). A key is found by
 * its leading `,"`: inside a JSON string every quote is escaped, so that pair only occurs between
 * members, and the first match after the previous member is the key itself.
 */
function namedVisibilityFieldsOf(
  value: string,
  from: number,
  kept: Pick<VisibilityRowDecoder, 'filenameOf' | 'versionOf'>,
): VersionedChunk | undefined {
  if (!value.startsWith('{"chunk_id":"', from)) return undefined;
  const filenameAt = value.indexOf(FILENAME_KEY, from);
  if (filenameAt < 0) return undefined;
  const indexAt = value.indexOf(CHUNK_INDEX_KEY, filenameAt);
  if (indexAt < 0) return undefined;
  const nextAt = value.indexOf(',"', indexAt + CHUNK_INDEX_KEY.length);
  if (nextAt < 0) return undefined;
  const filenameJson = value.slice(filenameAt + FILENAME_KEY.length, indexAt);
  const filename = filenameJson.includes('\\') ? parsedString(filenameJson) : unquoted(filenameJson);
  const indexText = value.slice(indexAt + CHUNK_INDEX_KEY.length, nextAt);
  const chunkIndex = Number(indexText);
  if (filename === undefined || indexText === '' || !Number.isFinite(chunkIndex)) return undefined;
  if (value.startsWith(VERSION_KEY, nextAt)) {
    const metadataAt = value.indexOf(METADATA_KEY, nextAt);
    if (metadataAt < 0) return undefined;
    const version = kept.versionOf(value.slice(nextAt + VERSION_KEY.length, metadataAt));
    if (version === undefined) return undefined;
    return { filename: kept.filenameOf(filename), chunk_index: chunkIndex, version };
  }
  // A row with a version elsewhere (or a metadata key named version) is parsed whole.
  if (!value.startsWith(METADATA_KEY, nextAt) || value.includes('"version":', nextAt)) return undefined;
  return { filename: kept.filenameOf(filename), chunk_index: chunkIndex };
}

function unquoted(json: string): string | undefined {
  return json.length >= 2 && json.startsWith('"') && json.endsWith('"') ? json.slice(1, -1) : undefined;
}

function parsedString(json: string): string | undefined {
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** A version from its JSON: `encodeRow`'s `[id, chunks, at]`, or an object of named fields. */
function parsedVersion(json: string): ChunkVersion | undefined {
  try {
    const value: unknown = JSON.parse(json);
    if (Array.isArray(value)) return versionOfFields(value);
    return isVersion(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Moves the vectors of the given slots (ascending, distinct) to the front of `vectors`, row i to offset
 * i * dim, in place: since slot[i] >= i, every move reads a slot not yet overwritten. Returns the view of
 * the compacted rows. No allocation, so a 150 MB snapshot costs no second 150 MB of fresh memory.
 */
export function compactSlots(vectors: Float32Array, dim: number, slots: Uint32Array): Float32Array {
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i] as number;
    if (slot !== i) vectors.copyWithin(i * dim, slot * dim, (slot + 1) * dim);
  }
  return vectors.subarray(0, slots.length * dim);
}
