import type { z } from 'zod';
import { PayloadTooLargeError, ValidationError } from '../errors';

/**
 * Largest request body accepted, in bytes after base64 decoding: Lambda's 6 MB limit on a synchronous
 * invocation's payload, so a body that passes here also fits the deployed function.
 */
export const MAX_BODY_BYTES = 6 * 1024 * 1024;

/** The parts of an HTTP API (v2) event that carry input. */
export type RequestInput = {
  body?: string;
  isBase64Encoded?: boolean;
  pathParameters?: Record<string, string | undefined>;
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

/**
 * The request's JSON body validated against `schema`.
 * @throws PayloadTooLargeError above MAX_BODY_BYTES.
 * @throws ValidationError (field `body`) for a missing or malformed body, or naming the offending field.
 */
export function parseJsonBody<S extends z.ZodType>(event: RequestInput, schema: S): z.infer<S> {
  if (event.body === undefined || event.body === '')
    throw new ValidationError('body: a JSON body is required', 'body');
  const text =
    event.isBase64Encoded === true ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(`body is ${bytes} bytes; the limit is ${MAX_BODY_BYTES}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ValidationError('body: is not valid JSON', 'body', { cause: error });
  }
  return parseWith(schema, value);
}

/** Longest bot id or filename accepted in a path (DynamoDB allows 2 KB partition keys and 1 KB sort keys). */
const MAX_PATH_PARAMETER_LENGTH = 1024;

/**
 * A path parameter, percent-decoded. API Gateway passes a path parameter as it appears in the URL, so a
 * filename with `/` or spaces arrives encoded (`a%2Fb.pdf`); serverless-offline hands it over already
 * decoded. A value that is not valid percent-encoding (a bare `%` in an already decoded name) is taken
 * as it is, so both deliver the same name.
 * @throws ValidationError naming the parameter when it is missing, blank or too long.
 */
export function pathParameter(event: RequestInput, name: string): string {
  const raw = event.pathParameters?.[name];
  if (raw === undefined || raw === '') throw new ValidationError(`${name}: is required in the path`, name);
  let value = raw;
  try {
    value = decodeURIComponent(raw);
  } catch {
    // Not an escape sequence: the name itself holds a `%`.
  }
  if (value.trim() === '') throw new ValidationError(`${name}: must not be blank`, name);
  if (value.length > MAX_PATH_PARAMETER_LENGTH) {
    throw new ValidationError(`${name}: longer than ${MAX_PATH_PARAMETER_LENGTH} characters`, name);
  }
  return value;
}
