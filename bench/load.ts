import type { EmbeddingEncoding } from '../src/domain/embedding-codec';
import { encodeEmbedding } from '../src/domain/embedding-codec';
import type { StoredChunk } from '../src/domain/types';
import type { ChunkStore } from '../src/ports';
import type { WriteCapacityMeter } from './instrument';

const SLICE = 500;

/** The item as VectorEmbeddings stores it (as ChunkStore.put writes it), embedding in the given encoding. */
export function itemOf(chunk: StoredChunk, encoding: EmbeddingEncoding): Record<string, unknown> {
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
  };
}

export type LoadResult = {
  /** Sum of ConsumedCapacity the server reported for the writes (undefined when it reported none). */
  reportedWriteUnits: number | undefined;
  milliseconds: number;
};

/**
 * Loads a bot's chunks into VectorEmbeddings through the product's writer (ChunkStore.put: BatchWriteItem
 * in groups of 25, a few in flight, unprocessed items retried), in slices so that progress can be shown.
 * `meter` sees every write of the client the store uses; it is reset here.
 */
export async function loadChunks(
  store: Pick<ChunkStore, 'put'>,
  meter: WriteCapacityMeter,
  count: number,
  chunkAt: (row: number) => StoredChunk,
  onProgress?: (done: number) => void,
): Promise<LoadResult> {
  const started = performance.now();
  meter.reset();
  for (let from = 0; from < count; from += SLICE) {
    const to = Math.min(count, from + SLICE);
    await store.put(Array.from({ length: to - from }, (_, i) => chunkAt(from + i)));
    onProgress?.(to);
  }
  return { reportedWriteUnits: meter.units(), milliseconds: performance.now() - started };
}
