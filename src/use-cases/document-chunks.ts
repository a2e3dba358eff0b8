import type { ChunkMetadata } from '../domain/types';
import { ValidationError } from '../errors';
import type { ChunkStore } from '../ports';

/** One chunk of a document as `GET /bots/{botId}/documents/chunks` returns it. */
export type DocumentChunk = {
  chunk_id: string;
  chunk_index: number;
  text: string;
  metadata: ChunkMetadata;
  file_size: number;
  created_at: string;
  /** The stored embedding, when asked for (e.g. to search for chunks like this one). */
  vector?: number[];
};

/** One page of a document's chunks in chunk_index order; `nextCursor` is absent on the last page. */
export type DocumentChunksPage = { total: number; chunks: DocumentChunk[]; nextCursor?: string };

/**
 * One page of a document's chunks, in chunk_index order. The document's chunk keys are read whole (keys
 * only, from filename-index) so that pages follow chunk_index, then only the page's items are read.
 * @throws ValidationError naming `cursor` when it is not one this returned
 */
export async function documentChunks(
  chunks: Pick<ChunkStore, 'documentChunkKeys' | 'get'>,
  botId: string,
  request: { filename: string; limit: number; cursor?: string; withVectors: boolean },
): Promise<DocumentChunksPage> {
  const keys = (await chunks.documentChunkKeys(botId, request.filename)).sort(
    (a, b) => a.chunk_index - b.chunk_index || (a.chunk_id < b.chunk_id ? -1 : 1),
  );
  const start = request.cursor === undefined ? 0 : decodeCursor(request.cursor);
  const page = keys.slice(start, start + request.limit);
  const items = await chunks.get(
    botId,
    page.map((key) => key.chunk_id),
    { consistent: false },
  );
  const byId = new Map(items.map((item) => [item.chunk_id, item]));
  // A chunk deleted between the two reads is left out of its page.
  const found = page.flatMap((key) => {
    const item = byId.get(key.chunk_id);
    if (item === undefined) return [];
    const chunk: DocumentChunk = {
      chunk_id: item.chunk_id,
      chunk_index: item.chunk_index,
      text: item.text,
      metadata: item.metadata,
      file_size: item.file_size,
      created_at: item.created_at,
    };
    if (request.withVectors) chunk.vector = Array.from(item.embedding);
    return [chunk];
  });
  const next = start + request.limit;
  return next < keys.length
    ? { total: keys.length, chunks: found, nextCursor: encodeCursor(next) }
    : { total: keys.length, chunks: found };
}

function encodeCursor(offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): number {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    const o = typeof parsed === 'object' && parsed !== null ? (parsed as { o?: unknown }).o : undefined;
    if (typeof o === 'number' && Number.isSafeInteger(o) && o >= 0) return o;
  } catch {
    // Not base64 JSON: the error below says so.
  }
  throw new ValidationError('cursor is not one this API returned', 'cursor');
}
