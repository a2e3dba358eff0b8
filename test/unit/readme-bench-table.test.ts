import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readmeBenchTable, TABLE_END, TABLE_START } from '../../tools/bench/readme-table';

/** The README's benchmark table is the committed bench run's, not figures typed by hand. */
const root = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

describe("the README's benchmark table", () => {
  it('is the one generated from tools/bench/results.md (run `npm run readme:bench` after publishing)', () => {
    const readme = read('README.md');
    const block = readme.slice(readme.indexOf(TABLE_START) + TABLE_START.length, readme.indexOf(TABLE_END));
    expect(block.trim()).toBe(readmeBenchTable(read('tools/bench/results.md')));
  });

  it('takes each median from its method and size in the results table', () => {
    const results = [
      '- date: 2026-01-02T03:04:05.000Z (`npm run bench -- --quick`, 12 s)',
      '## Search latency (top-10)',
      '| method | N | runs | median ms | p95 ms |',
      '| --- | ---: | ---: | ---: | ---: |',
      '| (d) snapshot, warm | 1k | 200 | 0.5 | 0.9 |',
      '| (e) usearch exactSearch | 1k | 200 | 0.25 | 0.3 |',
      '| (d) snapshot, warm | 10k | 200 | 2.5 | 3 |',
      '## Next table',
      '| (e) usearch exactSearch | 10k | 200 | 99 | 99 |',
    ].join('\n');
    const table = readmeBenchTable(results);
    expect(table).toContain('`npm run bench -- --quick` on 2026-01-02');
    expect(table).toContain('| method | 1k | 10k |');
    expect(table).toContain('| (d) snapshot, warm | 0.5 | 2.5 |');
    expect(table).toContain('| (e) usearch exactSearch | 0.25 | – |');
  });
});
