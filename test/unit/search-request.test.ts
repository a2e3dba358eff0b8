import { z } from 'zod';
import { searchRequestSchema } from '../../src/contracts/search-request';
import { compileFilter } from '../../src/domain/search-filter';
import { ValidationError } from '../../src/errors';
import { parseJsonBody, parseWith } from '../../src/http/request';

function fieldOf(body: unknown): string {
  try {
    parseWith(searchRequestSchema, body);
  } catch (error) {
    if (error instanceof ValidationError) return error.field;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('search request', () => {
  it('defaults limit to 5 and leaves threshold and filter unset', () => {
    expect(parseWith(searchRequestSchema, { embedding: [0.1, 0.2] })).toEqual({
      embedding: [0.1, 0.2],
      limit: 5,
    });
  });

  it('accepts a filename list and metadata equality, compiled once', () => {
    const filter = { filename: ['a.pdf', 'b.pdf'], metadata: { lang: 'en', page: 3, draft: false } };
    const request = parseWith(searchRequestSchema, {
      embedding: [1],
      limit: 100,
      score_threshold: 0.3,
      filter,
    });
    expect(request.filter).toEqual(compileFilter(filter));
    expect(request.filter?.filenames).toEqual(new Set(['a.pdf', 'b.pdf']));
    expect(request.filter?.fields).toEqual(new Set(['filename', 'metadata']));
  });

  it('compiles a filter that filters nothing to null', () => {
    expect(parseWith(searchRequestSchema, { embedding: [1], filter: {} }).filter).toBeNull();
  });

  it('knows the fields a filter reads, nested clauses and ids included', () => {
    const request = parseWith(searchRequestSchema, {
      embedding: [1],
      filter: {
        should: [{ must: [{ key: 'created_at', range: { gte: '2024-01-01T00:00:00Z' } }] }],
        must_not: [{ has_id: ['a'] }],
      },
    });
    expect(request.filter?.fields).toEqual(new Set(['created_at', 'chunk_id']));
    const metadataKey = parseWith(searchRequestSchema, {
      embedding: [1],
      filter: { must: [{ key: 'metadata.created_at', match: { value: 'x' } }] },
    });
    expect(metadataKey.filter?.fields).toEqual(new Set(['metadata']));
  });

  it.each([
    [{}, 'embedding'],
    [{ embedding: [] }, 'embedding'],
    [{ embedding: ['x'] }, 'embedding[0]'],
    [{ embedding: [1, null] }, 'embedding[1]'],
    [{ embedding: [1], limit: 0 }, 'limit'],
    [{ embedding: [1], limit: 101 }, 'limit'],
    [{ embedding: [1], limit: 2.5 }, 'limit'],
    [{ embedding: [1], score_threshold: 'high' }, 'score_threshold'],
    [{ embedding: [1], score_threshold: 2 }, 'score_threshold'],
    [{ embedding: [1], filter: { filename: 7 } }, 'filter.filename'],
    [{ embedding: [1], filter: { filename: [] } }, 'filter.filename'],
    [{ embedding: [1], filter: { metadata: { lang: { nested: true } } } }, 'filter.metadata.lang'],
    [{ embedding: [1], filter: { owner: 'x' } }, 'filter.owner'],
    [{ embedding: [1], top_k: 3 }, 'top_k'],
    [[1, 2], 'body'],
  ])('rejects %j naming field %s', (body, field) => {
    expect(fieldOf(body)).toBe(field);
  });

  it('rejects a body that is not JSON, naming the body', () => {
    expect(() => parseJsonBody({ body: '{"embedding": [1,' }, searchRequestSchema)).toThrow(
      expect.objectContaining({ field: 'body' }),
    );
  });

  it('reads a base64-encoded body', () => {
    const body = Buffer.from(JSON.stringify({ embedding: [1, 2], limit: 2 })).toString('base64');
    expect(parseJsonBody({ body, isBase64Encoded: true }, searchRequestSchema).limit).toBe(2);
  });

  it('keeps integers past 2^53 exact under has_id only, and reads the rest as JSON.parse does', () => {
    const text =
      '{"embedding":[100000000000000000001,1],"limit":3,"__proto__":{"x":9007199254740993},' +
      '"filter":{"must":[{"has_id":[9007199254740993,7]},{"key":"metadata.n","match":{"value":9007199254740993}}]}}';
    const parsed = parseJsonBody({ body: text }, z.unknown(), { exactIntegersUnder: ['has_id'] }) as {
      embedding: unknown[];
      filter: { must: [{ has_id: unknown[] }, { match: { value: unknown } }] };
    };
    const plain = JSON.parse(text);
    plain.filter.must[0].has_id = parsed.filter.must[0].has_id;
    expect(parsed).toEqual(plain);
    expect(parsed.filter.must[0].has_id).toEqual([9007199254740993n, 7]);
    expect(parsed.filter.must[1].match.value).toBe(2 ** 53);
    expect(parsed.embedding[0]).toBe(1e20);
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.hasOwn(parsed, '__proto__')).toBe(true);
    expect(() => parseJsonBody({ body: '{"a":' }, z.unknown(), { exactIntegersUnder: ['has_id'] })).toThrow(
      expect.objectContaining({ field: 'body' }),
    );
  });
});
