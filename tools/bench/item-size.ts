/**
 * DynamoDB's item-size rules (Developer Guide, "DynamoDB item sizes and formats"), applied to a plain
 * JavaScript item as the document client marshals it. Used to state the write cost of each embedding
 * encoding where the server's reported capacity is missing or cannot be taken on trust.
 */

const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/** Significant digits of a number as the SDK sends it (its shortest decimal form), zeros trimmed. */
export function significantDigits(value: number): number {
  const mantissa = Math.abs(value).toString().split('e')[0] ?? '0';
  const digits = mantissa.replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.max(digits.length, 1);
}

/** Size of one attribute value in bytes, without its name. */
export function valueSize(value: unknown): number {
  if (value === null || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return utf8Bytes(value);
  if (typeof value === 'number') return Math.ceil(significantDigits(value) / 2) + 1;
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) {
    // A set (String, Number or Binary Set) costs the sum of its elements.
    let size = 0;
    for (const element of value) size += valueSize(element);
    return size;
  }
  if (Array.isArray(value)) {
    // A List costs 3 bytes plus each element's size plus 1 byte an element.
    let size = 3;
    for (const element of value) size += valueSize(element) + 1;
    return size;
  }
  if (typeof value === 'object') {
    let size = 3;
    for (const [name, element] of Object.entries(value as Record<string, unknown>)) {
      if (element === undefined) continue;
      size += utf8Bytes(name) + valueSize(element) + 1;
    }
    return size;
  }
  throw new TypeError(`no DynamoDB size rule for a ${typeof value}`);
}

/** Size of an item: attribute names plus values. */
export function itemSize(item: Record<string, unknown>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    size += utf8Bytes(name) + valueSize(value);
  }
  return size;
}

/** Write capacity units of one standard (non-transactional) write of an item: 1 per started KB. */
export function writeUnits(sizeBytes: number): number {
  return Math.max(1, Math.ceil(sizeBytes / 1024));
}
