import type { EmbeddingEncoding } from '../domain/embedding-codec';
import { parseTimestamp } from '../domain/timestamp';
import type { StoredChunk } from '../domain/types';
import { ValidationError } from '../errors';
import { validateDocument } from './document-validation';
import { type FieldMap, firstPresent, remainingMetadata } from './qdrant-field-map';

/**
 * A Qdrant point id, kept exactly as the server wrote it: an unsigned integer as its decimal digits (ids
 * above 2^53 would lose precision as a JavaScript number), or a UUID string as written.
 */
export type PointId = { kind: 'integer'; text: string } | { kind: 'uuid'; text: string };

/** One point as scroll returns it with `with_payload` and `with_vector`. */
export type QdrantPoint = { id: PointId; payload: Record<string, unknown> | null; vector: unknown };

/** Where a point's bot comes from: one bot for the whole collection, or a payload key. */
export type BotSource = { kind: 'fixed'; botId: string } | { kind: 'payload'; key: string };

export type PointMappingOptions = {
  fieldMap: FieldMap;
  bot: BotSource;
  /** The named vector to take (named-vector collections); undefined for a collection's single vector. */
  vectorName: string | undefined;
  /** The collection's vector size: every chunk's embedding must have it. */
  dimension: number;
  encoding: EmbeddingEncoding;
  /** Filename of points whose payload names none. */
  defaultFilename: string;
};

/** A point that became a chunk; `created_at` is empty when the payload had none (the caller decides). */
export type MappedPoint = {
  kind: 'chunk';
  chunk: StoredChunk;
  /** The bot key's value as the payload holds it (for Qdrant's count filter), or undefined for `--bot`. */
  botValue: string | number | undefined;
};

/** A point that cannot be a chunk, and why (written to the rejects file). */
export type RejectedPoint = {
  kind: 'reject';
  id: string;
  botId: string | undefined;
  /** As in MappedPoint. */
  botValue: string | number | undefined;
  reason: string;
};

/** The chunk_id of a point: its id exactly as Qdrant wrote it. */
export function chunkIdOf(id: PointId): string {
  return id.text;
}

/**
 * The vector of a point: the plain array of a single-vector collection, or the named one. A sparse or
 * multi-vector value is not a dense embedding and is refused.
 * @returns the numbers, or a reason string when there is no usable vector.
 */
export function pointVector(vector: unknown, name: string | undefined): number[] | string {
  let value = vector;
  if (name !== undefined) {
    if (typeof vector !== 'object' || vector === null || Array.isArray(vector)) {
      return `has a single unnamed vector, not the named vector "${name}"`;
    }
    if (!Object.hasOwn(vector, name)) return `has no vector named "${name}"`;
    value = (vector as Record<string, unknown>)[name];
  } else if (typeof vector === 'object' && vector !== null && !Array.isArray(vector)) {
    return 'has named vectors; choose one with --vector';
  }
  if (value === undefined || value === null) return 'has no vector';
  if (!Array.isArray(value)) return 'has a sparse vector, not a dense one';
  if (value.length > 0 && Array.isArray(value[0])) return 'has a multi-vector, not a single dense vector';
  if (!value.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    return 'has a vector with a value that is not a finite number';
  }
  return value as number[];
}

/** A payload value as a chunk_index / file_size: a non-negative safe integer (numeric strings accepted). */
function toCount(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * A payload timestamp as ISO 8601 (UTC, milliseconds), so that range filters compare them as text in
 * time order. Numbers are taken as Unix time: seconds below 10^11, milliseconds above. Strings are read
 * as Qdrant reads a datetime (`parseTimestamp`: RFC 3339, a zone-less date and time as UTC), never in the
 * time zone of the machine running the migration.
 */
export function toIsoTimestamp(value: unknown): string | undefined {
  let time: number | undefined;
  if (typeof value === 'number' && Number.isFinite(value)) time = value < 1e11 ? value * 1000 : value;
  else if (typeof value === 'string') time = parseTimestamp(value.trim());
  if (time === undefined) return undefined;
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** JSON-safe metadata for DynamoDB: bigints (integers past 2^53) become their decimal strings. */
function plainValue(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(plainValue);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainValue(v)]));
  }
  return value;
}

/**
 * Maps one Qdrant point to a chunk, checked exactly as ingestion checks a chunk (`validateDocument`), or
 * to a rejection naming the reason. Never throws for a bad point.
 */
export function mapPoint(point: QdrantPoint, options: PointMappingOptions): MappedPoint | RejectedPoint {
  const id = chunkIdOf(point.id);
  const payload = point.payload ?? {};
  let botId: string | undefined;
  let botValue: string | number | undefined;
  if (options.bot.kind === 'fixed') botId = options.bot.botId;
  else {
    const value = payload[options.bot.key];
    if (typeof value === 'bigint') botValue = value.toString();
    else if (typeof value === 'string' || typeof value === 'number') botValue = value;
    botId = botValue === undefined || botValue === '' ? undefined : String(botValue);
  }
  const reject = (reason: string): RejectedPoint => ({ kind: 'reject', id, botId, botValue, reason });
  if (botId === undefined && options.bot.kind === 'payload') {
    return reject(`payload has no string or integer "${options.bot.key}" (the bot key)`);
  }

  const vector = pointVector(point.vector, options.vectorName);
  if (typeof vector === 'string') return reject(`point ${vector}`);
  const { fieldMap } = options;
  const used: string[] = options.bot.kind === 'payload' ? [options.bot.key] : [];
  const take = (field: keyof FieldMap) => {
    const found = firstPresent(payload, fieldMap[field]);
    if (found !== undefined) used.push(found.path);
    return found?.value;
  };

  const text = take('text');
  if (typeof text !== 'string' || text.trim() === '') {
    return reject(`no text: none of ${fieldMap.text.join(', ')} holds a non-empty string`);
  }
  const filenameValue = take('filename');
  const filename =
    typeof filenameValue === 'string' && filenameValue.trim() !== ''
      ? filenameValue
      : options.defaultFilename;
  const chunkIndexValue = take('chunk_index');
  const chunkIndex = chunkIndexValue === undefined ? 0 : toCount(chunkIndexValue);
  if (chunkIndex === undefined) {
    return reject(`chunk_index ${JSON.stringify(plainValue(chunkIndexValue))} is not a non-negative integer`);
  }
  const fileSizeValue = take('file_size');
  const fileSize = fileSizeValue === undefined ? 0 : toCount(fileSizeValue);
  if (fileSize === undefined) {
    return reject(`file_size ${JSON.stringify(plainValue(fileSizeValue))} is not a non-negative integer`);
  }
  // A value that is no timestamp stays in metadata as written; the chunk's created_at is then the run's.
  const createdAtFound = firstPresent(payload, fieldMap.created_at);
  const createdAt = createdAtFound === undefined ? undefined : toIsoTimestamp(createdAtFound.value);
  if (createdAt !== undefined) used.push((createdAtFound as { path: string }).path);
  const metadata = plainValue(remainingMetadata(payload, used)) as Record<string, unknown>;

  try {
    // The same checks as ingestion: dimension, item size, id length, text.
    const [chunk] = validateDocument(
      {
        type: 'upsert_document',
        bot_id: botId as string,
        filename,
        file_size: fileSize,
        ...(createdAt === undefined ? {} : { created_at: createdAt }),
        total_chunks: chunkIndex + 1,
        chunks: [{ chunk_id: id, chunk_index: chunkIndex, text, embedding: vector, metadata }],
      },
      { dimension: options.dimension, encoding: options.encoding },
    ).chunks;
    const valid = chunk as NonNullable<typeof chunk>;
    return {
      kind: 'chunk',
      botValue,
      chunk: {
        bot_id: botId as string,
        chunk_id: valid.chunk_id,
        embedding: valid.embedding,
        text: valid.text,
        filename,
        file_size: fileSize,
        chunk_index: chunkIndex,
        created_at: createdAt ?? '',
        metadata: valid.metadata,
      },
    };
  } catch (error) {
    if (error instanceof ValidationError) {
      return reject(error.message.replace(/^chunks\[0\]\.?/, '').trim() || error.message);
    }
    throw error;
  }
}
