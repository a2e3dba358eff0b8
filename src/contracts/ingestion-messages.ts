import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ValidationError } from '../errors';
import { PROTO_KEY, PROTO_KEY_PROBLEM } from './dynamo-limits';

/**
 * An embedding as upstream sends it: a JSON list of numbers, or a base64 string of packed little-endian
 * float32 (4 bytes a dimension: a 384-d chunk is 2 KB of base64 instead of about 8 KB of JSON numbers).
 * The values themselves are checked by `validateDocument` (finite, the bot's dimension).
 */
const embeddingSchema = z.custom<number[] | string>(
  (value) => Array.isArray(value) || typeof value === 'string',
  {
    error: 'must be a list of numbers or a base64 string of packed little-endian float32',
  },
);

/**
 * Chunk metadata: a JSON object. Its values are checked by `checkMetadata`; a top-level `__proto__` key is
 * refused here, because the record schema would drop it silently.
 */
export const metadataSchema = z.preprocess(
  (value, ctx) => {
    if (typeof value === 'object' && value !== null && Object.hasOwn(value, PROTO_KEY)) {
      ctx.addIssue({ code: 'custom', message: PROTO_KEY_PROBLEM });
    }
    return value;
  },
  z.record(z.string(), z.unknown()),
);

/** One chunk of a document. */
export const ingestionChunkSchema = z.object({
  /** Optional: without it the id is derived from filename and chunk_index, so re-ingesting replaces. */
  chunk_id: z.string().optional(),
  /** Position in the document, 0-based. */
  chunk_index: z.number(),
  text: z.string(),
  embedding: embeddingSchema,
  /** Stored with the chunk and returned with search results. */
  metadata: metadataSchema.optional(),
});

/**
 * Creates or replaces a document's chunks. A document too large for one SQS message is sent as several
 * (see `splitUpsertIntoMessages`): each carries `total_chunks` and a contiguous range of the chunks.
 */
export const upsertDocumentMessageSchema = z.object({
  type: z.literal('upsert_document'),
  bot_id: z.string(),
  filename: z.string(),
  /** The source file's size in bytes. */
  file_size: z.number(),
  /** ISO timestamp of the document; default: the stored document's, or now for a new one. */
  created_at: z.string().optional(),
  /** Owner of the bot if this message creates it; a bot owned by someone else rejects the message. */
  owner_user_id: z.string().optional(),
  /** Chunks in the whole document; default `chunks.length` (the message is the whole document). */
  total_chunks: z.number().optional(),
  /**
   * Names the version the message writes (1 to 128 characters): every part of a split document carries
   * the same one. Default: derived from the message (docs/ingestion.md, "Versions").
   */
  version: z.string().min(1).max(128).optional(),
  /**
   * When every chunk of the document expires: epoch seconds or an ISO timestamp (checked by
   * `validateDocument`). Search leaves expired chunks out at once; DynamoDB's TTL removes them later.
   */
  expires_at: z
    .union([z.number(), z.string()], { error: 'must be epoch seconds or an ISO timestamp' })
    .optional(),
  chunks: z.array(ingestionChunkSchema),
});

/** Removes every chunk of one document. */
export const deleteDocumentMessageSchema = z.object({
  type: z.literal('delete_document'),
  bot_id: z.string(),
  filename: z.string(),
});

/** Removes every chunk of a bot and marks it deleted. */
export const deleteBotMessageSchema = z.object({
  type: z.literal('delete_bot'),
  bot_id: z.string(),
});

/** Any message upstream ingestion sends, told apart by `type`. */
export const ingestionMessageSchema = z.discriminatedUnion('type', [
  upsertDocumentMessageSchema,
  deleteDocumentMessageSchema,
  deleteBotMessageSchema,
]);

export type IngestionChunk = z.infer<typeof ingestionChunkSchema>;
export type UpsertDocumentMessage = z.infer<typeof upsertDocumentMessageSchema>;
export type DeleteDocumentMessage = z.infer<typeof deleteDocumentMessageSchema>;
export type DeleteBotMessage = z.infer<typeof deleteBotMessageSchema>;
export type IngestionMessage = z.infer<typeof ingestionMessageSchema>;

const messageTypes = ['upsert_document', 'delete_document', 'delete_bot'] as const;

/** `chunks[3].embedding` from zod's `['chunks', 3, 'embedding']`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/**
 * Checks the shape of one ingestion message (types and required fields; the values are checked by
 * `validateDocument`).
 * @throws ValidationError naming the first offending field, e.g. `chunks[3].text`.
 */
export function parseIngestionMessage(value: unknown): IngestionMessage {
  const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  if (typeof type !== 'string' || !(messageTypes as readonly string[]).includes(type)) {
    throw new ValidationError(
      `type must be one of ${messageTypes.join(', ')}; got ${JSON.stringify(type)}`,
      'type',
    );
  }
  const parsed = ingestionMessageSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = (issue === undefined ? '' : fieldPath(issue.path)) || 'message';
  throw new ValidationError(`${field}: ${issue?.message ?? 'invalid'}`, field, {
    cause: parsed.error,
  });
}

/**
 * Parses the JSON body of a queue message.
 * @throws ValidationError (field `body`) when it is not JSON, or as `parseIngestionMessage`.
 */
export function parseIngestionMessageJson(body: string): IngestionMessage {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    throw new ValidationError('body is not valid JSON', 'body', { cause: error });
  }
  return parseIngestionMessage(value);
}

/**
 * SQS's limit is 262,144 bytes for body and attributes together; this leaves room for a few attributes.
 */
export const SQS_MAX_MESSAGE_BYTES = 256_000;

/** A 384-d float32 vector as base64 of packed little-endian float32, the compact `embedding` form. */
export function packEmbedding(embedding: ArrayLike<number>): string {
  const bytes = Buffer.alloc(embedding.length * 4);
  for (let i = 0; i < embedding.length; i++) bytes.writeFloatLE(embedding[i] as number, i * 4);
  return bytes.toString('base64');
}

/**
 * Splits one document's upsert into messages whose JSON bodies are each at most `maxBytes` (UTF-8). Every
 * message carries the document's `total_chunks`, one `version` (the given one, else a digest of the whole
 * document) and a contiguous run of its chunks in chunk_index order, so the messages may be delivered in
 * any order, more than once, without a closing message: the new version is shown once its last chunk is
 * written, and the old one until then.
 * @param options.packEmbeddings send embeddings as base64 float32 (about 4x smaller than JSON numbers).
 * @throws ValidationError naming a chunk that does not fit in a message on its own.
 */
export function splitUpsertIntoMessages(
  message: UpsertDocumentMessage,
  maxBytes: number = SQS_MAX_MESSAGE_BYTES,
  options: { packEmbeddings?: boolean } = {},
): UpsertDocumentMessage[] {
  const totalChunks = message.total_chunks ?? message.chunks.length;
  const ordered = message.chunks
    .map((chunk, position) => ({
      position,
      chunk:
        options.packEmbeddings && Array.isArray(chunk.embedding)
          ? { ...chunk, embedding: packEmbedding(chunk.embedding) }
          : chunk,
    }))
    .sort((a, b) => a.chunk.chunk_index - b.chunk.chunk_index);
  // Every part names the same version, taken from the whole document, so the parts add up to one version
  // and a changed document becomes another.
  const version =
    message.version ?? createHash('sha256').update(JSON.stringify(message), 'utf8').digest('base64url');
  const envelope: UpsertDocumentMessage = { ...message, total_chunks: totalChunks, version, chunks: [] };
  const envelopeBytes = Buffer.byteLength(JSON.stringify(envelope), 'utf8');
  const messages: UpsertDocumentMessage[] = [];
  let current: IngestionChunk[] = [];
  let currentBytes = envelopeBytes;
  for (const { position, chunk } of ordered) {
    const bytes = Buffer.byteLength(JSON.stringify(chunk), 'utf8');
    if (envelopeBytes + bytes > maxBytes) {
      throw new ValidationError(
        `chunks[${position}] (chunk_index ${chunk.chunk_index}) needs ${envelopeBytes + bytes} bytes in a message; the limit is ${maxBytes}`,
        `chunks[${position}]`,
      );
    }
    // After the first element, each one also costs a comma.
    if (current.length > 0 && currentBytes + 1 + bytes > maxBytes) {
      messages.push({ ...envelope, chunks: current });
      current = [];
      currentBytes = envelopeBytes;
    }
    currentBytes += (current.length > 0 ? 1 : 0) + bytes;
    current.push(chunk);
  }
  if (current.length > 0) messages.push({ ...envelope, chunks: current });
  return messages;
}
