import { endianness } from 'node:os';

/**
 * True on little-endian hosts (x86-64, arm64: every Lambda architecture). The snapshot blob is float32
 * little-endian, so there a Float32Array can look at its bytes directly.
 */
export const HOST_IS_LITTLE_ENDIAN = endianness() === 'LE';

/**
 * A Float32Array over packed little-endian float32 bytes. Shares the bytes (no copy) when they start on
 * a 4-byte boundary, as a large reply from ioredis nearly always does; copies them otherwise (a typed
 * array cannot start mid-word).
 * @throws RangeError when the byte length is not a multiple of 4, or on a big-endian host.
 */
export function float32View(bytes: Uint8Array): Float32Array {
  if (!HOST_IS_LITTLE_ENDIAN) throw new RangeError('float32View needs a little-endian host');
  if (bytes.byteLength % 4 !== 0) {
    throw new RangeError(`${bytes.byteLength} bytes are not a whole number of float32 values`);
  }
  if (bytes.byteOffset % 4 === 0) {
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  }
  const copy = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(copy.buffer).set(bytes);
  return copy;
}
