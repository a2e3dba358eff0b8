import { deterministicChunkId } from '../domain/chunk-id';
import { chunkItem } from '../domain/chunk-record';
import { LONGEST_VERSION_AT, VERSION_SUFFIX_BYTES, versionedChunkId } from '../domain/document-version';
import { decodeEmbedding, type EmbeddingEncoding } from '../domain/embedding-codec';
import { parseExpiresAt } from '../domain/expiry';
import { parseTimestamp, TIMESTAMP_FORMS } from '../domain/timestamp';
import type { ChunkMetadata } from '../domain/types';
import { ValidationError } from '../errors';
import {
  checkBotId,
  checkEmbeddingValues,
  checkKey,
  checkMetadata,
  itemBytes,
  MAX_CHUNK_ID_BYTES,
  MAX_CHUNK_ITEM_BYTES,
  MAX_FILENAME_BYTES,
  MAX_ITEM_BYTES,
} from './dynamo-limits';
import type { UpsertDocumentMessage } from './ingestion-messages';

/** A chunk that passed every check, with its id resolved and its embedding decoded. */
export type ValidChunk = {
  /** The id it is stored under: with its version when the document is written as a version. */
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
  /** The version id the chunks are written as (docs/ingestion.md, "Versions"), if any. */
  version_id: string | undefined;
  /** Epoch second every chunk expires (the table's TTL attribute), if the message gives one. */
  expires_at: number | undefined;
  chunks: ValidChunk[];
};

/** An owner id is stored in BotCollections; bounded so that it can never push the bot item past 400 KB. */
const MAX_OWNER_ID_BYTES = 1024;
/** A timestamp longer than this is no ISO 8601 timestamp; bounding it keeps the item size check exact. */
const MAX_CREATED_AT_LENGTH = 64;
/** The longest created_at a chunk can be stored with (a message without one keeps the stored one). */
const LONGEST_CREATED_AT = 'x'.repeat(MAX_CREATED_AT_LENGTH);

const isNonNegativeInteger = (n: number) => Number.isSafeInteger(n) && n >= 0;

/**
 * Checks everything about a document upsert before anything is written, so that a bad chunk means
 * nothing of the request is written.
 * @param options.dimension the bot's embedding_dimension.
 * @param options.encoding how embeddings will be stored (for the item size check).
 * @param options.versionId the version the chunks are written as: their ids carry it (`<id>~<version>`)
 *   and the size check counts its attributes. Without it, chunks keep their ids as given.
 * @throws ValidationError whose message names the chunk and the field (e.g. `chunks[3].embedding has 383
 *   values; bot b1 expects 384`) and whose `field` is its path (`chunks[3].embedding`).
 */
export function validateDocument(
  message: UpsertDocumentMessage,
  options: { dimension: number; encoding: EmbeddingEncoding; versionId?: string },
): ValidDocument {
  const { versionId } = options;
  const fail = (field: string, problem: string): never => {
    throw new ValidationError(`${field} ${problem}`, field);
  };
  checkBotId(message.bot_id);
  checkKey(message.filename, 'filename', MAX_FILENAME_BYTES);
  if (!isNonNegativeInteger(message.file_size)) {
    fail('file_size', `must be a non-negative integer (bytes); got ${message.file_size}`);
  }
  if (
    message.created_at !== undefined &&
    (message.created_at.length > MAX_CREATED_AT_LENGTH || parseTimestamp(message.created_at) === undefined)
  ) {
    fail('created_at', `must be ${TIMESTAMP_FORMS}; got ${JSON.stringify(message.created_at.slice(0, 80))}`);
  }
  const expiresAt = message.expires_at === undefined ? undefined : parseExpiresAt(message.expires_at);
  if (message.owner_user_id !== undefined) {
    checkKey(message.owner_user_id, 'owner_user_id', MAX_OWNER_ID_BYTES);
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
      // A version adds its suffix to the sort key, which DynamoDB caps at 1,024 bytes.
      const maxBytes = MAX_CHUNK_ID_BYTES - (versionId === undefined ? 0 : VERSION_SUFFIX_BYTES);
      checkKey(chunk.chunk_id, `${at}.chunk_id`, maxBytes);
    }
    const givenId = chunk.chunk_id ?? deterministicChunkId(message.filename, chunk.chunk_index);
    const chunkId = versionId === undefined ? givenId : versionedChunkId(givenId, versionId);
    const sameId = idSeenAt.get(chunkId);
    if (sameId !== undefined) fail(`${at}.chunk_id`, `${JSON.stringify(chunkId)} repeats chunks[${sameId}]`);
    idSeenAt.set(chunkId, position);

    // Raw JSON numbers are checked before float32 rounding, so 1e200 is named as too large (it would
    // round to Infinity) and 1e-200 is not mistaken for a valid value (it rounds to 0).
    if (Array.isArray(chunk.embedding)) checkEmbeddingValues(chunk.embedding, `${at}.embedding`);
    const embedding = decodeEmbedding(chunk.embedding, `${at}.embedding`);
    checkEmbeddingValues(embedding, `${at}.embedding`);
    if (embedding.length !== options.dimension) {
      fail(
        `${at}.embedding`,
        `has ${embedding.length} values; bot ${message.bot_id} expects ${options.dimension}`,
      );
    }

    const metadata = chunk.metadata ?? {};
    checkMetadata(metadata, `${at}.metadata`);
    // The item exactly as the chunk store will write it (the stored embedding in the configured encoding).
    const bytes = itemBytes(
      chunkItem(
        {
          bot_id: message.bot_id,
          chunk_id: chunkId,
          embedding,
          text: chunk.text,
          filename: message.filename,
          file_size: message.file_size,
          chunk_index: chunk.chunk_index,
          created_at: message.created_at ?? LONGEST_CREATED_AT,
          metadata,
          ...(versionId === undefined
            ? {}
            : { version: { id: versionId, chunks: totalChunks, at: LONGEST_VERSION_AT } }),
          ...(expiresAt === undefined ? {} : { expires_at: expiresAt }),
        },
        options.encoding,
      ),
    );
    if (bytes > MAX_CHUNK_ITEM_BYTES) {
      fail(
        at,
        `would be ${bytes} bytes stored (about ${Math.ceil(bytes / 1024)} KB); a chunk's item holds at most ${MAX_CHUNK_ITEM_BYTES} bytes (DynamoDB's ${MAX_ITEM_BYTES}-byte limit less a ${MAX_ITEM_BYTES - MAX_CHUNK_ITEM_BYTES}-byte margin)`,
      );
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
    version_id: versionId,
    expires_at: expiresAt,
    chunks,
  };
}
