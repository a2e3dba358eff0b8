/**
 * The cold read's decoder of a rows hash: the visibility fields of each row (filename, chunk_index,
 * version), read in place from either row layout without parsing the metadata after them.
 */
import type { VersionedChunk } from '../../domain/document-version';
import type { ChunkVersion } from '../../domain/types';
import { decodeRow, isVersion, takeSlot, versionOfFields } from './encoding';

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

/**
 * The string a JSON string literal holds (`json` with its quotes), parsed only when it escapes something;
 * undefined when `json` is not a string literal.
 */
function stringOf(json: string): string | undefined {
  return json.includes('\\') ? parsedString(json) : unquoted(json);
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
 * laid out otherwise (the caller parses it whole). A key is found by its leading `,"`: inside a JSON
 * string every quote is escaped, so that pair only occurs between members, and the first match after
 * the previous member is the key itself.
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
  const filename = stringOf(filenameJson);
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
