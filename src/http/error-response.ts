import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  UnauthorizedError,
  ValidationError,
} from '../errors';
import { errorResponse } from './responses';

/**
 * The response for an error thrown while serving a request: the named errors of src/errors.ts become their
 * 4xx with their message (it says what was wrong); anything else is a generic 500 whose details are only
 * logged (`onUnexpected`), never returned.
 */
export function errorToResponse(
  error: unknown,
  onUnexpected: (error: unknown) => void,
): APIGatewayProxyStructuredResultV2 {
  if (error instanceof ValidationError) return errorResponse(400, 'bad_request', error.message, error.field);
  if (error instanceof UnauthorizedError) return errorResponse(401, 'unauthorized', error.message);
  if (error instanceof ForbiddenError) return errorResponse(403, 'forbidden', error.message);
  if (error instanceof NotFoundError) return errorResponse(404, 'not_found', error.message);
  if (error instanceof ConflictError) return errorResponse(409, 'conflict', error.message);
  if (error instanceof PayloadTooLargeError) return errorResponse(413, 'payload_too_large', error.message);
  onUnexpected(error);
  return errorResponse(500, 'internal_error', 'internal error');
}
