import type { StoredChunk } from '../../src/domain/types';
import type { ChunkStore } from '../../src/ports';
import type { WriteCapacityMeter } from './instrument';

const SLICE = 500;

/** The item as VectorEmbeddings stores it: the adapter's own mapping (what ChunkStore.put writes). */
export { chunkItem as itemOf } from '../../src/domain/chunk-record';

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
