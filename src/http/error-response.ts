import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { asOutage } from '../adapters/outage';
import {
  ConflictError,
  DocumentBusyError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  UnauthorizedError,
  ValidationError,
  WriteIncompleteError,
} from '../errors';
import { errorResponse } from './responses';

/**
 * The response for an error thrown while serving a request: the named errors of src/errors.ts become their
 * 4xx with their message (it says what was wrong); a dependency that is down or refusing load (see
 * `asOutage`) and load this function sheds become 503 with Retry-After (as do writes DynamoDB kept
 * refusing); anything else is a generic 500 whose details are only logged (`onUnexpected`), never returned.
 */
export function errorToResponse(
  error: unknown,
  onUnexpected: (error: unknown) => void,
): APIGatewayProxyStructuredResultV2 {
  if (error instanceof ValidationError) return errorResponse(400, 'bad_request', error.message, error.field);
  if (error instanceof UnauthorizedError) return errorResponse(401, 'unauthorized', error.message);
  if (error instanceof ForbiddenError) return errorResponse(403, 'forbidden', error.message);
  if (error instanceof NotFoundError) return errorResponse(404, 'not_found', error.message);
  if (error instanceof DocumentBusyError) {
    return errorResponse(409, 'conflict', error.message, undefined, {
      'retry-after': String(error.retryAfterSeconds),
    });
  }
  if (error instanceof ConflictError) return errorResponse(409, 'conflict', error.message);
  if (error instanceof PayloadTooLargeError) return errorResponse(413, 'payload_too_large', error.message);
  // Throttling past the retries: not the client's fault, and the same request sent again completes it.
  if (error instanceof WriteIncompleteError) {
    return errorResponse(503, 'write_incomplete', error.message, undefined, { 'retry-after': '1' });
  }
  const outage = asOutage(error);
  if (outage !== null) {
    return errorResponse(503, 'unavailable', outage.message, undefined, {
      'retry-after': String(outage.retryAfterSeconds),
    });
  }
  onUnexpected(error);
  return errorResponse(500, 'internal_error', 'internal error');
}
