import { createHash } from 'node:crypto';
import type { ChunkVersion } from './types';

export type { ChunkVersion };

/** Hex digits of a version id. */
export const VERSION_ID_LENGTH = 16;

/** Bytes a version adds to a chunk id: a `~` and the version id. */
export const VERSION_SUFFIX_BYTES = 1 + VERSION_ID_LENGTH;

/** The longest `at` a version is written with (`toISOString` of a date in years 0 to 9999). */
export const LONGEST_VERSION_AT = '0000-00-00T00:00:00.000Z';

/**
 * What `versionIdOf` reads of an upsert message (`UpsertDocumentMessage` in `src/contracts/` has this
 * shape): the whole message, given whole, is what a document without `version` is derived from.
 */
export type VersionedMessage = {
  filename: string;
  file_size: number;
  created_at?: string | undefined;
  total_chunks?: number | undefined;
  version?: string | undefined;
  chunks: readonly unknown[];
};

/**
 * The version id of an upsert message: the same for every message that writes the same version.
 * - `version` given: derived from it (the parts of a split document name one version this way;
 *   `splitUpsertIntoMessages` sets it).
 * - a whole document without `version`: derived from the whole message, so sending the same message
 *   again rewrites the same items, and a changed document gets a new version.
 * - a part of a split document without `version`: derived from filename, file_size, created_at and
 *   total_chunks, the fields every part repeats.
 */
export function versionIdOf(message: VersionedMessage): string {
  const totalChunks = message.total_chunks ?? message.chunks.length;
  const source =
    message.version !== undefined
      ? `version:${message.version}`
      : totalChunks === message.chunks.length
        ? `message:${JSON.stringify(message)}`
        : `split:${JSON.stringify([message.filename, message.file_size, message.created_at ?? null, totalChunks])}`;
  return createHash('sha256').update(source, 'utf8').digest('hex').slice(0, VERSION_ID_LENGTH);
}

/** The stored chunk id of chunk `chunkId` in version `versionId`, so that two versions never share an item. */
export function versionedChunkId(chunkId: string, versionId: string): string {
  return `${chunkId}~${versionId}`;
}

const VERSION_SUFFIX = new RegExp(`~[0-9a-f]{${VERSION_ID_LENGTH}}$`);

/** The chunk id a writer gave, from a stored id (`<chunk_id>~<version>`, or a chunk id with no version). */
export function unversionedChunkId(storedId: string): string {
  return storedId.replace(VERSION_SUFFIX, '');
}

/** The VectorEmbeddings attributes that hold a chunk's version. */
export type VersionAttributes = { doc_version: string; version_chunks: number; version_at: string };

export function versionAttributes(version: ChunkVersion): VersionAttributes {
  return { doc_version: version.id, version_chunks: version.chunks, version_at: version.at };
}

/** The version an item's attributes hold, or undefined when they hold none (or a malformed one). */
export function versionOfItem(item: Record<string, unknown>): ChunkVersion | undefined {
  const { doc_version: id, version_chunks: chunks, version_at: at } = item;
  if (typeof id !== 'string' || typeof chunks !== 'number' || typeof at !== 'string') return undefined;
  if (!Number.isSafeInteger(chunks) || chunks < 1) return undefined;
  return { id, chunks, at };
}

/** What visibility needs of a chunk. */
export type VersionedChunk = { filename: string; chunk_index: number; version?: ChunkVersion | undefined };

/** The version id standing for the chunks of a document written without a version. */
export const UNVERSIONED = '';

type VersionTally = { chunks: number; indices: Set<number>; at: string; consistent: boolean };

/**
 * The version each document shows, given all its chunks (docs/ingestion.md, "Versions"): among its
 * complete versions (every chunk_index below `chunks` present), the one with the latest `at` (ties: the
 * greater id). Chunks without a version count as one complete version older than any other. A document
 * with no complete version shows nothing (null).
 *
 * Exactly one version of a document is ever shown, whatever subset of its chunks a reader sees, so a
 * reader that sees the chunks at different moments (a paged read, a snapshot fed by several stream
 * shards) may miss a document for a moment but never mixes two versions.
 */
export function visibleVersions(chunks: Iterable<VersionedChunk>): Map<string, string | null> {
  const tallies = new Map<string, Map<string, VersionTally>>();
  for (const chunk of chunks) {
    let versions = tallies.get(chunk.filename);
    if (versions === undefined) {
      versions = new Map();
      tallies.set(chunk.filename, versions);
    }
    const id = chunk.version?.id ?? UNVERSIONED;
    const tally = versions.get(id);
    if (tally === undefined) {
      versions.set(id, {
        chunks: chunk.version?.chunks ?? 0,
        indices: new Set([chunk.chunk_index]),
        at: chunk.version?.at ?? '',
        consistent: true,
      });
      continue;
    }
    tally.indices.add(chunk.chunk_index);
    if (chunk.version !== undefined) {
      if (chunk.version.chunks !== tally.chunks) tally.consistent = false;
      if (chunk.version.at > tally.at) tally.at = chunk.version.at;
    }
  }
  const visible = new Map<string, string | null>();
  for (const [filename, versions] of tallies) {
    let best: { id: string; at: string } | null = null;
    for (const [id, tally] of versions) {
      if (!isComplete(id, tally)) continue;
      if (best === null || tally.at > best.at || (tally.at === best.at && id > best.id)) {
        best = { id, at: tally.at };
      }
    }
    visible.set(filename, best?.id ?? null);
  }
  return visible;
}

function isComplete(id: string, tally: VersionTally): boolean {
  if (id === UNVERSIONED) return true;
  if (!tally.consistent || tally.indices.size < tally.chunks) return false;
  for (let index = 0; index < tally.chunks; index++) if (!tally.indices.has(index)) return false;
  return true;
}

/** Whether a chunk belongs to the version its document shows. */
export function isShown(chunk: VersionedChunk, visible: ReadonlyMap<string, string | null>): boolean {
  return visible.get(chunk.filename) === (chunk.version?.id ?? UNVERSIONED);
}

/**
 * 1 for each row search may return, 0 for rows of versions their document does not show; undefined when
 * every row may be returned (the usual case: no replacement under way, nothing left over).
 */
export function visibilityMask(rows: ReadonlyArray<VersionedChunk>): Uint8Array | undefined {
  const visible = visibleVersions(rows);
  let mask: Uint8Array | undefined;
  rows.forEach((row, i) => {
    if (isShown(row, visible)) return;
    if (mask === undefined) mask = new Uint8Array(rows.length).fill(1);
    mask[i] = 0;
  });
  return mask;
}

/** `mask` and `other` together (a row passes when it passes both); undefined stands for all ones. */
export function bothMasks(
  mask: Uint8Array | undefined,
  other: Uint8Array | undefined,
): Uint8Array | undefined {
  if (mask === undefined) return other;
  if (other === undefined) return mask;
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = (mask[i] as number) & (other[i] as number);
  return out;
}

/**
 * The chunks a writer of version `mine` removes once it wrote its chunks: every chunk of another version
 * when `mine` is the version the document now shows; none otherwise (a part of a split document that
 * is not the last, or a replacement the document does not show: the shown version stays whole).
 */
export function supersededChunks<T extends VersionedChunk>(chunks: readonly T[], mine: string): T[] {
  const visible = visibleVersions(chunks);
  const [filename] = visible.keys();
  if (filename === undefined || visible.get(filename) !== mine) return [];
  return chunks.filter((chunk) => (chunk.version?.id ?? UNVERSIONED) !== mine);
}
