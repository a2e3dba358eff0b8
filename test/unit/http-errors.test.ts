import { searchRequestSchema } from '../../src/contracts/search-request';
import {
  ConflictError,
  DocumentBusyError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  UnauthorizedError,
  ValidationError,
  WriteIncompleteError,
} from '../../src/errors';
import { errorToResponse } from '../../src/http/error-response';
import { botIdParameter, filenameParameter, MAX_BODY_BYTES, parseJsonBody } from '../../src/http/request';

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

  it('answers a document held by another write with 409 and Retry-After, so the client can send it again', () => {
    const response = errorToResponse(new DocumentBusyError('document a.md is busy', 2), () => undefined);
    expect(response.statusCode).toBe(409);
    expect(response.headers?.['retry-after']).toBe('2');
    expect(body(response)).toEqual({ error: { code: 'conflict', message: 'document a.md is busy' } });
  });

  it('answers writes DynamoDB kept refusing with 503 naming what to do, never a generic 500', () => {
    const error = new WriteIncompleteError('document a.md is only partly replaced until sent again', ['b/c']);
    const response = errorToResponse(error, () => {
      throw new Error('not unexpected');
    });
    expect(response.statusCode).toBe(503);
    expect(body(response)).toEqual({ error: { code: 'write_incomplete', message: error.message } });
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

  it('requires a body that is not null (serverless-offline passes null for none), naming it', () => {
    expect(() => parseJsonBody({ body: null }, searchRequestSchema)).toThrow(
      expect.objectContaining({ name: 'ValidationError', field: 'body' }),
    );
    expect(() => parseJsonBody({ body: 'null' }, searchRequestSchema)).toThrow(
      expect.objectContaining({ name: 'ValidationError', field: 'body' }),
    );
  });

  it.each(['%7Btag%7D', '100%25%20done', '%E2%82%AC', 'a%2Fb'])(
    'takes the path parameter %s exactly as API Gateway decoded it (never decodes twice)',
    (id) => {
      expect(botIdParameter({ pathParameters: { botId: id } })).toBe(id);
    },
  );

  it.each<[Record<string, string>, string]>([
    [{}, 'missing'],
    [{ botId: '' }, 'empty'],
    [{ botId: '  ' }, 'blank'],
    [{ botId: '.' }, 'a dot segment'],
    [{ botId: '..' }, 'a dot segment'],
    [{ botId: 'é'.repeat(1025) }, '1,025 characters but 2,050 bytes'],
    [{ botId: '\ud800x' }, 'a lone surrogate'],
  ])('rejects a bot id that is %j (%s), naming it', (pathParameters) => {
    expect(() => botIdParameter({ pathParameters })).toThrow(
      expect.objectContaining({ name: 'ValidationError', field: 'botId' }),
    );
  });

  it('accepts a bot id of exactly 2,048 bytes', () => {
    const id = 'é'.repeat(1024);
    expect(botIdParameter({ pathParameters: { botId: id } })).toBe(id);
  });

  it.each<[Record<string, string>, string, string]>([
    [{}, '', 'missing'],
    [{ filename: 'a' }, 'filename=a&filename=b', 'repeated'],
    [{ filename: '€'.repeat(342) }, '', 'over 1,024 bytes'],
  ])('rejects a filename query parameter that is %j (%s, %s), naming it', (query, raw) => {
    expect(() => filenameParameter({ queryStringParameters: query, rawQueryString: raw })).toThrow(
      expect.objectContaining({ name: 'ValidationError', field: 'filename' }),
    );
  });

  it.each(['..', '.', 'a/../b', '%2E%2E', '100% done.pdf', 'ü ñ 📄'])(
    'takes the filename %s from the query as it is',
    (filename) => {
      expect(filenameParameter({ queryStringParameters: { filename }, rawQueryString: '' })).toBe(filename);
    },
  );
});
