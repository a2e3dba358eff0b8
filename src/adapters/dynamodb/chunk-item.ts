import { checkEmbeddingValues } from '../../contracts/dynamo-limits';
import type { ChunkItem } from '../../domain/chunk-record';
import { versionOfItem } from '../../domain/document-version';
import { decodeEmbedding } from '../../domain/embedding-codec';
import { expiresAtOfItem } from '../../domain/expiry';
import { checkServableFields } from '../../domain/servable-fields';
import type { ChunkMetadata, StoredChunk } from '../../domain/types';
import { ValidationError } from '../../errors';

/**
 * One VectorEmbeddings item as a StoredChunk, whichever encoding holds its embedding. Fields the design
 * marks optional in practice (metadata, file_size) get neutral defaults; `text` is '' when not read.
 * @throws ValidationError when the item is one no search can serve, as the stream handler judges it
 * (`snapshotChangeOf`): no filename, an embedding that cannot be decoded or whose values a write would
 * refuse (non-finite, beyond 1e15, all zeros), or other fields `checkServableFields` refuses (text is
 * checked when the read brought it).
 */
export function toStoredChunk(
  item: ChunkItem,
  options: { textRead: boolean } = { textRead: true },
): StoredChunk {
  const chunkId = String(item.chunk_id);
  const metadata = item.metadata;
  if (typeof item.filename !== 'string' || item.filename === '') {
    throw new ValidationError(`chunk ${chunkId} has no filename: it belongs to no document`, 'filename');
  }
  const embedding = decodeEmbedding(item.embedding, `chunk ${chunkId} embedding`);
  checkEmbeddingValues(embedding, `chunk ${chunkId} embedding`);
  checkServableFields(
    { chunkIndex: item.chunk_index, text: item.text, metadata: metadata, textRead: options.textRead },
    `chunk ${chunkId} `,
  );
  const version = versionOfItem(item);
  const expiresAt = expiresAtOfItem(item);
  return {
    bot_id: String(item.bot_id),
    chunk_id: chunkId,
    embedding,
    text: typeof item.text === 'string' ? item.text : '',
    filename: item.filename,
    file_size: typeof item.file_size === 'number' ? item.file_size : 0,
    chunk_index: item.chunk_index as number,
    created_at: typeof item.created_at === 'string' ? item.created_at : '',
    metadata: (metadata ?? {}) as ChunkMetadata,
    ...(version === undefined ? {} : { version }),
    ...(expiresAt === undefined ? {} : { expires_at: expiresAt }),
  };
}

/** The items as StoredChunks; an item no search can serve (`toStoredChunk`) goes to `onInvalid` and is left out. */
export function toStoredChunks(
  items: ChunkItem[],
  onInvalid?: (chunkId: string, error: Error) => void,
  options: { textRead: boolean } = { textRead: true },
): StoredChunk[] {
  const chunks: StoredChunk[] = [];
  for (const item of items) {
    try {
      chunks.push(toStoredChunk(item, options));
    } catch (error) {
      onInvalid?.(String(item.chunk_id), error instanceof Error ? error : new Error(String(error)));
    }
  }
  return chunks;
}
