import { DynamoDBStreamChangeRecordBase } from '@aws-lambda-powertools/parser/schemas/dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { z } from 'zod';
import { versionOfItem } from '../domain/document-version';
import { decodeEmbedding } from '../domain/embedding-codec';
import { expiresAtOfItem } from '../domain/expiry';
import { checkServableFields, isPlainObject } from '../domain/servable-fields';
import type { SnapshotChange } from '../domain/snapshot';
import type { ChunkImage, StreamChange } from '../domain/stream-change';
import { claimBucketOf } from '../domain/stream-claims';
import type { ChunkMetadata, ChunkVersion } from '../domain/types';
import { ValidationError } from '../errors';
import { checkEmbeddingValues } from './dynamo-limits';
import { imageProblem } from './stream-record-origin';

/**
 * The parts of a Lambda stream record we rely on, built on Powertools' schema of the change record (kept
 * marshalled: we unmarshall with the SDK's util-dynamodb, which leaves Binary as delivered).
 */
const recordSchema = z.object({
  eventID: z.string().min(1),
  eventName: z.enum(['INSERT', 'MODIFY', 'REMOVE']),
  dynamodb: DynamoDBStreamChangeRecordBase.pick({
    ApproximateCreationDateTime: true,
    Keys: true,
    NewImage: true,
    OldImage: true,
    SequenceNumber: true,
  }).extend({ SequenceNumber: z.string().regex(/^\d{1,64}$/, 'must be a string of digits') }),
});

const keySchema = z.object({ bot_id: z.string().min(1), chunk_id: z.string().min(1) });

/** The sequence number of a raw record, if it has one that can be named in a partial batch response. */
export function sequenceNumberOf(record: DynamoDBRecord): string | undefined {
  const value = record.dynamodb?.SequenceNumber;
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function unmarshallImage(image: Record<string, unknown>, field: string): Record<string, unknown> {
  const problem = imageProblem(image, field);
  if (problem !== undefined) throw new ValidationError(problem, field);
  try {
    // Every number as a JavaScript number: the SDK's default throws on 1E+30 ("can't be converted to
    // BigInt"), a value any writer may store; the snapshot then refuses it, the counts still take it.
    return unmarshall(image as Record<string, AttributeValue>, { wrapNumbers: (value) => Number(value) });
  } catch (error) {
    throw new ValidationError(`${field} cannot be unmarshalled: ${(error as Error).message}`, field, {
      cause: error,
    });
  }
}

function toImage(item: Record<string, unknown>): ChunkImage {
  const { filename, file_size: fileSize, created_at: createdAt } = item;
  return {
    filename: typeof filename === 'string' && filename.length > 0 ? filename : undefined,
    fileSize: typeof fileSize === 'number' && Number.isFinite(fileSize) ? fileSize : undefined,
    createdAt: typeof createdAt === 'string' ? createdAt : undefined,
    chunkIndex: item.chunk_index,
    text: item.text,
    metadata: item.metadata,
    embedding: item.embedding,
    version: versionOfItem(item),
    expiresAt: expiresAtOfItem(item),
  };
}

/**
 * Parses one record of the VectorEmbeddings stream (NEW_AND_OLD_IMAGES).
 * @throws ValidationError naming the field when the record is not one VectorEmbeddings can produce:
 * not a stream record's shape, no string keys, a missing image for its event, an image DynamoDB cannot
 * hold (a number it refuses, such as NaN, or over 400 KB).
 */
export function parseStreamRecord(record: DynamoDBRecord): StreamChange {
  const parsed = recordSchema.safeParse(record);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue === undefined ? 'record' : issue.path.join('.');
    throw new ValidationError(`stream record ${field}: ${issue?.message ?? 'invalid'}`, field);
  }
  const { eventID, eventName, dynamodb } = parsed.data;
  const keys = keySchema.safeParse(unmarshallImage(dynamodb.Keys, 'dynamodb.Keys'));
  if (!keys.success) {
    throw new ValidationError('dynamodb.Keys must hold string bot_id and chunk_id', 'dynamodb.Keys');
  }
  const oldImage =
    dynamodb.OldImage === undefined
      ? undefined
      : toImage(unmarshallImage(dynamodb.OldImage, 'dynamodb.OldImage'));
  const newImage =
    dynamodb.NewImage === undefined
      ? undefined
      : toImage(unmarshallImage(dynamodb.NewImage, 'dynamodb.NewImage'));
  if (eventName !== 'REMOVE' && newImage === undefined) {
    throw new ValidationError(`${eventName} record has no NewImage`, 'dynamodb.NewImage');
  }
  if (eventName !== 'INSERT' && oldImage === undefined) {
    throw new ValidationError(`${eventName} record has no OldImage`, 'dynamodb.OldImage');
  }
  return {
    eventId: eventID,
    eventName,
    sequenceNumber: dynamodb.SequenceNumber,
    sequence: BigInt(dynamodb.SequenceNumber),
    botId: keys.data.bot_id,
    chunkId: keys.data.chunk_id,
    claimBucket: claimBucketOf(eventID, dynamodb.ApproximateCreationDateTime),
    oldImage,
    newImage,
  };
}

/**
 * What a change means for the bot's snapshot: the chunk as it now is, or its deletion. A new image that
 * cannot be searched (no filename; embedding malformed, out of the write path's range (non-finite, over
 * 1e15, all zeros) or of another dimension than the bot's; no chunk_index or text) yields a deletion plus
 * the reason: the snapshot never serves it, and the caller logs it and counts it all the same.
 */
export function snapshotChangeOf(
  change: StreamChange,
  dimension: number,
): { change: SnapshotChange; invalid: ValidationError | undefined } {
  const image = change.newImage;
  const deletion: SnapshotChange = { kind: 'delete', chunk_id: change.chunkId };
  if (change.eventName === 'REMOVE' || image === undefined) return { change: deletion, invalid: undefined };
  const rowOnly = rowOnlyChange(change);
  if (rowOnly !== undefined) return { change: rowOnly, invalid: undefined };
  try {
    if (image.filename === undefined) {
      throw new ValidationError(
        'NewImage.filename is missing: the chunk belongs to no document',
        'NewImage.filename',
      );
    }
    const embedding = decodeEmbedding(image.embedding, 'NewImage.embedding');
    // The write path's rule for values, so the snapshot holds exactly what a valid write can store.
    checkEmbeddingValues(embedding, 'NewImage.embedding');
    if (embedding.length !== dimension) {
      throw new ValidationError(
        `NewImage.embedding has ${embedding.length} dimensions, the bot's embedding_dimension is ${dimension}`,
        'NewImage.embedding',
      );
    }
    checkServableFields(
      { chunkIndex: image.chunkIndex, text: image.text, metadata: image.metadata, textRead: true },
      'NewImage.',
    );
    return {
      change: {
        kind: 'upsert',
        row: {
          chunk_id: change.chunkId,
          filename: image.filename,
          // checkServableFields proved their types.
          chunk_index: image.chunkIndex as number,
          metadata: (image.metadata ?? {}) as ChunkMetadata,
          ...(image.createdAt === undefined ? {} : { created_at: image.createdAt }),
          ...(image.version === undefined ? {} : { version: image.version }),
          ...(image.expiresAt === undefined ? {} : { expires_at: image.expiresAt }),
        },
        text: image.text as string,
        embedding,
      },
      invalid: undefined,
    };
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return { change: deletion, invalid: error };
  }
}

/**
 * The row change of a MODIFY that changed only what a snapshot row holds besides the chunk's identity
 * (metadata, created_at, expiry), or undefined. Same embedding, text, filename, chunk_index and version in
 * both images, and an old image the snapshot could serve as far as these fields go: whether the snapshot
 * holds the chunk then depends only on the embedding, which is unchanged, so the row is replaced where
 * the chunk is held, with no vector decoded or written.
 */
function rowOnlyChange(change: StreamChange): SnapshotChange | undefined {
  const { oldImage: before, newImage: after } = change;
  if (change.eventName !== 'MODIFY' || before === undefined || after === undefined) return undefined;
  if (after.filename === undefined || before.filename !== after.filename) return undefined;
  if (typeof after.text !== 'string' || before.text !== after.text) return undefined;
  if (typeof after.chunkIndex !== 'number' || !Number.isInteger(after.chunkIndex)) return undefined;
  if (before.chunkIndex !== after.chunkIndex || !sameVersion(before.version, after.version)) return undefined;
  if (!isMetadata(before.metadata) || !isMetadata(after.metadata)) return undefined;
  if (!sameStoredEmbedding(before.embedding, after.embedding)) return undefined;
  return {
    kind: 'row',
    row: {
      chunk_id: change.chunkId,
      filename: after.filename,
      chunk_index: after.chunkIndex,
      metadata: after.metadata ?? {},
      ...(after.createdAt === undefined ? {} : { created_at: after.createdAt }),
      ...(after.version === undefined ? {} : { version: after.version }),
      ...(after.expiresAt === undefined ? {} : { expires_at: after.expiresAt }),
    },
  };
}

function isMetadata(value: unknown): value is ChunkMetadata | undefined {
  return value === undefined || isPlainObject(value);
}

function sameVersion(a: ChunkVersion | undefined, b: ChunkVersion | undefined): boolean {
  return (
    a === b || (a !== undefined && b !== undefined && a.id === b.id && a.chunks === b.chunks && a.at === b.at)
  );
}

/** Whether two stored embeddings are the same value as stored (base64 text, bytes or a list of numbers). */
function sameStoredEmbedding(a: unknown, b: unknown): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(Buffer.from(b));
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((value, i) => value === b[i]);
  return false;
}

/**
 * The snapshot change of every record, keyed by sequence number, and why each unusable one cannot be
 * served (its snapshot change is a deletion: the snapshot never serves it), for a bot of `dimension`.
 */
export function snapshotChangesOf(
  changes: readonly StreamChange[],
  dimension: number,
): { snapshotChanges: Map<string, SnapshotChange>; unusable: Map<string, ValidationError> } {
  const snapshotChanges = new Map<string, SnapshotChange>();
  const unusable = new Map<string, ValidationError>();
  for (const change of changes) {
    const { change: snapshotChange, invalid: reason } = snapshotChangeOf(change, dimension);
    snapshotChanges.set(change.sequenceNumber, snapshotChange);
    if (reason !== undefined) unusable.set(change.sequenceNumber, reason);
  }
  return { snapshotChanges, unusable };
}
