import { isInteger, isSafeNumber, parse as parseLossless } from 'lossless-json';
import type { z } from 'zod';
import { checkBotId, checkKey, MAX_FILENAME_BYTES } from '../contracts/dynamo-limits';
import { PayloadTooLargeError, ValidationError } from '../errors';

/**
 * Largest request body accepted, in bytes after base64 decoding: Lambda's 6 MB limit on a synchronous
 * invocation's payload, so a body that passes here also fits the deployed function.
 */
export const MAX_BODY_BYTES = 6 * 1024 * 1024;

/** The parts of an HTTP API (v2) event that carry input. */
export type RequestInput = {
  /** serverless-offline passes `null` for a request without a body. */
  body?: string | null;
  isBase64Encoded?: boolean;
  pathParameters?: Record<string, string | undefined>;
  queryStringParameters?: Record<string, string | undefined>;
  rawQueryString?: string;
};

/** A zod issue path as one field name: `chunks[3].embedding`. */
export function fieldName(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/**
 * Validates `value` against `schema`.
 * @throws ValidationError naming the first offending field (prefixed with `prefix` when given).
 */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, prefix = ''): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (issue === undefined) throw new ValidationError('invalid request', prefix || 'body');
  let path: PropertyKey[] = [...issue.path];
  if (issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined) path = [...path, issue.keys[0]];
  const inner = fieldName(path);
  const field = prefix === '' ? inner || 'body' : inner === '' ? prefix : `${prefix}.${inner}`;
  const message = issue.code === 'unrecognized_keys' ? 'is not a known field' : issue.message;
  throw new ValidationError(`${field}: ${message}`, field);
}

/** An integer literal past 2^53 - 1 as a bigint (exact), any other number as JSON.parse reads it. */
const exactInteger = (text: string): number | bigint =>
  isInteger(text) && !isSafeNumber(text) ? BigInt(text) : Number(text);

/**
 * Turns every bigint in a parsed value into the number JSON.parse would have read, in place, except in the
 * values of `keep` keys. Properties are redefined rather than assigned: an own `__proto__` key (JSON allows
 * it) would otherwise hit the prototype setter.
 */
function roundOutside(container: object, keep: ReadonlySet<string>): void {
  for (const key of Object.keys(container)) {
    if (!Array.isArray(container) && keep.has(key)) continue;
    const value: unknown = (container as Record<string, unknown>)[key];
    if (typeof value === 'bigint') {
      Object.defineProperty(container, key, {
        value: Number(value),
        writable: true,
        enumerable: true,
        configurable: true,
      });
    } else if (typeof value === 'object' && value !== null) {
      roundOutside(value, keep);
    }
  }
}

/**
 * JSON text as JSON.parse reads it (a repeated key keeps its last value), except that under the keys of
 * `exactIntegersUnder` an integer literal past 2^53 - 1 becomes a bigint instead of the nearest double:
 * Qdrant point ids are unsigned 64-bit integers, and a rounded id names another point.
 */
function parseJsonText(text: string, exactIntegersUnder: ReadonlySet<string>): unknown {
  if (exactIntegersUnder.size === 0) return JSON.parse(text);
  const value: unknown = parseLossless(text, null, {
    parseNumber: exactInteger,
    onDuplicateKey: ({ newValue }) => newValue,
  });
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'object' && value !== null) roundOutside(value, exactIntegersUnder);
  return value;
}

/**
 * The request's JSON body validated against `schema`. Integer literals past 2^53 - 1 in the values of a key
 * named in `exactIntegersUnder` (at any depth) reach the schema as bigints; elsewhere they are rounded to
 * numbers as JSON.parse rounds them.
 * @throws PayloadTooLargeError above MAX_BODY_BYTES.
 * @throws ValidationError (field `body`) for a missing or malformed body, or naming the offending field.
 */
export function parseJsonBody<S extends z.ZodType>(
  event: RequestInput,
  schema: S,
  options: { exactIntegersUnder?: readonly string[] } = {},
): z.infer<S> {
  if (event.body === undefined || event.body === null || event.body === '')
    throw new ValidationError('body: a JSON body is required', 'body');
  const text =
    event.isBase64Encoded === true ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(`body is ${bytes} bytes; the limit is ${MAX_BODY_BYTES}`);
  }
  let value: unknown;
  try {
    value = parseJsonText(text, new Set(options.exactIntegersUnder ?? []));
  } catch (error) {
    throw new ValidationError('body: is not valid JSON', 'body', { cause: error });
  }
  return parseWith(schema, value);
}

/**
 * A path parameter exactly as the platform hands it over. API Gateway's HTTP API decodes the path once
 * before routing (so does serverless-offline): decoding it again would turn the literal id `%7Btag%7D`
 * into `{tag}`, another bot.
 * @throws ValidationError naming the parameter when it is missing.
 */
export function pathParameter(event: RequestInput, name: string): string {
  const value = event.pathParameters?.[name];
  if (value === undefined || value === '')
    throw new ValidationError(`${name}: is required in the path`, name);
  return value;
}

/**
 * The bot id of the path, checked as a DynamoDB partition key (at most 2,048 bytes of UTF-8) that a URL
 * can address (not `.` or `..`).
 * @throws ValidationError (field `botId`).
 */
export function botIdParameter(event: RequestInput): string {
  const botId = pathParameter(event, 'botId');
  checkBotId(botId, 'botId');
  return botId;
}

/**
 * A query parameter given exactly once (API Gateway joins repeated ones with commas, which would turn
 * two names into a third), as the platform decoded it.
 * @throws ValidationError naming the parameter when it is missing, empty or repeated.
 */
export function queryParameter(event: RequestInput, name: string): string {
  const value = event.queryStringParameters?.[name];
  if (value === undefined || value === '')
    throw new ValidationError(`${name}: is required in the query`, name);
  if (new URLSearchParams(event.rawQueryString ?? '').getAll(name).length > 1) {
    throw new ValidationError(`${name}: must be given once`, name);
  }
  return value;
}

/**
 * The `filename` query parameter, checked as the sort key it becomes (at most 1,024 bytes of UTF-8).
 * A filename travels in the query, never in the path, so that no name (`..`, `a/../b`) can be rewritten
 * into another route by a client or server normalising dot segments.
 * @throws ValidationError (field `filename`).
 */
export function filenameParameter(event: RequestInput): string {
  const filename = queryParameter(event, 'filename');
  checkKey(filename, 'filename', MAX_FILENAME_BYTES);
  return filename;
}
