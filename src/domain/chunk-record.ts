import { versionAttributes } from './document-version';
import { type EmbeddingEncoding, encodeEmbedding } from './embedding-codec';
import type { StoredChunk } from './types';

/** A VectorEmbeddings item as the document client reads and writes it. */
export type ChunkItem = Record<string, unknown>;

/**
 * The VectorEmbeddings item of a chunk, exactly as ChunkStore.put writes it, with its embedding in
 * `encoding` (the write path's size checks and the bench size items through this too).
 */
export function chunkItem(chunk: StoredChunk, encoding: EmbeddingEncoding): ChunkItem {
  return {
    bot_id: chunk.bot_id,
    chunk_id: chunk.chunk_id,
    embedding: encodeEmbedding(chunk.embedding, encoding),
    text: chunk.text,
    filename: chunk.filename,
    file_size: chunk.file_size,
    chunk_index: chunk.chunk_index,
    created_at: chunk.created_at,
    metadata: chunk.metadata,
    ...(chunk.version === undefined ? {} : versionAttributes(chunk.version)),
    ...(chunk.expires_at === undefined ? {} : { expires_at: chunk.expires_at }),
  };
}
