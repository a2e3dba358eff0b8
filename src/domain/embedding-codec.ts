import { ValidationError } from '../errors';

/** How an embedding is stored: the design's List<Number>, or packed little-endian float32 Binary. */
export const EMBEDDING_ENCODINGS = ['list', 'binary'] as const;
export type EmbeddingEncoding = (typeof EMBEDDING_ENCODINGS)[number];

/**
 * The stored form of an embedding: the design document's List<Number> (`number[]`), or packed
 * little-endian float32 in a Binary attribute (`Uint8Array`, 4 bytes a dimension; less than half the
 * item size, and DynamoDB parses it far faster).
 */
export function encodeEmbedding(
  embedding: ArrayLike<number>,
  encoding: EmbeddingEncoding,
): number[] | Uint8Array {
  if (encoding === 'list') return Array.from(embedding);
  const bytes = new Uint8Array(embedding.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < embedding.length; i++) view.setFloat32(i * 4, embedding[i] as number, true);
  return bytes;
}

function fromPackedBytes(bytes: Uint8Array, field: string): Float32Array {
  if (bytes.byteLength % 4 !== 0) {
    throw new ValidationError(
      `${field} is packed binary of ${bytes.byteLength} bytes, not a whole number of float32 values`,
      field,
    );
  }
  const out = new Float32Array(bytes.byteLength / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/**
 * Decodes an embedding in any form a reader meets it: `number[]` (List<Number> through the document
 * client), `Uint8Array` (Binary through the SDK), or a base64 string (Binary in a Lambda stream event's
 * JSON). Every value must be a finite number.
 * @throws ValidationError naming `field` when the value is of no known form or holds a non-finite number.
 */
export function decodeEmbedding(value: unknown, field = 'embedding'): Float32Array {
  let vector: Float32Array;
  if (Array.isArray(value)) {
    vector = new Float32Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const n = value[i];
      if (typeof n !== 'number') throw new ValidationError(`${field}[${i}] is not a number`, field);
      vector[i] = n;
    }
  } else if (value instanceof Uint8Array) {
    vector = fromPackedBytes(value, field);
  } else if (typeof value === 'string') {
    vector = fromPackedBytes(Buffer.from(value, 'base64'), field);
  } else {
    throw new ValidationError(
      `${field} must be a list of numbers or packed float32 binary, got ${value === null ? 'null' : typeof value}`,
      field,
    );
  }
  for (let i = 0; i < vector.length; i++) {
    if (!Number.isFinite(vector[i])) {
      throw new ValidationError(`${field}[${i}] is not a finite number`, field);
    }
  }
  return vector;
}
