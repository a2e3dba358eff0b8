import { createHash } from 'node:crypto';

/**
 * The prefix every deterministic chunk id of a document starts with: 32 hex digits of SHA-256 of the
 * filename and a colon. Hashing keeps the sort key short whatever the filename's length, and the shared
 * prefix lets a strongly consistent Query (`begins_with(chunk_id, prefix)`) find a document's chunks on the
 * base table, where the filename-index GSI is only eventually consistent.
 */
export function documentChunkIdPrefix(filename: string): string {
  return `${createHash('sha256').update(filename, 'utf8').digest('hex').slice(0, 32)}:`;
}

/**
 * The id of chunk `chunkIndex` of `filename` when the caller supplies none. The same document re-ingested
 * gets the same ids, so its chunks overwrite the old ones instead of piling up. The index is zero-padded to
 * six digits so that a document's chunks sort in order.
 */
export function deterministicChunkId(filename: string, chunkIndex: number): string {
  return `${documentChunkIdPrefix(filename)}${String(chunkIndex).padStart(6, '0')}`;
}
