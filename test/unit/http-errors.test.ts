import { searchRequestSchema } from '../../src/domain/search-request';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  UnauthorizedError,
  ValidationError,
} from '../../src/errors';
import { errorToResponse } from '../../src/http/error-response';
import { MAX_BODY_BYTES, parseJsonBody, pathParameter } from '../../src/http/request';

function body(response: { body?: string }): unknown {
  return JSON.parse(response.body ?? '');
}

describe('http error responses', () => {
  it.each([
    [new UnauthorizedError('missing Authorization header'), 401, 'unauthorized'],
    [new ForbiddenError('bot b is not yours'), 403, 'forbidden'],
    [new NotFoundError('bot b does not exist'), 404, 'not_found'],
    [new ConflictError('bot b belongs to another user'), 409, 'conflict'],
    [new PayloadTooLargeError('body is too large'), 413, 'payload_too_large'],
  ])('maps %p to %i with its message', (error, status, code) => {
    const response = errorToResponse(error, () => {
      throw new Error('a named error is not unexpected');
    });
    expect(response.statusCode).toBe(status);
    expect(body(response)).toEqual({ error: { code, message: error.message } });
  });

  it('names the field of a validation error', () => {
    const response = errorToResponse(new ValidationError('limit: too big', 'limit'), () => undefined);
    expect(response.statusCode).toBe(400);
    expect(body(response)).toEqual({
      error: { code: 'bad_request', message: 'limit: too big', field: 'limit' },
    });
  });

  it('hides the details of anything else behind a generic 500 and reports it', () => {
    const reported: unknown[] = [];
    const secret = new Error('connect ECONNREFUSED 10.0.0.7:6379 password=hunter2');
    const response = errorToResponse(secret, (error) => reported.push(error));
    expect(response.statusCode).toBe(500);
    expect(body(response)).toEqual({ error: { code: 'internal_error', message: 'internal error' } });
    expect(reported).toEqual([secret]);
  });
});

describe('http request parsing', () => {
  it('refuses a body over the limit with 413 before parsing it', () => {
    const huge = `{"embedding":[${'0,'.repeat(MAX_BODY_BYTES / 2)}0]}`;
    expect(() => parseJsonBody({ body: huge }, searchRequestSchema)).toThrow(PayloadTooLargeError);
  });

  it('requires a body, naming it', () => {
    expect(() => parseJsonBody({}, searchRequestSchema)).toThrow(expect.objectContaining({ field: 'body' }));
  });

  it('percent-decodes a path parameter', () => {
    expect(pathParameter({ pathParameters: { filename: 'reports%2F2024%20q1.pdf' } }, 'filename')).toBe(
      'reports/2024 q1.pdf',
    );
  });

  it('takes a name holding a bare % as it is (already decoded upstream)', () => {
    expect(pathParameter({ pathParameters: { filename: '100% done.txt' } }, 'filename')).toBe(
      '100% done.txt',
    );
    expect(pathParameter({ pathParameters: { filename: '100%25%20done.txt' } }, 'filename')).toBe(
      '100% done.txt',
    );
  });

  it.each<[Record<string, string>, string]>([
    [{}, 'missing'],
    [{ filename: '' }, 'empty'],
    [{ filename: '%20%20' }, 'blank'],
    [{ filename: 'x'.repeat(1025) }, 'too long'],
  ])('rejects a path parameter that is %j (%s), naming it', (pathParameters) => {
    expect(() => pathParameter({ pathParameters }, 'filename')).toThrow(
      expect.objectContaining({ name: 'ValidationError', field: 'filename' }),
    );
  });
});
