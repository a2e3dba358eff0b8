import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EmbeddingEncoding } from '../src/config';
import { encodeEmbedding } from '../src/domain/embedding-codec';
import type { StoredChunk } from '../src/domain/types';

/** The item as VectorEmbeddings stores it, with the embedding in the given encoding. */
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
  /** Sum of ConsumedCapacity the server reported (undefined when it reported none). */
  reportedWriteUnits: number | undefined;
  requests: number;
  milliseconds: number;
};

/**
 * Loads chunks into VectorEmbeddings with BatchWriteItem (25 items a request, a few requests in
 * flight), retrying unprocessed items. This is bench set-up, not a measured path: the product's
 * own writer is ChunkStore.put.
 */
export async function loadChunks(
  documents: DynamoDBDocumentClient,
  table: string,
  count: number,
  chunkAt: (row: number) => StoredChunk,
  encoding: EmbeddingEncoding,
  options: { concurrency?: number; onProgress?: (done: number) => void } = {},
): Promise<LoadResult> {
  const started = performance.now();
  const concurrency = options.concurrency ?? 4;
  let next = 0;
  let done = 0;
  let requests = 0;
  let reported: number | undefined;
  const worker = async () => {
    while (next < count) {
      const from = next;
      const to = Math.min(count, from + 25);
      next = to;
      let pending = [];
      for (let row = from; row < to; row++)
        pending.push({ PutRequest: { Item: itemOf(chunkAt(row), encoding) } });
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 2000)));
        if (attempt > 10) throw new Error(`bench load: ${pending.length} items still unprocessed`);
        const response = await documents.send(
          new BatchWriteCommand({
            RequestItems: { [table]: pending },
            ReturnConsumedCapacity: 'TOTAL',
          }),
        );
        requests++;
        for (const consumed of response.ConsumedCapacity ?? []) {
          if (consumed.CapacityUnits !== undefined) reported = (reported ?? 0) + consumed.CapacityUnits;
        }
        pending = (response.UnprocessedItems?.[table] ?? []) as typeof pending;
      }
      done += to - from;
      options.onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { reportedWriteUnits: reported, requests, milliseconds: performance.now() - started };
}
