import { endianness } from 'node:os';

/**
 * True on little-endian hosts (x86-64, arm64: every Lambda architecture). The snapshot blob is float32
 * little-endian, so there a Float32Array can look at its bytes directly.
 */
export const HOST_IS_LITTLE_ENDIAN = endianness() === 'LE';

/**
 * Packed little-endian float32 bytes as a Float32Array that starts at the first byte of a buffer of its
 * own. Shares the bytes (no copy) when they are a whole buffer already; copies them otherwise. A reply
 * from ioredis is often a slice of a receive buffer several times its size: a view of it would keep that
 * whole buffer alive as long as the snapshot is held, and would start past its buffer's first byte, which
 * the native dense pass (usearch) cannot read.
 * @throws RangeError when the byte length is not a multiple of 4, or on a big-endian host.
 */
export function ownedFloat32(bytes: Uint8Array): Float32Array {
  if (!HOST_IS_LITTLE_ENDIAN) throw new RangeError('ownedFloat32 needs a little-endian host');
  if (bytes.byteLength % 4 !== 0) {
    throw new RangeError(`${bytes.byteLength} bytes are not a whole number of float32 values`);
  }
  if (bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength) {
    return new Float32Array(bytes.buffer, 0, bytes.byteLength / 4);
  }
  const copy = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(copy.buffer).set(bytes);
  return copy;
}
