import {
  type CompiledFilter,
  compileFilter,
  filterMask,
  indexRowsByFilename,
  matchesFilter,
} from '../../src/domain/search-filter';

const rows = [
  { filename: 'a.pdf', metadata: { lang: 'en', page: 1 } },
  { filename: 'b.pdf', metadata: { lang: 'de', page: 1 } },
  { filename: 'a.pdf', metadata: { lang: 'de', page: 2 } },
  { filename: 'c.pdf', metadata: {} },
];

describe('search filter', () => {
  it('filters nothing when absent or empty', () => {
    expect(compileFilter(undefined)).toBeNull();
    expect(compileFilter({})).toBeNull();
    expect(compileFilter({ metadata: {} })).toBeNull();
  });

  it('matches one filename', () => {
    const filter = compileFilter({ filename: 'a.pdf' });
    expect(rows.map((row) => matchesFilter(row, filter as CompiledFilter))).toEqual([
      true,
      false,
      true,
      false,
    ]);
  });

  it('matches any of several filenames', () => {
    const filter = compileFilter({ filename: ['b.pdf', 'c.pdf'] });
    expect(rows.map((row) => matchesFilter(row, filter as CompiledFilter))).toEqual([
      false,
      true,
      false,
      true,
    ]);
  });

  it('requires every metadata key to be present and strictly equal', () => {
    const filter = compileFilter({ metadata: { lang: 'de', page: 1 } });
    expect(rows.map((row) => matchesFilter(row, filter as CompiledFilter))).toEqual([
      false,
      true,
      false,
      false,
    ]);
    const stringPage = compileFilter({ metadata: { page: '1' } });
    expect(rows.some((row) => matchesFilter(row, stringPage as CompiledFilter))).toBe(false);
  });

  it('does not treat an inherited property as metadata', () => {
    const filter = compileFilter({ metadata: { toString: null } });
    expect(matchesFilter({ filename: 'x', metadata: {} }, filter as CompiledFilter)).toBe(false);
  });

  it('builds the same mask with and without the filename index', () => {
    const filter = compileFilter({
      filename: ['a.pdf', 'missing.pdf'],
      metadata: { lang: 'de' },
    }) as CompiledFilter;
    const scanned = filterMask(rows, filter);
    const indexed = filterMask(rows, filter, indexRowsByFilename(rows));
    expect(Array.from(scanned)).toEqual([0, 0, 1, 0]);
    expect(Array.from(indexed)).toEqual(Array.from(scanned));
  });
});
