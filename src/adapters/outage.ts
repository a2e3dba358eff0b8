import { UnavailableError } from '../errors';

/** Node socket failures: the service cannot be reached right now. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

const NETWORK_CODE_IN_TEXT = new RegExp(`\\b(${[...NETWORK_CODES].join('|')})\\b`);

/** AWS error names that mean "too much load, try later" once the SDK's own retries are spent. */
const THROTTLING_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
]);

/** Timeouts as the AWS SDK and Node name them (socket, request and abort-signal deadlines). */
const TIMEOUT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);

/** ioredis's ways of saying the server is gone or did not answer in time. */
const REDIS_NAMES = new Set(['MaxRetriesPerRequestError']);
const REDIS_MESSAGES = /^(Connection is closed\.?|Command timed out|Stream isn't writeable)/;

/** Seconds a client should wait before sending the request again after an outage answer. */
export const OUTAGE_RETRY_AFTER_SECONDS = 2;

type Probe = {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
};

/**
 * The error as an `UnavailableError` when it says that DynamoDB or Redis is down or refusing load
 * (connection refused or reset, a timeout, throttling past the SDK's retries, a 5xx from the service), so
 * the caller answers 503 with Retry-After; null for anything else (a bug, or the client's fault). Looks
 * through `cause` and AggregateError's `errors` (Node reports a refused dual-stack connect as one).
 */
export function asOutage(error: unknown): UnavailableError | null {
  if (error instanceof UnavailableError) return error;
  const dependency = outageOf(error, 0);
  if (dependency === null) return null;
  return new UnavailableError(
    `${dependency} is unavailable; send the request again later`,
    dependency,
    OUTAGE_RETRY_AFTER_SECONDS,
    { cause: error },
  );
}

function outageOf(error: unknown, depth: number): 'DynamoDB' | 'Redis' | null {
  if (typeof error !== 'object' || error === null || depth > 4) return null;
  const probe = error as Probe;
  const name = typeof probe.name === 'string' ? probe.name : '';
  const message = typeof probe.message === 'string' ? probe.message : '';
  // The AWS SDK attaches $metadata to every error it returns, network failures included.
  const fromAws = probe.$metadata !== undefined || probe.$fault !== undefined;
  if (REDIS_NAMES.has(name) || REDIS_MESSAGES.test(message)) return 'Redis';
  if (typeof probe.code === 'string' && NETWORK_CODES.has(probe.code)) return fromAws ? 'DynamoDB' : 'Redis';
  // The SDK wraps a socket error it does not recognise as an Error (one from another realm) in a plain
  // Error that keeps only its text: "AWS SDK error wrapper for Error: connect ECONNREFUSED ...".
  if (fromAws && NETWORK_CODE_IN_TEXT.test(message)) return 'DynamoDB';
  if (fromAws) {
    const status = probe.$metadata?.httpStatusCode;
    if (THROTTLING_NAMES.has(name) || TIMEOUT_NAMES.has(name)) return 'DynamoDB';
    if (probe.$fault === 'server' || (typeof status === 'number' && status >= 500)) return 'DynamoDB';
  }
  const nested = [probe.cause, ...(Array.isArray(probe.errors) ? probe.errors : [])];
  for (const inner of nested) {
    const found = outageOf(inner, depth + 1);
    if (found !== null) return fromAws ? 'DynamoDB' : found;
  }
  return null;
}
