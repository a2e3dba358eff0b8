import fc from 'fast-check';
import { searchRequestSchema } from '../../src/contracts/search-request';
import {
  type CompiledFilter,
  compileFilter,
  type FilterableChunk,
  matchesFilter,
} from '../../src/domain/search-filter';
import { parseTimestamp } from '../../src/domain/timestamp';
import { ValidationError } from '../../src/errors';
import { parseWith } from '../../src/http/request';

/** The 400 a search body with this filter gets. */
function problem(filter: unknown): ValidationError {
  try {
    parseWith(searchRequestSchema, { embedding: [1], filter });
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

/** Whether the chunk passes; a filter that filters nothing compiles to null (every chunk passes). */
function holds(chunk: FilterableChunk, filter: unknown): boolean {
  const compiled: CompiledFilter | null = compileFilter(filter as never);
  return compiled === null || matchesFilter(chunk, compiled);
}

const UUID = '550e8400-e29b-41d4-a716-446655440000';

describe('datetime ranges, as Qdrant reads them', () => {
  const chunk: FilterableChunk = {
    filename: 'a.md',
    created_at: '2024-06-03T10:00:00.000Z',
    metadata: { seen: '2024-06-03 10:00', odd: '06.03.2024' },
  };

  it.each([
    ['06.03.2024'],
    ['June 3, 2024'],
    ['2024-06-03T10:00+02:00'],
    ['2024-02-30'],
    ['2024-06-03T24:00:00Z'],
    ['1717408800000'],
  ])('answers a 400 naming the bound for %j', (bound) => {
    const error = problem({ must: [{ key: 'created_at', range: { gte: bound } }] });
    expect(error.field).toBe('filter.must[0].range.gte');
    expect(error.message).toContain('RFC 3339');
  });

  it('reads RFC 3339 with any offset, and the zone-less forms as UTC', () => {
    expect(holds(chunk, { must: { key: 'created_at', range: { gte: '2024-06-03T12:00:00+02:00' } } })).toBe(
      true,
    );
    expect(holds(chunk, { must: { key: 'created_at', range: { gt: '2024-06-03T10:00:00' } } })).toBe(false);
    expect(holds(chunk, { must: { key: 'created_at', range: { gte: '2024-06-03T10:00:00' } } })).toBe(true);
    expect(holds(chunk, { must: { key: 'created_at', range: { lt: '2024-06-04' } } })).toBe(true);
    expect(holds(chunk, { must: { key: 'created_at', range: { lt: '2024-06-03 10:00' } } })).toBe(false);
  });

  it('compares a metadata timestamp only when Qdrant would read it as one', () => {
    expect(holds(chunk, { must: { key: 'metadata.seen', range: { gte: '2024-06-03T10:00:00Z' } } })).toBe(
      true,
    );
    // "06.03.2024" is no timestamp to Qdrant; the JavaScript parser reads it as June 3.
    expect(holds(chunk, { must: { key: 'metadata.odd', range: { gte: '2024-01-01T00:00:00Z' } } })).toBe(
      false,
    );
  });

  it('reads every instant in every offset and zone-less form (property)', () => {
    const instant = fc.integer({
      min: Date.parse('0002-01-01T00:00:00Z'),
      max: Date.parse('9998-12-31T00:00:00Z'),
    });
    const offset = fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 });
    fc.assert(
      fc.property(instant, offset, fc.constantFrom('T', 't', ' '), (time, minutes, separator) => {
        const iso = new Date(time).toISOString(); // 2024-06-03T10:00:00.123Z
        expect(parseTimestamp(iso)).toBe(time);
        expect(parseTimestamp(iso.replace('T', separator).slice(0, -1))).toBe(time);
        const local = new Date(time + minutes * 60_000).toISOString().slice(0, -1);
        const abs = Math.abs(minutes);
        const zone = `${minutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
        expect(parseTimestamp(`${local}${zone}`)).toBe(time);
        expect(parseTimestamp(`${local}${zone.replace(':', '')}`)).toBe(time);
      }),
    );
  });
});

describe('metadata paths with [] and [n]', () => {
  const chunk: FilterableChunk = {
    filename: 'a.md',
    metadata: {
      sections: [{ title: 'Intro', level: 1 }, { title: 'Setup', level: 2 }, { level: 3 }],
      'a.b': { c: 'dotted' },
      matrix: [[1, 2], [3]],
    },
  };

  it.each([
    [{ key: 'metadata.sections[].title', match: { value: 'Setup' } }, true],
    [{ key: 'metadata.sections[].title', match: { value: 'Usage' } }, false],
    [{ key: 'metadata.sections[].level', range: { gte: 3 } }, true],
    [{ key: 'metadata.sections[0].title', match: { value: 'Setup' } }, false],
    [{ key: 'metadata.sections[1].title', match: { value: 'Setup' } }, true],
    [{ key: 'metadata.sections[9].title', match: { except: ['x'] } }, false],
    // A key step does not reach into a list (Qdrant's rule): [] is needed.
    [{ key: 'metadata.sections.title', match: { value: 'Intro' } }, false],
    [{ key: 'metadata."a.b".c', match: { value: 'dotted' } }, true],
    [{ key: 'metadata.matrix[]', match: { value: 3 } }, true],
    [{ key: 'metadata.matrix[1]', match: { value: 2 } }, false],
  ])('%j holds: %s', (condition, expected) => {
    expect(holds(chunk, { must: [condition] })).toBe(expected);
  });

  it('reads is_empty and is_null over every value a path reaches', () => {
    expect(holds(chunk, { must: { is_empty: { key: 'metadata.sections[].missing' } } })).toBe(true);
    expect(holds(chunk, { must: { is_empty: { key: 'metadata.sections[].title' } } })).toBe(false);
    const withNull = { ...chunk, metadata: { items: [{ v: 1 }, { v: null }] } };
    expect(holds(withNull, { must: { is_null: { key: 'metadata.items[].v' } } })).toBe(true);
  });

  it.each([
    ['metadata.a[x]'],
    ['metadata.a.'],
    ['metadata.[]'],
    ['metadata.a"b'],
    ['metadata.""'],
    [2n ** 64n],
  ])('answers a 400 naming the key for %s', (key) => {
    const error = problem({ must: [{ key, match: { value: 1 } }] });
    expect(error.field).toBe('filter.must[0].key');
    expect(error.message).toContain('not a filterable key');
  });
});

describe('should, as Qdrant evaluates it', () => {
  const chunk: FilterableChunk = { chunk_id: 'c1', filename: 'a.md', metadata: {} };

  it('passes nothing with should: [], and everything with no should', () => {
    expect(holds(chunk, { should: [] })).toBe(false);
    expect(holds(chunk, { must: [{ should: [] }] })).toBe(false);
    expect(holds(chunk, { must_not: [{ should: [] }] })).toBe(true);
    expect(holds(chunk, { should: null })).toBe(true);
    expect(holds(chunk, { must: [] })).toBe(true);
  });

  /** Qdrant's check_filter: each clause that is given must pass; an absent clause passes. */
  type Model = { must?: Model[]; should?: Model[]; must_not?: Model[] } | boolean;
  const modelHolds = (node: Model): boolean =>
    typeof node === 'boolean'
      ? node
      : (node.must?.every(modelHolds) ?? true) &&
        (node.should === undefined || node.should.some(modelHolds)) &&
        (node.must_not?.every((n) => !modelHolds(n)) ?? true);
  /** A model leaf becomes a condition that holds for the chunk (true) or not (false). */
  const toFilter = (node: Model): unknown =>
    typeof node === 'boolean'
      ? { has_id: [node ? 'c1' : 'other'] }
      : Object.fromEntries(Object.entries(node).map(([clause, list]) => [clause, list.map(toFilter)]));

  it('agrees with Qdrant’s boolean rules on random trees with empty clauses (property)', () => {
    const tree = fc.letrec<{ node: Model }>((self) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.boolean(),
        fc.record(
          {
            must: fc.array(self('node'), { maxLength: 3 }),
            should: fc.array(self('node'), { maxLength: 3 }),
            must_not: fc.array(self('node'), { maxLength: 3 }),
          },
          { requiredKeys: [] },
        ),
      ),
    })).node;
    fc.assert(
      fc.property(tree, (node) => {
        const root = typeof node === 'boolean' ? { must: [node] } : node;
        expect(holds(chunk, toFilter(root))).toBe(modelHolds(root));
      }),
    );
  });
});

describe('has_id, as Qdrant reads point ids', () => {
  const chunk = (chunk_id: string): FilterableChunk => ({ chunk_id, filename: 'a.md', metadata: {} });

  it.each([[UUID.toUpperCase()], [UUID.replaceAll('-', '')], [`urn:uuid:${UUID}`], [`{${UUID}}`], [UUID]])(
    'matches a UUID written as %s',
    (id) => {
      expect(holds(chunk(UUID), { must: { has_id: [id] } })).toBe(true);
      expect(holds(chunk(UUID.toUpperCase()), { must: { has_id: [id] } })).toBe(true);
      expect(holds(chunk('550e8400-e29b-41d4-a716-446655440001'), { must: { has_id: [id] } })).toBe(false);
    },
  );

  it('takes integer ids exactly, past 2^53 too', () => {
    const big = 2n ** 53n + 1n;
    expect(holds(chunk(big.toString()), { must: { has_id: [big] } })).toBe(true);
    expect(holds(chunk((2n ** 53n).toString()), { must: { has_id: [big] } })).toBe(false);
    expect(holds(chunk('42'), { must: { has_id: [42] } })).toBe(true);
    expect(holds(chunk('doc.md#0'), { must: { has_id: ['doc.md#0'] } })).toBe(true);
  });

  it.each([
    [2 ** 53 + 2, /send it as a string/],
    [-1, /unsigned integer/],
    [1.5, /unsigned integer/],
    [true, /unsigned integer/],
  ])('answers a 400 for the id %j', (id, message) => {
    const error = problem({ must: [{ has_id: ['a', id] }] });
    expect(error.field).toBe('filter.must[0].has_id[1]');
    expect(error.message).toMatch(message);
  });
});

describe('match and range in one condition', () => {
  it('answers a 400 that says how to write either meaning', () => {
    const error = problem({ must: [{ key: 'metadata.n', match: { value: 1 }, range: { gt: 5 } }] });
    expect(error.field).toBe('filter.must[0].range');
    expect(error.message).toMatch(/match or range, not both.*must.*should/);
  });
});
