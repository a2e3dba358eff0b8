/**
 * Every error the domain raises on purpose. Only handlers turn these into status codes:
 * 4xx bodies repeat `message` (it says what was wrong); anything else becomes a generic 500.
 */

/** Input that breaks the contract. `field` is the path of the offending value, e.g. `chunks[3].embedding`. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    message: string,
    readonly field: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class UnauthorizedError extends Error {
  override readonly name = 'UnauthorizedError';
}

export class ForbiddenError extends Error {
  override readonly name = 'ForbiddenError';
}

export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

export class ConflictError extends Error {
  override readonly name: string = 'ConflictError';
}

/**
 * Another write of the same document holds its lease: sending the request again after
 * `retryAfterSeconds` succeeds (the two replacements then apply one after the other, never interleaved).
 */
export class DocumentBusyError extends ConflictError {
  override readonly name = 'DocumentBusyError';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

export class PayloadTooLargeError extends Error {
  override readonly name = 'PayloadTooLargeError';
}

/** BatchWrite gave up with items still unprocessed; `unwritten` names them (bot_id/chunk_id). */
export class WriteIncompleteError extends Error {
  override readonly name = 'WriteIncompleteError';
  constructor(
    message: string,
    readonly unwritten: string[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * DynamoDB refused items outright (a ValidationException: over 400 KB, or anything else it will never
 * store), so sending them again fails the same way. `refused` names each chunk with DynamoDB's reason.
 */
export class ItemRefusedError extends Error {
  override readonly name = 'ItemRefusedError';
  constructor(
    message: string,
    readonly refused: Array<{ chunkId: string; reason: string }>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A missing or malformed setting; the message names the variable and what it should hold. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * A secret (the Redis password) could not be read from its store; the message names it and what the
 * function needs to read it. Redis calls that needed it fail with it, so callers fall back as for any
 * Redis failure.
 */
export class SecretUnavailableError extends Error {
  override readonly name = 'SecretUnavailableError';
}

/** A local prerequisite (Java, redis-server) is missing; the message says what to install or set. */
export class PrerequisiteError extends Error {
  override readonly name = 'PrerequisiteError';
}

/** The local stream runner's `drain()` ran out of time; the message says which shards still hold records. */
export class DrainTimeoutError extends Error {
  override readonly name = 'DrainTimeoutError';
}

/**
 * The snapshot cache is known to be unreachable (its circuit breaker is open), so the call was not sent.
 * Callers fall back as for any Redis failure, but need not log it: the breaker reported the outage once.
 */
export class CacheUnavailableError extends Error {
  override readonly name = 'CacheUnavailableError';
}

/**
 * Qdrant could not be read (unreachable, refused the key, no such collection or vector); the message says
 * what to check. Thrown by the migration's Qdrant reader and its setup.
 */
export class QdrantSourceError extends Error {
  override readonly name = 'QdrantSourceError';
}

/**
 * A service the request needs is down or refusing load (DynamoDB or Redis unreachable, timed out, throttled
 * past the SDK's retries, answering 5xx), or this container sheds load: sending the same request again
 * after `retryAfterSeconds` may succeed. `dependency` names what was missing, for the log and the message.
 */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
  constructor(
    message: string,
    readonly dependency: 'DynamoDB' | 'Redis' | 'capacity' | 'deadline',
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
