import { ROUTES } from '../../console/src/api';
import { buildFilter, type ConditionRow } from '../../console/src/filter-builder';
import { matchedTerms } from '../../console/src/terms';
import { parseFilter } from '../../src/domain/search-filter-syntax';
import { loadOpenApi } from '../fixtures/openapi';

const doc = loadOpenApi() as unknown as {
  paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
};

describe('the console API client', () => {
  it.each(Object.entries(ROUTES))('calls %s as openapi.yaml declares it', (_name, route) => {
    const operation = doc.paths[route.path]?.[route.method.toLowerCase()];
    expect(operation).toBeDefined();
    const declared = (operation?.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
    expect([...route.query].sort()).toEqual(declared.sort());
  });
});

describe('the filter builder', () => {
  const row = (change: Partial<ConditionRow>): ConditionRow => ({
    clause: 'must',
    key: 'metadata.lang',
    operator: 'equals',
    value: 'en',
    ...change,
  });

  it('groups conditions by clause, typing numbers and booleans', () => {
    expect(
      buildFilter([
        row({}),
        row({ clause: 'must_not', key: 'chunk_index', operator: 'gte', value: '3' }),
        row({ clause: 'should', key: 'metadata.tags', operator: 'any', value: 'a, 2,true' }),
        row({ clause: 'should', key: 'metadata.note', operator: 'is_null' }),
        row({ key: 'created_at', operator: 'lt', value: '2026-01-01T00:00:00Z' }),
      ]),
    ).toEqual({
      must: [
        { key: 'metadata.lang', match: { value: 'en' } },
        { key: 'created_at', range: { lt: '2026-01-01T00:00:00Z' } },
      ],
      must_not: [{ key: 'chunk_index', range: { gte: 3 } }],
      should: [
        { key: 'metadata.tags', match: { any: ['a', 2, true] } },
        { is_null: { key: 'metadata.note' } },
      ],
    });
  });

  it('leaves out rows without a key, and builds no filter from none', () => {
    expect(buildFilter([row({ key: ' ' })])).toBeUndefined();
    expect(buildFilter([])).toBeUndefined();
  });

  it('builds only filters the search route accepts', () => {
    const operators = ['equals', 'any', 'except', 'gte', 'gt', 'lte', 'lt', 'is_empty', 'is_null'] as const;
    const clauses = ['must', 'should', 'must_not'] as const;
    const rows = operators.flatMap((operator) =>
      clauses.map((clause) => row({ clause, operator, key: 'metadata.n', value: '1' })),
    );
    expect(() => parseFilter(buildFilter(rows))).not.toThrow();
  });
});

describe('matched terms', () => {
  it("names the query's words whose terms the text holds, as keyword search tokenises both", () => {
    expect(
      matchedTerms('How do Streams count records? streams', 'The stream handler counts every record.'),
    ).toEqual(['Streams', 'count', 'records']);
    expect(matchedTerms('sourdough', 'The stream handler.')).toEqual([]);
  });
});
