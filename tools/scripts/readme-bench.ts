/**
 * `npm run readme:bench`: writes the README's benchmark table from the committed tools/bench/results.md
 * (run it after `npm run bench -- --publish`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readmeBenchTable, withReadmeTable } from '../bench/readme-table';
import { answeredHelp } from './help-flag';

const USAGE = 'usage: npm run readme:bench (no flags; --help prints this)';

function main(): void {
  if (answeredHelp(USAGE)) return;
  const root = join(__dirname, '..', '..');
  const readmePath = join(root, 'README.md');
  const results = readFileSync(join(root, 'tools', 'bench', 'results.md'), 'utf8');
  writeFileSync(readmePath, withReadmeTable(readFileSync(readmePath, 'utf8'), readmeBenchTable(results)));
  process.stderr.write('README.md: benchmark table written from tools/bench/results.md\n');
}

try {
  main();
} catch (error) {
  process.stderr.write(`readme:bench failed: ${(error as Error).message}\n${USAGE}\n`);
  process.exitCode = 2;
}
