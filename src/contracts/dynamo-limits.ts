import { ValidationError } from '../errors';

/**
 * What DynamoDB (and the AWS SDK's marshaller in front of it) refuses, checked before the first write so
 * that a request is refused whole instead of failing halfway. Every limit here was checked against
 * DynamoDB Local (test/unit/dynamo-limits.test.ts states them; docs/api.md lists them for clients).
 */

/** A partition key (bot_id in every table) holds at most 2,048 bytes of UTF-8. */
export const MAX_BOT_ID_BYTES = 2048;
/** A sort key holds at most 1,024 bytes: filename is the sort key of filename-index and BotDocuments. */
export const MAX_FILENAME_BYTES = 1024;
/** chunk_id is VectorEmbeddings' sort key. */
export const MAX_CHUNK_ID_BYTES = 1024;
/** DynamoDB refuses an item over 400 KB, attribute names included. */
export const MAX_ITEM_BYTES = 400 * 1024;
/**
 * What a chunk may take of an item, as `itemBytes` counts it: 1 KB under DynamoDB's limit. `itemBytes`
 * agrees byte for byte with DynamoDB Local (test/integration/item-size.test.ts); the margin stands for what
 * the service might count that Local does not, so the check errs on the side of refusing.
 */
export const ITEM_SIZE_MARGIN_BYTES = 1024;
export const MAX_CHUNK_ITEM_BYTES = MAX_ITEM_BYTES - ITEM_SIZE_MARGIN_BYTES;
/**
 * DynamoDB nests at most 32 levels, the item itself being the first: the `metadata` map and what it holds
 * may nest 31 deep (a flat metadata map is 1 level).
 */
export const MAX_METADATA_DEPTH = 31;
/** The SDK refuses numbers beyond ±(2^53 − 1) unless wrapped (it cannot store them exactly). */
export const MAX_NUMBER_MAGNITUDE = Number.MAX_SAFE_INTEGER;
/** DynamoDB's smallest non-zero magnitude; 1e-131 is refused as an underflow. */
export const MIN_NUMBER_MAGNITUDE = 1e-130;
/**
 * The largest magnitude of an embedding value: well inside float32 (3.4e38) and inside what the SDK
 * stores as a DynamoDB number (2^53), and far above anything a real embedding model produces.
 */
export const MAX_EMBEDDING_MAGNITUDE = 1e15;

const fail = (field: string, problem: string): never => {
  throw new ValidationError(`${field} ${problem}`, field);
};

/** A lone UTF-16 surrogate has no UTF-8 form: DynamoDB would store a replacement character instead. */
function isWellFormed(value: string): boolean {
  return (value as string & { isWellFormed(): boolean }).isWellFormed();
}

/**
 * Checks a key value: non-blank, well-formed, at most `maxBytes` bytes of UTF-8.
 * @throws ValidationError naming `field`.
 */
export function checkKey(value: string, field: string, maxBytes: number): void {
  if (value.trim() === '') fail(field, 'must not be empty');
  if (!isWellFormed(value)) fail(field, 'holds a lone UTF-16 surrogate (not valid Unicode text)');
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > maxBytes) fail(field, `is ${bytes} bytes of UTF-8; the limit is ${maxBytes}`);
}

/**
 * Checks a bot id: a DynamoDB partition key, and addressable in a URL path (`.` and `..` are dot
 * segments that clients and servers rewrite into another path).
 */
export function checkBotId(value: string, field = 'bot_id'): void {
  checkKey(value, field, MAX_BOT_ID_BYTES);
  if (value === '.' || value === '..')
    fail(field, `must not be ${JSON.stringify(value)} (a URL dot segment)`);
}

/** Why a number cannot be stored as a DynamoDB number through the SDK, or undefined when it can. */
export function numberProblem(n: number): string | undefined {
  if (!Number.isFinite(n)) return `is ${n}; DynamoDB stores finite numbers only`;
  const magnitude = Math.abs(n);
  if (magnitude > MAX_NUMBER_MAGNITUDE) {
    return `is ${n}; numbers are limited to ±${MAX_NUMBER_MAGNITUDE} (2^53 − 1); send larger values as strings`;
  }
  if (magnitude !== 0 && magnitude < MIN_NUMBER_MAGNITUDE) {
    return `is ${n}; non-zero numbers must be at least ${MIN_NUMBER_MAGNITUDE} in magnitude (DynamoDB's range)`;
  }
  return undefined;
}

/** A map key JavaScript treats as the prototype: schemas drop it and the SDK marshals it as nothing. */
export const PROTO_KEY = '__proto__';
export const PROTO_KEY_PROBLEM = 'has the key "__proto__", which cannot be stored; rename it';

/**
 * Checks chunk metadata for everything DynamoDB or the SDK would refuse: nesting deeper than
 * MAX_METADATA_DEPTH, empty map keys, the key `__proto__` (the SDK's marshaller turns it into an empty
 * attribute value, which DynamoDB refuses), numbers outside the storable range, values JSON cannot carry.
 * @throws ValidationError naming the path of the offending value, e.g. `chunks[3].metadata.a.b`.
 */
export function checkMetadata(metadata: Record<string, unknown>, field: string): void {
  const visit = (value: unknown, path: string, depth: number): void => {
    if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
    if (typeof value === 'number') {
      const problem = numberProblem(value);
      if (problem !== undefined) fail(path, problem);
      return;
    }
    if (typeof value !== 'object') fail(path, `is a ${typeof value}; metadata holds JSON values only`);
    if (depth > MAX_METADATA_DEPTH) {
      fail(field, `nests deeper than ${MAX_METADATA_DEPTH} levels (DynamoDB's limit is 32 with the item)`);
    }
    if (Array.isArray(value)) {
      for (const [i, element] of value.entries()) visit(element, `${path}[${i}]`, depth + 1);
      return;
    }
    for (const [key, element] of Object.entries(value as Record<string, unknown>)) {
      if (key === '') fail(path, 'has an empty key; DynamoDB refuses empty attribute names');
      if (key === PROTO_KEY) fail(path, PROTO_KEY_PROBLEM);
      visit(element, `${path}.${key}`, depth + 1);
    }
  };
  visit(metadata, field, 1);
}

/**
 * Checks an embedding's values: finite, magnitude at most MAX_EMBEDDING_MAGNITUDE, not all zero.
 * @throws ValidationError naming `field`, with the index and value at fault.
 */
export function checkEmbeddingValues(values: ArrayLike<number>, field: string): void {
  let nonZero = false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (typeof v !== 'number') throw new ValidationError(`${field}[${i}] is not a number`, field);
    if (!Number.isFinite(v) || Math.abs(v) > MAX_EMBEDDING_MAGNITUDE) {
      throw new ValidationError(
        `${field}[${i}] is ${v}; embedding values must be finite numbers of magnitude at most ${MAX_EMBEDDING_MAGNITUDE}`,
        field,
      );
    }
    if (v !== 0) nonZero = true;
  }
  if (!nonZero) fail(field, 'must not be all zeros (it has no direction to compare by)');
}

/**
 * DynamoDB's size of a number, exactly as DynamoDB Local computes it (its `encodeBigDecimal`): one byte of
 * sign and exponent, then the significant digits in base-100 pairs aligned on the decimal point (so 1.5,
 * which spans the pairs "01" and "50", takes one byte more than 15), and one terminating byte more for a
 * negative number. The digits are those of the text the SDK sends (`Number.prototype.toString`). Zero is 1 byte.
 */
export function numberBytes(n: number): number {
  const [mantissa = '', exponent = '0'] = Math.abs(n).toString().split('e');
  const [whole = '', fraction = ''] = mantissa.split('.');
  let digits = whole + fraction;
  // Where the decimal point sits, counted in digits from the left of `digits`.
  let point = whole.length + Number(exponent);
  const leading = digits.length - digits.replace(/^0+/, '').length;
  digits = digits.slice(leading).replace(/0+$/, '');
  point -= leading;
  if (digits === '') return 1;
  const odd = point % 2 !== 0 ? 1 : 0;
  const pairs = Math.ceil((digits.length + odd) / 2);
  return 1 + pairs + (n < 0 && pairs < 20 ? 1 : 0);
}

/**
 * The size DynamoDB counts for an attribute value, as DynamoDB Local computes it: UTF-8 bytes of a string,
 * bytes of a Binary, `numberBytes` of a number, 1 for a boolean or null, and 3 bytes per map or list plus
 * 1 per element (and the UTF-8 bytes of each map key).
 */
export function attributeBytes(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') return numberBytes(value);
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value)) {
    let total = 3;
    for (const element of value) total += 1 + attributeBytes(element);
    return total;
  }
  let total = 3;
  for (const [key, element] of Object.entries(value as Record<string, unknown>)) {
    total += 1 + Buffer.byteLength(key, 'utf8') + attributeBytes(element);
  }
  return total;
}

/** The size DynamoDB counts for an item: each attribute's name plus its value (no per-attribute overhead). */
export function itemBytes(item: Record<string, unknown>): number {
  let total = 0;
  for (const [name, value] of Object.entries(item))
    total += Buffer.byteLength(name, 'utf8') + attributeBytes(value);
  return total;
}
