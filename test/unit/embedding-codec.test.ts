import { decodeEmbedding, encodeEmbedding } from '../../src/domain/embedding-codec';
import { ValidationError } from '../../src/errors';

describe('embedding codec', () => {
  const vector = [0.5, -1.25, 3, 1e-7];

  it('stores the design document encoding as a plain list of numbers', () => {
    expect(encodeEmbedding(vector, 'list')).toEqual(vector);
  });

  it('packs the compact encoding as little-endian float32, 4 bytes a dimension', () => {
    const packed = encodeEmbedding(vector, 'binary') as Uint8Array;
    expect(packed.byteLength).toBe(16);
    expect(new DataView(packed.buffer).getFloat32(4, true)).toBe(-1.25);
  });

  it('decodes every form a reader meets to the same float32 values', () => {
    const expected = Float32Array.from(vector);
    const packed = encodeEmbedding(vector, 'binary') as Uint8Array;
    expect(decodeEmbedding(vector)).toEqual(expected);
    expect(decodeEmbedding(packed)).toEqual(expected);
    expect(decodeEmbedding(Buffer.from(packed).toString('base64'))).toEqual(expected);
  });

  it('decodes packed bytes that start at an odd offset of a larger buffer', () => {
    const packed = encodeEmbedding(vector, 'binary') as Uint8Array;
    const larger = new Uint8Array(packed.byteLength + 3);
    larger.set(packed, 3);
    expect(decodeEmbedding(larger.subarray(3))).toEqual(Float32Array.from(vector));
  });

  it.each([
    ['a non-finite number', [1, Number.NaN], 'embedding[1] is not a finite number'],
    ['an infinite number', [Number.POSITIVE_INFINITY], 'embedding[0] is not a finite number'],
    ['a string inside the list', [1, '2'], 'embedding[1] is not a number'],
    ['a byte length that is not whole floats', new Uint8Array(6), 'not a whole number of float32 values'],
    ['null', null, 'got null'],
    ['an object', { L: [] }, 'got object'],
  ])('rejects %s with a message naming the field', (_, value, message) => {
    expect(() => decodeEmbedding(value)).toThrow(ValidationError);
    expect(() => decodeEmbedding(value)).toThrow(message);
  });

  it('names the caller field in errors', () => {
    expect(() => decodeEmbedding([Number.NaN], 'chunks[2].embedding')).toThrow('chunks[2].embedding[0]');
  });
});
