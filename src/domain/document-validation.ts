import type { EmbeddingEncoding } from '../config';
import { ValidationError } from '../errors';
import { deterministicChunkId } from './chunk-id';
import { decodeEmbedding } from './embedding-codec';
import type { UpsertDocumentMessage } from './ingestion-messages';
import type { ChunkMetadata } from './types';

/** A chunk that passed every check, with its id resolved and its embedding decoded. */
export type ValidChunk = {
  chunk_id: string;
  chunk_index: number;
  text: string;
  embedding: Float32Array;
  metadata: ChunkMetadata;
};

/** A document upsert that passed every check: safe to write as is. */
export type ValidDocument = {
  bot_id: string;
  filename: string;
  file_size: number;
  created_at: string | undefined;
  owner_user_id: string | undefined;
  total_chunks: number;
  /** The chunk_index range this message covers, inclusive at both ends. */
  first_index: number;
  last_index: number;
  chunks: ValidChunk[];
};

/** DynamoDB's item limit is 400 KB including attribute names; keep a margin for them and the small fields. */
const MAX_ITEM_BYTES = 400 * 1024;
const ITEM_OVERHEAD_BYTES = 1024;
/** DynamoDB's limit for a sort key value. */
const MAX_CHUNK_ID_BYTES = 1024;

const isNonNegativeInteger = (n: number) => Number.isSafeInteger(n) && n >= 0;

/**
 * Checks everything about a document upsert before anything is written, so that a bad chunk means
 * nothing of the request is written.
 * @param options.dimension the bot's embedding_dimension.
 * @param options.encoding how embeddings will be stored (for the item size check).
 * @throws ValidationError whose message names the chunk and the field (e.g. `chunks[3].embedding has 383
 *   values; bot b1 expects 384`) and whose `field` is its path (`chunks[3].embedding`).
 */
export function validateDocument(
  message: UpsertDocumentMessage,
  options: { dimension: number; encoding: EmbeddingEncoding },
): ValidDocument {
  const fail = (field: string, problem: string): never => {
    throw new ValidationError(`${field} ${problem}`, field);
  };
  if (message.bot_id.trim() === '') fail('bot_id', 'must not be empty');
  if (message.filename.trim() === '') fail('filename', 'must not be empty');
  if (!isNonNegativeInteger(message.file_size)) {
    fail('file_size', `must be a non-negative integer (bytes); got ${message.file_size}`);
  }
  if (message.created_at !== undefined && Number.isNaN(Date.parse(message.created_at))) {
    fail('created_at', `must be an ISO 8601 timestamp; got ${JSON.stringify(message.created_at)}`);
  }
  if (message.owner_user_id !== undefined && message.owner_user_id.trim() === '') {
    fail('owner_user_id', 'must not be empty when given');
  }
  if (message.chunks.length === 0) {
    fail('chunks', 'must hold at least one chunk (send delete_document to remove a document)');
  }
  const totalChunks = message.total_chunks ?? message.chunks.length;
  if (!Number.isSafeInteger(totalChunks) || totalChunks < 1) {
    fail('total_chunks', `must be a positive integer; got ${totalChunks}`);
  }

  const indexSeenAt = new Map<number, number>();
  const idSeenAt = new Map<string, number>();
  const bytesPerValue = options.encoding === 'binary' ? 4 : 22;
  const chunks = message.chunks.map((chunk, position): ValidChunk => {
    const at = `chunks[${position}]`;
    if (!isNonNegativeInteger(chunk.chunk_index)) {
      fail(`${at}.chunk_index`, `must be a non-negative integer; got ${chunk.chunk_index}`);
    }
    if (chunk.chunk_index >= totalChunks) {
      const why = message.total_chunks === undefined ? 'chunks holds' : 'total_chunks is';
      fail(`${at}.chunk_index`, `is ${chunk.chunk_index}, but ${why} ${totalChunks}`);
    }
    const sameIndex = indexSeenAt.get(chunk.chunk_index);
    if (sameIndex !== undefined)
      fail(`${at}.chunk_index`, `${chunk.chunk_index} repeats chunks[${sameIndex}]`);
    indexSeenAt.set(chunk.chunk_index, position);

    if (chunk.text.trim() === '') fail(`${at}.text`, 'must not be empty');

    if (chunk.chunk_id !== undefined) {
      if (chunk.chunk_id === '') fail(`${at}.chunk_id`, 'must not be empty when given');
      if (Buffer.byteLength(chunk.chunk_id, 'utf8') > MAX_CHUNK_ID_BYTES) {
        fail(`${at}.chunk_id`, `is longer than ${MAX_CHUNK_ID_BYTES} bytes`);
      }
    }
    const chunkId = chunk.chunk_id ?? deterministicChunkId(message.filename, chunk.chunk_index);
    const sameId = idSeenAt.get(chunkId);
    if (sameId !== undefined) fail(`${at}.chunk_id`, `${JSON.stringify(chunkId)} repeats chunks[${sameId}]`);
    idSeenAt.set(chunkId, position);

    const embedding = decodeEmbedding(chunk.embedding, `${at}.embedding`);
    if (embedding.length !== options.dimension) {
      fail(
        `${at}.embedding`,
        `has ${embedding.length} values; bot ${message.bot_id} expects ${options.dimension}`,
      );
    }

    const metadata = chunk.metadata ?? {};
    const itemBytes =
      ITEM_OVERHEAD_BYTES +
      Buffer.byteLength(chunk.text, 'utf8') +
      Buffer.byteLength(JSON.stringify(metadata), 'utf8') +
      Buffer.byteLength(chunkId, 'utf8') +
      Buffer.byteLength(message.filename, 'utf8') +
      embedding.length * bytesPerValue;
    if (itemBytes > MAX_ITEM_BYTES) {
      fail(at, `would be about ${Math.ceil(itemBytes / 1024)} KB stored; DynamoDB items hold at most 400 KB`);
    }
    return { chunk_id: chunkId, chunk_index: chunk.chunk_index, text: chunk.text, embedding, metadata };
  });

  // Split messages must each cover one contiguous range, so that together they tile [0, total_chunks)
  // and a message may delete what its own range no longer holds without touching another's.
  let firstIndex = Number.POSITIVE_INFINITY;
  let lastIndex = Number.NEGATIVE_INFINITY;
  for (const chunk of chunks) {
    firstIndex = Math.min(firstIndex, chunk.chunk_index);
    lastIndex = Math.max(lastIndex, chunk.chunk_index);
  }
  if (lastIndex - firstIndex + 1 !== chunks.length) {
    let missing = firstIndex;
    while (indexSeenAt.has(missing)) missing++;
    fail(
      'chunks',
      `must cover a contiguous range of chunk_index; ${firstIndex}..${lastIndex} is missing ${missing}`,
    );
  }
  return {
    bot_id: message.bot_id,
    filename: message.filename,
    file_size: message.file_size,
    created_at: message.created_at,
    owner_user_id: message.owner_user_id,
    total_chunks: totalChunks,
    first_index: firstIndex,
    last_index: lastIndex,
    chunks,
  };
}
