import type { Logger } from '@aws-lambda-powertools/logger';
import type {
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { errorToResponse } from './error-response';

/** An HTTP API (v2 payload, JWT authorizer) Lambda handler. */
export type HttpHandler = (
  event: APIGatewayProxyEventV2WithJWTAuthorizer,
  context?: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * Wraps a route's work so that every thrown error becomes its JSON error response (never an unhandled
 * rejection, never a stack trace in a body). `logger` is asked for lazily: wiring may read config on first use.
 */
export function httpRoute(
  logger: () => Pick<Logger, 'error'>,
  serve: (event: APIGatewayProxyEventV2WithJWTAuthorizer) => Promise<APIGatewayProxyStructuredResultV2>,
): HttpHandler {
  return async (event) => {
    try {
      return await serve(event);
    } catch (error) {
      return errorToResponse(error, (unexpected) => {
        try {
          logger().error('Unexpected error serving a request', {
            error: unexpected,
            routeKey: event.routeKey,
          });
        } catch {
          // A broken configuration must still produce the generic 500, not a crash.
          console.error(unexpected);
        }
      });
    }
  };
}
