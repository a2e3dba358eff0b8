import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** Error codes the API returns, one per status it uses. */
export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'write_incomplete'
  | 'unavailable'
  | 'internal_error';

/** Every error body: `{ "error": { "code", "message", "field"? } }`. */
export type ErrorBody = { error: { code: ErrorCode; message: string; field?: string } };

/** A JSON response. */
export function json(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify(body),
  };
}

/** An empty success (204), e.g. after a delete. */
export function noContent(): APIGatewayProxyStructuredResultV2 {
  return { statusCode: 204, headers: {}, body: '' };
}

/** A JSON error response. */
export function errorResponse(
  statusCode: number,
  code: ErrorCode,
  message: string,
  field?: string,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  const body: ErrorBody = { error: { code, message, ...(field === undefined ? {} : { field }) } };
  const response = json(statusCode, body);
  return { ...response, headers: { ...response.headers, ...headers } };
}
