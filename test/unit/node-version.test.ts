import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/**
 * One story about the Node version: package.json's `engines` is the oldest Node supported, .nvmrc the
 * recommended one, which is the Lambda runtime and esbuild's target; the README says both, and CI checks
 * the oldest.
 */
const root = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');

describe('the Node version', () => {
  const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
  const oldest = Number(/^>=(\d+)$/.exec(engines)?.[1]);
  const recommended = Number(read('.nvmrc').trim());
  const serverless = parse(read('serverless.yml'), { logLevel: 'silent' }) as {
    provider: { runtime: string };
    custom: { esbuild: { target: string } };
  };

  it('recommends the Lambda runtime and supports an older line', () => {
    expect(oldest).toBeGreaterThanOrEqual(20);
    expect(serverless.provider.runtime).toBe(`nodejs${recommended}.x`);
    expect(serverless.custom.esbuild.target).toBe(`node${recommended}`);
    expect(recommended).toBeGreaterThan(oldest);
  });

  it('is what the README says and what CI checks', () => {
    const readme = read('README.md');
    expect(readme).toContain(`**Node ${recommended}** (\`.nvmrc\``);
    expect(readme).toContain(`\`.nvmrc\` says ${recommended}`);
    expect(readme).toContain(`\`engines\` says \`${engines}\``);
    expect(read('.ci/run')).toContain(`if (Number(major) < ${oldest})`);
  });
});
