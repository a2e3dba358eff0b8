import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { LAMBDA_RESPONSE_BYTES } from '../contracts/response-limits';
import { PayloadTooLargeError } from '../errors';

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

/**
 * A JSON response that a deployed function can return: its serialised envelope is at most
 * LAMBDA_RESPONSE_BYTES.
 * @param tooLarge what the client can ask for instead, for the message of the 413.
 * @throws PayloadTooLargeError naming the limit and the size when it would be larger.
 */
export function json(
  statusCode: number,
  body: unknown,
  tooLarge?: string,
): APIGatewayProxyStructuredResultV2 {
  const response = {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify(body),
  };
  const bytes = envelopeBytes(response);
  if (bytes > LAMBDA_RESPONSE_BYTES) {
    throw new PayloadTooLargeError(
      `the response would be ${bytes} bytes; a response holds at most ${LAMBDA_RESPONSE_BYTES} bytes (Lambda's 6 MB)${tooLarge === undefined ? '' : `: ${tooLarge}`}`,
    );
  }
  return response;
}

/**
 * The bytes of the response as Lambda counts them (the JSON envelope, in which the body is an escaped
 * string): exact for a body near the limit, an upper bound below it. Escaping at most doubles the body (a
 * quote or backslash becomes two characters; JSON.stringify leaves no raw control character), so a body
 * under half the limit is not serialised a second time.
 */
export function envelopeBytes(response: {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}): number {
  const bodyBytes = Buffer.byteLength(response.body);
  if (2 * bodyBytes + 4096 <= LAMBDA_RESPONSE_BYTES) return bodyBytes + 4096;
  return Buffer.byteLength(JSON.stringify(response));
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
