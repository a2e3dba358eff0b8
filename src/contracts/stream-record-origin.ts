import type { DynamoDBRecord } from 'aws-lambda';
import { MAX_ITEM_BYTES } from './dynamo-limits';

/**
 * Whether a record handed to the stream handler can be a change of the VectorEmbeddings table at all.
 * A record that cannot is skipped: no count, no snapshot change, no retry (retrying it can never succeed,
 * and it would hold back every bot behind it on its shard). A record that can is the table's truth and
 * is counted, even when its item is one the snapshot cannot serve (see `snapshotChangeOf`).
 */

/** The table name in a DynamoDB stream ARN (`arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>`). */
export function tableOfStreamArn(arn: string): string | undefined {
  return /^arn:[\w-]+:dynamodb:[^:]*:[^:]*:table\/([^/]+)\/stream\/[^/]+$/.exec(arn)?.[1];
}

/**
 * Why the record is not from the stream of `table` (another event source, another table's stream, no
 * sequence number to name it by), or undefined when it is.
 */
export function foreignRecordReason(record: DynamoDBRecord, table: string): string | undefined {
  if (record === null || typeof record !== 'object') return 'not an object';
  if (record.eventSource !== 'aws:dynamodb') {
    return `eventSource is ${JSON.stringify(record.eventSource)}, not "aws:dynamodb"`;
  }
  const arn = typeof record.eventSourceARN === 'string' ? record.eventSourceARN : '';
  const source = tableOfStreamArn(arn);
  if (source !== table) {
    return `eventSourceARN ${JSON.stringify(arn.slice(0, 200))} is not a stream of table ${table}`;
  }
  const sequenceNumber = record.dynamodb?.SequenceNumber;
  if (typeof sequenceNumber !== 'string' || !/^\d{1,64}$/.test(sequenceNumber)) {
    return 'dynamodb.SequenceNumber is not a string of digits';
  }
  return undefined;
}

/** DynamoDB's number syntax: a decimal with an optional exponent (no NaN, no Infinity, no hex). */
const NUMBER_SYNTAX = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
/** DynamoDB holds numbers of up to 38 significant digits, magnitudes 1E-130 to below 1E+126. */
const MAX_SIGNIFICANT_DIGITS = 38;

function significantDigits(value: string): string {
  return value
    .replace(/^[+-]/, '')
    .replace(/[eE].*$/, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
}

/** Why a marshalled number is one DynamoDB cannot hold, or undefined. */
export function storedNumberProblem(value: string): string | undefined {
  if (!NUMBER_SYNTAX.test(value)) return `${JSON.stringify(value.slice(0, 40))} is not a DynamoDB number`;
  if (significantDigits(value).length > MAX_SIGNIFICANT_DIGITS) {
    return `${value.slice(0, 60)} has more than ${MAX_SIGNIFICANT_DIGITS} significant digits`;
  }
  const magnitude = Math.abs(Number(value));
  if (magnitude !== 0 && (magnitude < 1e-130 || magnitude >= 1e126)) {
    return `${value} is outside DynamoDB's number range (1E-130 to 9.99E+125)`;
  }
  return undefined;
}

type Marshalled = Record<string, unknown>;

/** Bytes of a Binary value: base64 text in Lambda's JSON, Uint8Array when read through the SDK. */
function binaryBytes(value: unknown): number {
  if (value instanceof Uint8Array) return value.byteLength;
  if (typeof value !== 'string') return 0;
  const padding = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor((value.length * 3) / 4) - padding);
}

/**
 * A lower bound of the size DynamoDB counts for a marshalled value (a number counts one byte per two
 * significant digits, its extra byte left out), or the problem that makes it a value DynamoDB cannot hold.
 */
function valueBytes(value: unknown, field: string): number | string {
  if (value === null || typeof value !== 'object') return `${field} is not an attribute value`;
  const typed = value as Marshalled;
  if (typeof typed.S === 'string') return Buffer.byteLength(typed.S, 'utf8');
  if (typeof typed.N === 'string') {
    const problem = storedNumberProblem(typed.N);
    return problem === undefined ? Math.ceil(significantDigits(typed.N).length / 2) : `${field}: ${problem}`;
  }
  if ('B' in typed) return binaryBytes(typed.B);
  if ('BOOL' in typed || 'NULL' in typed) return 1;
  if (Array.isArray(typed.SS))
    return typed.SS.reduce((sum: number, s) => sum + Buffer.byteLength(String(s)), 0);
  if (Array.isArray(typed.BS)) return typed.BS.reduce((sum: number, b) => sum + binaryBytes(b), 0);
  if (Array.isArray(typed.NS))
    return listBytes(
      typed.NS.map((n) => ({ N: n })),
      field,
      0,
    );
  if (Array.isArray(typed.L)) return listBytes(typed.L, field, 3);
  if (typed.M !== null && typeof typed.M === 'object') return mapBytes(typed.M as Marshalled, field, 3);
  return `${field} is not an attribute value`;
}

function listBytes(values: unknown[], field: string, overhead: number): number | string {
  let total = overhead;
  for (let i = 0; i < values.length; i++) {
    const bytes = valueBytes(values[i], `${field}[${i}]`);
    if (typeof bytes === 'string') return bytes;
    total += 1 + bytes;
    if (total > MAX_ITEM_BYTES) return total;
  }
  return total;
}

function mapBytes(entries: Marshalled, field: string, overhead: number): number | string {
  let total = overhead;
  for (const [name, value] of Object.entries(entries)) {
    const bytes = valueBytes(value, `${field}.${name}`);
    if (typeof bytes === 'string') return bytes;
    total += (overhead === 0 ? 0 : 1) + Buffer.byteLength(name, 'utf8') + bytes;
    if (total > MAX_ITEM_BYTES) return total;
  }
  return total;
}

/**
 * Why a marshalled item image (as a stream record carries it) is not one DynamoDB can hold: a number it
 * refuses (NaN, Infinity, out of range) or more than 400 KB. Undefined when it could be a stored item.
 */
export function imageProblem(image: Marshalled, field: string): string | undefined {
  const bytes = mapBytes(image, field, 0);
  if (typeof bytes === 'string') return bytes;
  if (bytes > MAX_ITEM_BYTES) {
    return `${field} is over ${bytes} bytes; DynamoDB holds items of at most ${MAX_ITEM_BYTES} bytes`;
  }
  return undefined;
}
