import {
  searchBatchRequestSchema,
  searchQueryOf,
  searchRequestSchema,
} from '../../src/contracts/search-request';
import {
  type CompiledFilter,
  compileFilter,
  type FilterableChunk,
  matchesFilter,
} from '../../src/domain/search-filter';
import {
  MAX_FILTER_CONDITIONS,
  MAX_FILTER_DEPTH,
  MAX_MATCH_VALUES,
} from '../../src/domain/search-filter-syntax';
import { ValidationError } from '../../src/errors';
import { parseWith } from '../../src/http/request';

function problem(
  body: unknown,
  schema: Parameters<typeof parseWith>[0] = searchRequestSchema,
): ValidationError {
  try {
    parseWith(schema, body);
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

const withFilter = (filter: unknown) => ({ embedding: [1], filter });

const nested = (depth: number): unknown => (depth === 1 ? { must: [] } : { must: [nested(depth - 1)] });

describe('search filter syntax', () => {
  it.each([
    [{ must: [{ key: 'x', match: { value: 1 } }] }, 'filter.must[0].key', /not a filterable key/],
    [
      {
        must: [
          { has_id: ['a'] },
          { is_null: { key: 'metadata.a' } },
          { key: 'chunk_index', range: { gtx: 3 } },
        ],
      },
      'filter.must[2].range.gtx',
      /not a known operator/,
    ],
    [
      { should: { key: 'filename', match: { text: 'a' } } },
      'filter.should.match.text',
      /full-text match is not supported/,
    ],
    [
      { must_not: [{ key: 'filename', match: { value: 'a', any: ['b'] } }] },
      'filter.must_not[0].match',
      /exactly one/,
    ],
    [{ must: [{ key: 'created_at', range: { gte: 'yesterday' } }] }, 'filter.must[0].range.gte', /RFC 3339/],
    [{ must: [{ key: 'metadata.n', range: { gte: 1, lt: '2025-01-01' } }] }, 'filter.must[0].range', /mixes/],
    [{ must: [{ key: 'metadata.n', range: {} }] }, 'filter.must[0].range', /at least one/],
    [{ must: [{ is_empty: { key: 'metadata.a' }, key: 'x' }] }, 'filter.must[0].key', /not a known operator/],
    [{ must: [{ geo_radius: {} }] }, 'filter.must[0]', /is not a condition/],
    [{ filter: {} }, 'filter.filter', /not a known filter clause/],
    [{ must: [{ must: [], filename: 'a' }] }, 'filter.must[0].filename', /not a known filter clause/],
    [
      { must: [{ key: 'metadata.tags', match: { any: [{}] } }] },
      'filter.must[0].match.any[0]',
      /string, number or boolean/,
    ],
  ])('rejects %j naming %s', (filter, field, message) => {
    const error = problem(withFilter(filter));
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
    expect(error.message.startsWith(`${field}: `)).toBe(true);
  });

  it('states its limits: depth, number of conditions, values per list', () => {
    expect(() => parseWith(searchRequestSchema, withFilter(nested(MAX_FILTER_DEPTH)))).not.toThrow();
    expect(problem(withFilter(nested(MAX_FILTER_DEPTH + 1))).message).toContain(
      `filters nest at most ${MAX_FILTER_DEPTH} levels deep`,
    );
    const many = Array.from({ length: MAX_FILTER_CONDITIONS + 1 }, () => ({
      key: 'filename',
      match: { value: 'a' },
    }));
    expect(problem(withFilter({ must: many })).message).toContain(
      `at most ${MAX_FILTER_CONDITIONS} conditions`,
    );
    expect(problem(withFilter({ must: many })).field).toBe(`filter.must[${MAX_FILTER_CONDITIONS}]`);
    const values = Array.from({ length: MAX_MATCH_VALUES + 1 }, (_, i) => `v${i}`);
    expect(problem(withFilter({ must: { key: 'filename', match: { any: values } } })).message).toContain(
      `at most ${MAX_MATCH_VALUES} values`,
    );
  });

  it('names the query of a batch that fails, and caps a batch at 32 searches', () => {
    const bad = {
      searches: [{ embedding: [1] }, withFilter({ must: [{ key: 'filename', range: { gtx: 1 } }] })],
    };
    expect(problem(bad, searchBatchRequestSchema).field).toBe('searches[1].filter.must[0].range.gtx');
    const tooMany = { searches: Array.from({ length: 33 }, () => ({ embedding: [1] })) };
    expect(problem(tooMany, searchBatchRequestSchema).field).toBe('searches');
  });

  it('checks option combinations and applies defaults', () => {
    expect(problem({ embedding: [1], group_size: 2 }).field).toBe('group_size');
    expect(problem({ embedding: [1], group_by: 'filename', offset: 3 }).field).toBe('offset');
    expect(problem({ embedding: [1], group_by: 'filename', mmr: { diversity: 0.5 } }).field).toBe('mmr');
    expect(
      problem({ embedding: [1], limit: 10, offset: 5, mmr: { diversity: 0.5, candidates: 12 } }).field,
    ).toBe('mmr');
    expect(problem({ embedding: [1], mmr: { diversity: 1.5 } }).field).toBe('mmr.diversity');
    expect(problem({ embedding: [1], limit: 10, offset: 995, mmr: { diversity: 0.5 } }).message).toContain(
      'offset + limit may be at most 1000',
    );
    expect(problem({ embedding: [1], group_by: 'metadata.lang' }).field).toBe('group_by');
    expect(searchQueryOf(parseWith(searchRequestSchema, { embedding: [1], group_by: 'filename' }))).toEqual({
      limit: 5,
      offset: 0,
      withVectors: false,
      groupBy: { field: 'filename', groupSize: 3 },
    });
    expect(
      searchQueryOf(
        parseWith(searchRequestSchema, { embedding: [1], limit: 50, offset: 80, mmr: { diversity: 0.2 } }),
      ).mmr,
    ).toEqual({
      diversity: 0.2,
      candidates: 130,
    });
  });
});

describe('search filter semantics', () => {
  const chunk: FilterableChunk = {
    chunk_id: 'c1',
    filename: 'a.md',
    chunk_index: 4,
    created_at: '2025-06-01T12:00:00.000Z',
    metadata: { tags: ['x', 'y'], lang: 'en', note: null, empty: [], author: { name: 'ann' }, rank: 7 },
  };
  const holds = (filter: unknown) => matchesFilter(chunk, compileFilter(filter as never) as CompiledFilter);

  it.each([
    [{ must: { key: 'metadata.tags', match: { value: 'y' } } }, true],
    [{ must: { key: 'metadata.tags', match: { except: ['x'] } } }, true],
    [{ must: { key: 'metadata.tags', match: { except: ['x', 'y'] } } }, false],
    [{ must: { key: 'metadata.missing', match: { except: ['x'] } } }, false],
    [{ must: { key: 'metadata.lang', match: { any: ['de', 'en'] } } }, true],
    [{ must: { key: 'metadata.author.name', match: { value: 'ann' } } }, true],
    [{ must: { key: 'metadata.rank', match: { value: '7' } } }, false],
    [{ must: { key: 'metadata.rank', range: { gt: 6, lte: 7 } } }, true],
    [{ must: { key: 'chunk_index', range: { lt: 4 } } }, false],
    [{ must: { key: 'created_at', range: { gte: '2025-06-01T13:00:00+01:00' } } }, true],
    [{ must: { key: 'created_at', range: { gt: '2025-06-01T12:00:00Z' } } }, false],
    [
      {
        must: [
          { is_empty: { key: 'metadata.empty' } },
          { is_empty: { key: 'metadata.nope' } },
          { is_empty: { key: 'metadata.note' } },
        ],
      },
      true,
    ],
    [{ must: { is_empty: { key: 'metadata.tags' } } }, false],
    [{ must: { is_null: { key: 'metadata.note' } } }, true],
    [{ must: { is_null: { key: 'metadata.nope' } } }, false],
    [{ should: [{ key: 'filename', match: { value: 'b.md' } }, { has_id: ['c1'] }] }, true],
    [{ must_not: { must: [{ key: 'filename', match: { value: 'a.md' } }] } }, false],
    [
      {
        min_should: {
          conditions: [{ has_id: ['c1'] }, { key: 'metadata.lang', match: { value: 'de' } }],
          min_count: 2,
        },
      },
      false,
    ],
    [{ filename: ['a.md'], must: { key: 'metadata.lang', match: { value: 'en' } } }, true],
  ])('%j holds: %s', (filter, expected) => {
    expect(holds(filter)).toBe(expected);
  });

  it('narrows a top-level filename condition to those files', () => {
    expect(
      compileFilter({ filename: ['a', 'b'], must: [{ key: 'filename', match: { any: ['b', 'c'] } }] })
        ?.filenames,
    ).toEqual(new Set(['b']));
    expect(compileFilter({ should: [{ key: 'filename', match: { value: 'a' } }] })?.filenames).toBeNull();
  });
});
