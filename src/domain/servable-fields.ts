import { ValidationError } from '../errors';
import type { ChunkMetadata } from './types';

/** A map, as metadata must be: not null, an array or binary. */
export function isPlainObject(value: unknown): value is ChunkMetadata {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

/**
 * The rule for a chunk's fields beside its embedding and filename, one for every path that serves
 * chunks (the stream's snapshot changes, snapshot rebuilds, the DynamoDB fallback, the doctor): an
 * integer chunk_index, a string text, metadata a map or absent. `text` is `undefined` when the read left
 * it out: it is then checked where it is read.
 * @throws ValidationError naming the field (after `prefix`, e.g. `NewImage.`).
 */
export function checkServableFields(
  fields: { chunkIndex: unknown; text: unknown; metadata: unknown; textRead: boolean },
  prefix: string,
): void {
  if (typeof fields.chunkIndex !== 'number' || !Number.isInteger(fields.chunkIndex)) {
    throw new ValidationError(`${prefix}chunk_index must be an integer`, `${prefix}chunk_index`);
  }
  if (fields.textRead && typeof fields.text !== 'string') {
    throw new ValidationError(`${prefix}text must be a string`, `${prefix}text`);
  }
  if (fields.metadata !== undefined && !isPlainObject(fields.metadata)) {
    throw new ValidationError(`${prefix}metadata must be a map`, `${prefix}metadata`);
  }
}
